package wal_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

var testNames = wal.NewNames("sync", 16)

func genID() *rapid.Generator[string] {
	seg := rapid.StringMatching(`[A-Za-z0-9_:#=+-]{1,12}`)
	return rapid.Custom(func(t *rapid.T) string {
		return strings.Join(rapid.SliceOfN(seg, 1, 5).Draw(t, "segs"), ".")
	})
}

func genWrite() *rapid.Generator[wal.Write] {
	return rapid.Custom(func(t *rapid.T) wal.Write {
		w := wal.Write{ID: genID().Draw(t, "id"), Op: wal.OpPut}
		if rapid.Bool().Draw(t, "del") {
			w.Op = wal.OpDel
		} else {
			if rapid.Bool().Draw(t, "json") {
				w.Payload = []byte(`{"n":` + strconv.Itoa(rapid.Int().Draw(t, "n")) + `}`)
				w.ContentType = item.ContentTypeJSON
			} else {
				w.Payload = rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "payload")
				w.ContentType = item.ContentTypeBinary
			}
			if rapid.Bool().Draw(t, "ttl") {
				w.CacheTTL = time.Duration(rapid.IntRange(1, int(item.MaxCacheTTL/time.Second)).Draw(t, "ttl_s")) * time.Second
			}
		}
		if rapid.Bool().Draw(t, "versioned") {
			w.Version = rapid.Uint64Range(1, item.MaxVersion).Draw(t, "version")
		}
		if rapid.Bool().Draw(t, "stated") {
			w.State = rapid.StringMatching(`[A-Za-z0-9_.-]{1,64}`).Draw(t, "state")
		}
		if rapid.Bool().Draw(t, "msgid") {
			w.MsgID = rapid.StringMatching(`[a-z0-9-]{1,32}`).Draw(t, "msgid")
		}
		return w
	})
}

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := genWrite().Draw(t, "write")
		require.NoError(t, w.Validate(1<<20))
		m := w.Encode(testNames)
		require.Equal(t, testNames.WALSubjectFor(w.ID), m.Subject)
		require.True(t, strings.HasPrefix(m.Subject, "sync.wal."))
		require.Empty(t, m.Header.Get("Nats-Subject"))
		got, err := wal.DecodeWrite(m, 1<<20)
		require.NoError(t, err)
		if len(got.Payload) == 0 {
			got.Payload = w.Payload[:0:0]
		}
		if len(w.Payload) == 0 {
			w.Payload = got.Payload
		}
		require.Equal(t, w, got)
	})
}

func TestWriteEffectiveVersion(t *testing.T) {
	t.Parallel()
	require.EqualValues(t, 42, wal.Write{}.EffectiveVersion(42))
	require.EqualValues(t, 7, wal.Write{Version: 7}.EffectiveVersion(42))
}

func hdr(kv ...string) nats.Header {
	h := nats.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestDecodeWriteRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		h      nats.Header
		data   string
		reason string
	}{
		{"no id", hdr("Sync-Op", "put"), "x", "invalid_id"},
		{"empty id", hdr("Sync-Id", "", "Sync-Op", "put"), "x", "invalid_id"},
		{"bad id", hdr("Sync-Id", "a..b", "Sync-Op", "put"), "x", "invalid_id"},
		{"wildcard id", hdr("Sync-Id", "a.*", "Sync-Op", "put"), "x", "invalid_id"},
		{"two ids", hdr("Sync-Id", "a", "Sync-Id", "b", "Sync-Op", "put"), "x", "invalid_id"},
		{"no op", hdr("Sync-Id", "a"), "x", "invalid_op"},
		{"bad op", hdr("Sync-Id", "a", "Sync-Op", "upsert"), "x", "invalid_op"},
		{"version zero", hdr("Sync-Id", "a", "Sync-Op", "put", "Sync-Version", "0"), "x", "invalid_version"},
		{"version 2^63", hdr("Sync-Id", "a", "Sync-Op", "put", "Sync-Version", "9223372036854775808"), "x", "invalid_version"},
		{"version negative", hdr("Sync-Id", "a", "Sync-Op", "put", "Sync-Version", "-3"), "x", "invalid_version"},
		{"versions disagree", hdr("Sync-Id", "a", "Sync-Op", "put", "Sync-Version", "1", "sync-version", "2"), "x", "invalid_version"},
		{"bad state", hdr("Sync-Id", "a", "Sync-Op", "put", "Sync-State", "a b"), "x", "invalid_header"},
		{"bad ttl", hdr("Sync-Id", "a", "Sync-Op", "put", "Sync-Cache-TTL", "1h"), "x", "invalid_header"},
		{"bad content type", hdr("Sync-Id", "a", "Sync-Op", "put", "Content-Type", "text/plain"), "x", "invalid_header"},
		{"declared json invalid", hdr("Sync-Id", "a", "Sync-Op", "put", "Content-Type", "application/json"), "{", "invalid_json"},
		{"delete with payload", hdr("Sync-Id", "a", "Sync-Op", "del"), "x", "invalid_payload"},
		{"too large", hdr("Sync-Id", "a", "Sync-Op", "put"), strings.Repeat("x", 11), "payload_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := wal.DecodeWrite(&nats.Msg{Header: tc.h, Data: []byte(tc.data)}, 10)
			require.Error(t, err)
			require.Equal(t, tc.reason, wal.ReasonOf(err), "%v", err)
			require.NotEqual(t, item.CodeInternal, item.CodeOf(err), "cause must be an *item.Error: %v", err)
		})
	}
}

