package ingest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func TestMGet(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	bin := []byte{0, 1, 2, 0xff, '"', '\\'}
	_, err := p.Client.Put(tctx(t), "m.bin", bin, client.WithState("s"))
	require.NoError(t, err)
	last, err := p.Client.Put(tctx(t), "m.json", []byte(`{"a":1}`))
	require.NoError(t, err)

	ids := []string{"m.json", "m.missing", "m.bin", "m.json"}
	res, err := p.Client.MGet(tctx(t), ids, client.WithAfterSeq(last.Seq))
	require.NoError(t, err)
	require.Len(t, res, 4)
	require.True(t, res[0].Found)
	require.Equal(t, `{"a":1}`, string(res[0].Item.Payload))
	require.Equal(t, item.ContentTypeJSON, res[0].Item.ContentType)
	require.Equal(t, "l3", res[0].Item.Source, "the Reader's tier")
	require.False(t, res[1].Found)
	require.NoError(t, res[1].Err)
	require.Equal(t, bin, res[2].Item.Payload, "payloads are byte-exact")
	require.Equal(t, "s", res[2].Item.State)
	require.Equal(t, res[0], res[3])

	// The wire format: payloads base64 in JSON, items in request order.
	resp := h0(t, p).raw(t, "sync.mget", []byte(`{"ids":["m.bin","nope"]}`), nil)
	var body struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(t, json.Unmarshal(resp.Data, &body))
	require.Equal(t, "AAEC/yJc", body.Items[0]["payload"])
	require.Equal(t, map[string]any{"id": "nope", "found": false}, body.Items[1])

	empty, err := p.Client.MGet(tctx(t), nil)
	require.NoError(t, err)
	require.Empty(t, empty)
	h := h0(t, p)
	requireError(t, h.raw(t, "sync.mget", []byte(`{"ids":["a*"]}`), nil), item.CodeInvalidID)
	requireError(t, h.raw(t, "sync.mget", []byte(`{"ids":"a"}`), nil), item.CodeInvalidJSON)
	requireError(t, h.raw(t, "sync.mget", []byte(`{"ids":["a"]}`), nats.Header{"Sync-Consistency": {"weak"}}), item.CodeInvalidHeader)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("k.%d", i)
	}
	data, _ := json.Marshal(map[string][]string{"ids": many})
	requireError(t, h.raw(t, "sync.mget", data, nil), item.CodeInvalidJSON)
	res, err = p.Client.MGet(tctx(t), many)
	require.NoError(t, err, "the client splits long lists")
	require.Len(t, res, 1001)
}

// TestMGetReplyNeverExceedsMaxPayload: items that no longer fit in the
// reply are answered payload_too_large, and the client asks again.
func TestMGetReplyNeverExceedsMaxPayload(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{ServerOptions: waltest.Options{MaxPayload: 64 << 10}})
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("big.%d", i)
		ids = append(ids, id)
		_, err := p.Client.Put(tctx(t), id, bytes.Repeat([]byte{byte('a' + i)}, 20<<10))
		require.NoError(t, err)
	}
	data, _ := json.Marshal(map[string][]string{"ids": ids})
	resp := h0(t, p).raw(t, "sync.mget", data, nats.Header{"Sync-Consistency": {"strong"}})
	require.LessOrEqual(t, len(resp.Data), 64<<10)
	var body struct {
		Items []struct {
			Found bool `json:"found"`
			Error *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(resp.Data, &body))
	require.True(t, body.Items[0].Found)
	require.NotNil(t, body.Items[5].Error)
	require.Equal(t, "payload_too_large", body.Items[5].Error.Code)

	res, err := p.Client.MGet(tctx(t), ids)
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err)
		require.True(t, r.Found)
		require.Equal(t, bytes.Repeat([]byte{byte('a' + i)}, 20<<10), r.Item.Payload)
	}
}

func TestIsCurrent(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	r, err := p.Client.Put(tctx(t), "c.1", []byte("payload"), client.WithVersion(7))
	require.NoError(t, err)
	got, err := p.Client.IsCurrent(tctx(t), "c.1", sha256.Sum256([]byte("payload")), client.WithAfterSeq(r.Seq))
	require.NoError(t, err)
	require.Equal(t, client.Currentness{Current: true, Exists: true, Version: 7}, got)
	got, err = p.Client.IsCurrent(tctx(t), "c.1", sha256.Sum256([]byte("other")))
	require.NoError(t, err)
	require.Equal(t, client.Currentness{Exists: true, Version: 7}, got)
	got, err = p.Client.IsCurrent(tctx(t), "c.none", sha256.Sum256(nil))
	require.NoError(t, err)
	require.Equal(t, client.Currentness{}, got)

	h := h0(t, p)
	sum := sha256.Sum256([]byte("payload"))
	upper := []byte(fmt.Sprintf(`{"sha256":"%X"}`, sum[:]))
	require.JSONEq(t, `{"current":true,"exists":true,"version":7}`, string(h.raw(t, "sync.is_current.c.1", upper, nil).Data))
	requireError(t, h.raw(t, "sync.is_current.c.1", []byte(`{"sha256":"abc"}`), nil), item.CodeInvalidJSON)
	requireError(t, h.raw(t, "sync.is_current.c.1", nil, nil), item.CodeInvalidJSON)
	requireError(t, h.raw(t, "sync.is_current.c>1", []byte(`{}`), nil), item.CodeInvalidID)
}
