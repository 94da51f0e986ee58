package ingest_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func TestPutReplyAndWALContent(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	require.Equal(t, lifecycle.Running, h.stage.State())

	r, err := h.cl.Put(tctx(t), "tenant.orders.4711", []byte(`{"total":12}`), client.WithState("open"), client.WithCacheTTL(time.Minute))
	require.NoError(t, err)
	require.Equal(t, client.Result{ID: "tenant.orders.4711", Version: 1, Seq: 1}, r)

	m := h.walMsg(t, 1)
	require.Equal(t, h.walCfg.Names().WALSubjectFor("tenant.orders.4711"), m.Subject)
	require.Equal(t, "tenant.orders.4711", m.Header.Get(wal.HeaderID))
	require.Equal(t, "put", m.Header.Get(wal.HeaderOp))
	require.Equal(t, item.ContentTypeJSON, m.Header.Get(wal.HeaderContentType))
	require.Equal(t, "open", m.Header.Get(wal.HeaderState))
	require.Equal(t, "60", m.Header.Get(wal.HeaderCacheTTL))
	require.Empty(t, m.Header.Get(wal.HeaderVersion))
	require.Equal(t, `{"total":12}`, string(m.Data))

	r, err = h.cl.Put(tctx(t), "a", []byte{0, 1, 2}, client.WithVersion(1000))
	require.NoError(t, err)
	require.Equal(t, client.Result{ID: "a", Version: 1000, Seq: 2}, r)
	require.Equal(t, "1000", h.walMsg(t, 2).Header.Get(wal.HeaderVersion))
	require.Equal(t, item.ContentTypeBinary, h.walMsg(t, 2).Header.Get(wal.HeaderContentType))

	r, err = h.cl.Delete(tctx(t), "a", client.WithVersion(1001))
	require.NoError(t, err)
	require.Equal(t, client.Result{ID: "a", Version: 1001, Seq: 3}, r)
	del := h.walMsg(t, 3)
	require.Equal(t, "del", del.Header.Get(wal.HeaderOp))
	require.Empty(t, del.Data)

	// Every stored message passes the writers' decoder.
	for seq := uint64(1); seq <= 3; seq++ {
		m := h.walMsg(t, seq)
		_, err := wal.DecodeWrite(&nats.Msg{Header: m.Header, Data: m.Data}, 0)
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, counter(t, h, "put", "ok"))
	require.EqualValues(t, 1, counter(t, h, "del", "ok"))
}

func TestDeleteIgnoresPayload(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	resp := h.raw(t, "sync.del.x", []byte("ignored"), nil)
	require.Empty(t, resp.Header.Get("Nats-Service-Error-Code"))
	require.Empty(t, h.walMsg(t, 1).Data)
}

func TestDuplicateMsgIDReturnsOriginalSeq(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	first, err := h.cl.Put(tctx(t), "d", []byte("v1"), client.WithMsgID("req-1"))
	require.NoError(t, err)
	_, err = h.cl.Put(tctx(t), "other", []byte("x"))
	require.NoError(t, err)
	again, err := h.cl.Put(tctx(t), "d", []byte("v1"), client.WithMsgID("req-1"))
	require.NoError(t, err)
	require.Equal(t, first, again)
	st, err := h.js.Stream(tctx(t), "SYNC_WAL")
	require.NoError(t, err)
	info, err := st.Info(tctx(t))
	require.NoError(t, err)
	require.EqualValues(t, 2, info.State.Msgs)
}

type errCase struct {
	name    string
	subject string
	hdr     nats.Header
	data    string
	code    item.Code
}

func requireError(t *testing.T, resp *nats.Msg, code item.Code) {
	t.Helper()
	require.Equal(t, itoa(code.Status()), resp.Header.Get("Nats-Service-Error-Code"), "reply %q", resp.Data)
	require.True(t, strings.HasPrefix(resp.Header.Get("Nats-Service-Error"), string(code)+": "), resp.Header.Get("Nats-Service-Error"))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(resp.Data, &body))
	require.Equal(t, string(code), body.Error.Code)
	require.NotEmpty(t, body.Error.Message)
	if code == item.CodeUnavailable {
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	h := start(t, opts{ingest: ingestSmall})
	hv := func(kv ...string) nats.Header {
		x := nats.Header{}
		for i := 0; i < len(kv); i += 2 {
			x.Add(kv[i], kv[i+1])
		}
		return x
	}
	cases := []errCase{
		{"star inside id", "sync.put.a*b", nil, "x", item.CodeInvalidID},
		{"gt inside id", "sync.put.a.b>c", nil, "x", item.CodeInvalidID},
		{"backslash", `sync.put.a\b`, nil, "x", item.CodeInvalidID},
		{"non-ascii", "sync.put.caf\u00e9", nil, "x", item.CodeInvalidID},
		{"too long id", "sync.put." + strings.Repeat("i", item.MaxIDLen+1), nil, "x", item.CodeInvalidID},
		{"del bad id", "sync.del.a*", nil, "", item.CodeInvalidID},
		{"version zero", "sync.put.a", hv("Sync-Version", "0"), "x", item.CodeInvalidVersion},
		{"version negative", "sync.put.a", hv("Sync-Version", "-1"), "x", item.CodeInvalidVersion},
		{"version 2^63", "sync.put.a", hv("Sync-Version", "9223372036854775808"), "x", item.CodeInvalidVersion},
		{"version leading zero", "sync.put.a", hv("Sync-Version", "01"), "x", item.CodeInvalidVersion},
		{"version text", "sync.del.a", hv("Sync-Version", "ten"), "", item.CodeInvalidVersion},
		{"versions disagree", "sync.put.a", hv("Sync-Version", "1", "sync-version", "2"), "x", item.CodeInvalidVersion},
		{"bad state", "sync.put.a", hv("Sync-State", "no spaces"), "x", item.CodeInvalidHeader},
		{"bad ttl", "sync.put.a", hv("Sync-Cache-TTL", "0"), "x", item.CodeInvalidHeader},
		{"bad ttl on delete", "sync.del.a", hv("Sync-Cache-TTL", "1m"), "", item.CodeInvalidHeader},
		{"bad content type", "sync.put.a", hv("Content-Type", "text/plain"), "x", item.CodeInvalidHeader},
		{"invalid json", "sync.put.a", hv("Content-Type", "application/json"), `{"a":`, item.CodeInvalidJSON},
		{"over our limit", "sync.put.a", nil, strings.Repeat("x", ingestSmall.MaxPayload+1), item.CodePayloadTooLarge},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				requireError(t, h.raw(t, tc.subject, []byte(tc.data), tc.hdr), tc.code)
			})
		}
	})
	// Nothing was written.
	st, err := h.js.Stream(tctx(t), "SYNC_WAL")
	require.NoError(t, err)
	info, err := st.Info(tctx(t))
	require.NoError(t, err)
	require.Zero(t, info.State.Msgs)
	require.EqualValues(t, 6, counter(t, h, "put", "invalid_id")+counter(t, h, "del", "invalid_id"))
}