func TestDecodeWriteLenient(t *testing.T) {
	t.Parallel()
	// Case-insensitive header names, sniffed content type, repeated equal values.
	w, err := wal.DecodeWrite(&nats.Msg{Header: hdr("sync-id", "a.b", "SYNC-OP", "put", "Sync-Version", "5",
		"sync-version", "5"), Data: []byte(`{"k":1}`)}, 0)
	require.NoError(t, err)
	require.Equal(t, wal.Write{ID: "a.b", Op: wal.OpPut, Version: 5, Payload: []byte(`{"k":1}`), ContentType: item.ContentTypeJSON}, w)

	w, err = wal.DecodeWrite(&nats.Msg{Header: hdr("Sync-Id", "a", "Sync-Op", "del")}, 0)
	require.NoError(t, err)
	require.Equal(t, wal.Write{ID: "a", Op: wal.OpDel}, w)
}

func TestWriteValidate(t *testing.T) {
	t.Parallel()
	ok := wal.Write{ID: "a", Op: wal.OpPut, Payload: []byte("x")}
	require.NoError(t, ok.Validate(0))
	for name, w := range map[string]wal.Write{
		"id":      {ID: "a.", Op: wal.OpPut},
		"op":      {ID: "a", Op: "x"},
		"version": {ID: "a", Op: wal.OpPut, Version: 1 << 63},
		"state":   {ID: "a", Op: wal.OpPut, State: "a b"},
		"ttl":     {ID: "a", Op: wal.OpPut, CacheTTL: 1500 * time.Millisecond},
		"size":    {ID: "a", Op: wal.OpPut, Payload: []byte("xx")},
		"json":    {ID: "a", Op: wal.OpPut, Payload: []byte("{"), ContentType: item.ContentTypeJSON},
		"del":     {ID: "a", Op: wal.OpDel, Payload: []byte("x")},
	} {
		require.Error(t, w.Validate(1), name)
		require.NotEmpty(t, wal.ReasonOf(w.Validate(1)), name)
	}
}

func FuzzDecodeWrite(f *testing.F) {
	f.Add("a.b", "put", "1", "application/json", "st", "60", "m1", []byte(`{}`))
	f.Add("a..b", "del", "", "", "", "", "", []byte(nil))
	f.Add("a", "put", "0", "text/plain", "a b", "0", "", []byte("x"))
	f.Add("a", "del", "9223372036854775808", "", "", "1s", "", []byte("x"))
	f.Fuzz(func(t *testing.T, id, op, version, ct, state, ttl, msgID string, data []byte) {
		h := nats.Header{}
		set := func(k, v string) {
			if v != "" {
				h.Set(k, v)
			}
		}
		h.Set(wal.HeaderID, id)
		set(wal.HeaderOp, op)
		set(wal.HeaderVersion, version)
		set(wal.HeaderContentType, ct)
		set(wal.HeaderState, state)
		set(wal.HeaderCacheTTL, ttl)
		set(wal.HeaderMsgID, msgID)
		w, err := wal.DecodeWrite(&nats.Msg{Header: h, Data: data}, 1<<16)
		if err != nil {
			require.NotEmpty(t, wal.ReasonOf(err))
			require.Equal(t, wal.ReasonOf(err), wal.SanitizeReason(wal.ReasonOf(err)))
			return
		}
		// Everything accepted is valid and survives a re-encode.
		require.NoError(t, w.Validate(1<<16))
		again, err := wal.DecodeWrite(w.Encode(testNames), 1<<16)
		require.NoError(t, err)
		require.Equal(t, w.ID, again.ID)
		require.Equal(t, w.Op, again.Op)
		require.Equal(t, w.Version, again.Version)
		require.Equal(t, w.State, again.State)
		require.Equal(t, w.CacheTTL, again.CacheTTL)
		require.Equal(t, w.ContentType, again.ContentType)
		require.Equal(t, string(w.Payload), string(again.Payload))
	})
}
