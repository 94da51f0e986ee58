package ingest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

func TestReadsWithoutReaderAre503(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	requireError(t, h.raw(t, "sync.get.a", nil, nil), item.CodeUnavailable)
	requireError(t, h.raw(t, "sync.exists.a", nil, nil), item.CodeUnavailable)
	requireError(t, h.raw(t, "sync.get.a*b", nil, nil), item.CodeInvalidID)
	_, err := h.cl.Exists(tctx(t), "a")
	require.ErrorIs(t, err, item.ErrUnavailable)
}

func TestGetAndExists(t *testing.T) {
	t.Parallel()
	r := &memReader{items: map[string]ingest.Item{
		"a.b": {ID: "a.b", Version: 9, Payload: []byte(`{"x":1}`), ContentType: item.ContentTypeJSON, State: "hot", Source: "l2"},
		"bin": {ID: "bin", Version: 3, Payload: []byte{0, 1}, ContentType: item.ContentTypeBinary, Source: "l3"},
	}}
	h := start(t, opts{reader: r})

	got, err := h.cl.Get(tctx(t), "a.b")
	require.NoError(t, err)
	require.Equal(t, client.Item{ID: "a.b", Version: 9, Payload: []byte(`{"x":1}`), ContentType: item.ContentTypeJSON, State: "hot", Source: "l2"}, got)
	resp := h.raw(t, "sync.get.bin", nil, nil)
	require.Equal(t, "3", resp.Header.Get("Sync-Version"))
	require.Equal(t, "l3", resp.Header.Get("Sync-Source"))
	require.Empty(t, resp.Header.Values("Sync-State"))

	_, err = h.cl.Get(tctx(t), "missing")
	require.ErrorIs(t, err, item.ErrNotFound)
	requireError(t, h.raw(t, "sync.get.missing", nil, nil), item.CodeNotFound)

	ok, err := h.cl.Exists(tctx(t), "a.b")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = h.cl.Exists(tctx(t), "nope")
	require.NoError(t, err)
	require.False(t, ok)
	var body map[string]any
	require.NoError(t, json.Unmarshal(h.raw(t, "sync.exists.nope", nil, nil).Data, &body))
	require.Equal(t, map[string]any{"exists": false}, body)

	requireError(t, h.raw(t, "sync.get.a.b", nil, nats.Header{"Sync-After-Seq": {"0"}}), item.CodeInvalidHeader)
	requireError(t, h.raw(t, "sync.get.a.b", nil, nats.Header{"Sync-Consistency": {"eventual"}}), item.CodeInvalidHeader)
}

func TestGetAfterSeqWaitsForWriters(t *testing.T) {
	t.Parallel()
	r := &memReader{items: map[string]ingest.Item{"k": {ID: "k", Version: 1, Payload: []byte("v"), ContentType: item.ContentTypeBinary, Source: "l3"}}}
	h := start(t, opts{reader: r, ingest: ingest.Config{ReadWait: 300 * time.Millisecond, ReadPoll: 10 * time.Millisecond}})
	put, err := h.cl.Put(tctx(t), "k", []byte("v"))
	require.NoError(t, err)

	// Nobody has committed seq 1 yet: a bounded wait, then 503.
	start := time.Now()
	_, err = h.cl.Get(tctx(t), "k", client.WithAfterSeq(put.Seq))
	require.ErrorIs(t, err, item.ErrUnavailable)
	require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	_, err = h.cl.Get(tctx(t), "k", client.WithStrong())
	require.ErrorIs(t, err, item.ErrUnavailable)

	// A writer commits and acknowledges: the read goes through with minSeq.
	c, err := wal.NewConsumer(tctx(t), h.js, h.walCfg)
	require.NoError(t, err)
	msgs, err := c.Fetch(tctx(t), 10, 0, time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, msgs[0].DoubleAck(tctx(t)))

	_, err = h.cl.Get(tctx(t), "k", client.WithAfterSeq(put.Seq))
	require.NoError(t, err)
	_, err = h.cl.Get(tctx(t), "k", client.WithStrong())
	require.NoError(t, err)
	_, err = h.cl.Get(tctx(t), "k")
	require.NoError(t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, []uint64{1, 1, 0}, r.calls)
}