func TestClientRejectsBadIDsBeforeSending(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	for _, id := range []string{"", "a..b", ".a", "a.", "a b", "a.*", "a.>"} {
		_, err := h.cl.Put(tctx(t), id, []byte("x"))
		require.ErrorIs(t, err, item.ErrInvalidID, id)
		_, err = h.cl.Get(tctx(t), id)
		require.ErrorIs(t, err, item.ErrInvalidID, id)
	}
	_, err := h.cl.Put(tctx(t), "a", []byte("x"), client.WithVersion(0))
	require.ErrorIs(t, err, item.ErrInvalidVersion)
	_, err = h.cl.Put(tctx(t), "a", []byte("x"), client.WithState("a b"))
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	_, err = h.cl.Put(tctx(t), "a", []byte("x"), client.WithCacheTTL(0))
	require.ErrorIs(t, err, item.ErrInvalidHeader)
	require.Zero(t, counter(t, h, "put", "invalid_id"))
}

func TestTooLargeForServerMaxPayload(t *testing.T) {
	t.Parallel()
	// Our limit is 1 MiB but the server only takes 16 KiB messages: a
	// request that fits cannot fit once the WAL headers are added.
	h := start(t, opts{server: waltest.Options{MaxPayload: 16 << 10}})
	id := strings.Repeat("k", 1000)
	payload := make([]byte, (16<<10)-600)
	_, err := h.cl.Put(tctx(t), id, payload)
	require.ErrorIs(t, err, item.ErrPayloadTooLarge)
	var ie *item.Error
	require.ErrorAs(t, err, &ie)
	require.Contains(t, ie.Message, "max_payload")

	// Beyond the server's max_payload the client cannot even send it.
	_, err = h.cl.Put(tctx(t), "a", make([]byte, 17<<10))
	require.ErrorIs(t, err, item.ErrPayloadTooLarge)
}

func TestStreamFullIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	h := start(t, opts{wal: wal.Config{MaxMsgs: 2, RetryAfterFull: 7 * time.Second}})
	for i := 0; i < 2; i++ {
		_, err := h.cl.Put(tctx(t), "f", []byte("x"))
		require.NoError(t, err)
	}
	resp := h.raw(t, "sync.put.f", []byte("x"), nil)
	requireError(t, resp, item.CodeUnavailable)
	require.Equal(t, "7", resp.Header.Get("Retry-After"))

	_, err := h.cl.Put(tctx(t), "f", []byte("x"))
	var ie *item.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, item.CodeUnavailable, ie.Code)
	require.Equal(t, 7, ie.RetryAfterSeconds)
}

func TestNoJetStreamIs503(t *testing.T) {
	t.Parallel()
	h := start(t, opts{noJS: true})
	start := time.Now()
	requireError(t, h.raw(t, "sync.put.a", []byte("x"), nil), item.CodeUnavailable)
	require.Less(t, time.Since(start), 3*time.Second)
	_, err := h.cl.Delete(tctx(t), "a")
	require.ErrorIs(t, err, item.ErrUnavailable)
}

func TestNoServiceIsUnavailable(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	cl, err := client.New(nc)
	require.NoError(t, err)
	_, err = cl.Put(tctx(t), "a", []byte("x"))
	require.ErrorIs(t, err, item.ErrUnavailable)
	require.True(t, errors.Is(err, nats.ErrNoResponders))
}

func TestAckedWriteSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := start(t, opts{server: waltest.Options{StoreDir: dir}})
	r, err := h.cl.Put(tctx(t), "keep", []byte("me"))
	require.NoError(t, err)
	h.srv.Shutdown()
	h.srv.WaitForShutdown()

	s2 := waltest.Start(t, waltest.Options{StoreDir: dir})
	nc2 := waltest.Connect(t, s2)
	h2 := &harness{js: mustJS(t, nc2), walCfg: h.walCfg}
	m := h2.walMsg(t, r.Seq)
	require.Equal(t, "keep", m.Header.Get(wal.HeaderID))
	require.Equal(t, "me", string(m.Data))
}

func TestReplyQuotesIDs(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	for _, id := range []string{`q"uote`, "a.<b&c", "x{y}:z"} {
		r, err := h.cl.Put(tctx(t), id, []byte("v"))
		require.NoError(t, err)
		require.Equal(t, id, r.ID)
	}
}
