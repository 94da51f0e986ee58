package wal_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

func TestRoutingRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := genWrite().Draw(t, "write")
		if w.Op == wal.OpPut && rapid.Bool().Draw(t, "durable") {
			w.Route = item.RouteDurable
		}
		if rapid.Bool().Draw(t, "origin") {
			w.Origin = rapid.StringMatching(`[A-Za-z0-9_.-]{1,64}`).Draw(t, "origin")
		}
		require.NoError(t, w.Validate(1<<20))
		m := w.Encode(testNames)
		got, err := wal.DecodeWrite(m, 1<<20)
		require.NoError(t, err)
		require.Equal(t, w.Route, got.Route)
		require.Equal(t, w.Origin, got.Origin)
		if w.Route == item.RouteDefault {
			require.Empty(t, m.Header.Values(wal.HeaderRoute), "the default route is the header's absence")
		}
	})
}

func TestRoutingDecodeRejects(t *testing.T) {
	t.Parallel()
	base := func() nats.Header {
		return nats.Header{wal.HeaderID: {"a"}, wal.HeaderOp: {"put"}}
	}
	for name, h := range map[string]nats.Header{
		"cache in the WAL": {wal.HeaderRoute: {"cache"}},
		"unknown route":    {wal.HeaderRoute: {"fast"}},
		"two routes":       {wal.HeaderRoute: {"durable", "default"}},
		"bad origin":       {wal.HeaderOrigin: {"a b"}},
		"long origin":      {wal.HeaderOrigin: {strings.Repeat("o", 65)}},
	} {
		hdr := base()
		for k, v := range h {
			hdr[k] = v
		}
		_, err := wal.DecodeWrite(&nats.Msg{Header: hdr, Data: []byte("x")}, 0)
		require.ErrorIs(t, err, item.ErrInvalidHeader, name)
		require.Equal(t, "invalid_header", wal.ReasonOf(err), name)
	}
	ok := base()
	ok.Set("sync-route", "default") // header names match case-insensitively
	w, err := wal.DecodeWrite(&nats.Msg{Header: ok, Data: []byte("x")}, 0)
	require.NoError(t, err)
	require.Equal(t, item.RouteDefault, w.Route)
	require.Error(t, wal.Write{ID: "a", Op: wal.OpPut, Route: item.RouteCache}.Validate(0))
}

func TestCommitChangeCDCFields(t *testing.T) {
	t.Parallel()
	r := sampleRecord()
	r.Changes[0].Origin, r.Changes[0].Route, r.Changes[0].PayloadSHA256 = "east", "durable", hashA
	r.Changes[1].Origin = "west"
	data, err := wal.EncodeCommit(r)
	require.NoError(t, err)
	require.Contains(t, string(data), `"origin":"east"`)
	require.Contains(t, string(data), `"route":"durable"`)
	require.Contains(t, string(data), `"payload_sha256":"`+hashA+`"`)
	got, err := wal.DecodeCommit(data)
	require.NoError(t, err)
	require.Equal(t, r, got)

	for name, f := range map[string]func(*wal.CommitRecord){
		"origin":         func(r *wal.CommitRecord) { r.Changes[0].Origin = "a b" },
		"route":          func(r *wal.CommitRecord) { r.Changes[0].Route = "cache" },
		"sum not hex":    func(r *wal.CommitRecord) { r.Changes[0].PayloadSHA256 = "xyz" },
		"sum on delete":  func(r *wal.CommitRecord) { r.Changes[1].PayloadSHA256 = hashA },
		"sum upper case": func(r *wal.CommitRecord) { r.Changes[0].PayloadSHA256 = strings.ToUpper(hashA) },
	} {
		bad := sampleRecord()
		f(&bad)
		_, err := wal.EncodeCommit(bad)
		require.Error(t, err, name)
	}
}
