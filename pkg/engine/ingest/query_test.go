package ingest_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
	"github.com/syncline/syncline/pkg/item"
)

// edgeIDs are ids whose bytes are special to SQL LIKE ('_', '%') or Redis
// patterns ('?', '[', ']'), or sort next to '.' and '/': none may widen a
// prefix match.
var edgeIDs = []string{
	"a", "a.b", "a.b.c", "a.b.c.d", "a.bc", "a.b-", "a.b_", "a.b%", "a.b?", "a.b[1]", "a.b]", "a.b#",
	"a.b/x", "a.b0", "a.b_.c", "a.b%.c", "a.b?.c", "a.b[1].c", "a_b", "a%b", "a?b.x", "a[b].x", "ab", "b.a.b",
}

func putAll(t *testing.T, cl *client.Client, ids []string, opts ...client.WriteOption) uint64 {
	t.Helper()
	var last uint64
	for _, id := range ids {
		r, err := cl.Put(tctx(t), id, []byte("v:"+id), opts...)
		require.NoError(t, err)
		last = r.Seq
	}
	return last
}

func listIDs(t *testing.T, cl *client.Client, q client.Query, limit int) []string {
	t.Helper()
	out := []string{}
	require.NoError(t, cl.ListAll(tctx(t), q, limit, func(e client.ListEntry) error {
		out = append(out, e.ID)
		return nil
	}, client.WithStrong()))
	return out
}

func covered(prefix string, ids []string) []string {
	out := []string{}
	for _, id := range ids {
		if item.Covers(prefix, id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func TestListAndCountByPrefix(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	putAll(t, p.Client, edgeIDs)
	for _, prefix := range []string{"", "a", "a.b", "a.b.c", "a.b_", "a.b%", "a.b?", "a.b[1]", "a_b", "a%b", "a?b",
		"a[b]", "a.bc", "b", "zz", "a.b.c.d"} {
		want := covered(prefix, edgeIDs)
		for _, limit := range []int{0, 1, 3} {
			require.Equal(t, want, listIDs(t, p.Client, client.Query{Prefix: prefix}, limit), "list %q limit %d", prefix, limit)
		}
		n, err := p.Client.Count(tctx(t), client.Query{Prefix: prefix})
		require.NoError(t, err)
		require.Equal(t, int64(len(want)), n, "count %q", prefix)
	}

	// The wire format: a page, its cursor, the next page.
	resp := h0(t, p).raw(t, "sync.list.a.b", []byte(`{"limit":2}`), nats.Header{"Sync-Consistency": {"strong"}})
	var page struct {
		Items []struct {
			ID      string `json:"id"`
			Version uint64 `json:"version"`
		} `json:"items"`
		Cursor string `json:"cursor"`
		More   bool   `json:"more"`
	}
	require.NoError(t, json.Unmarshal(resp.Data, &page), string(resp.Data))
	require.True(t, page.More)
	require.NotEmpty(t, page.Cursor)
	require.Len(t, page.Items, 2)
	require.Equal(t, "a.b", page.Items[0].ID)
	require.Positive(t, page.Items[0].Version)
	next, err := p.Client.List(tctx(t), client.Query{Prefix: "a.b"}, page.Cursor, 100)
	require.NoError(t, err)
	require.False(t, next.More)
	require.Empty(t, next.Cursor)
	require.Equal(t, covered("a.b", edgeIDs)[2:], idsOf(next.Items))
	// The whole keyspace has a subject of its own.
	resp = h0(t, p).raw(t, "sync.count", nil, nil)
	require.JSONEq(t, fmt.Sprintf(`{"count":%d}`, len(edgeIDs)), string(resp.Data))

	// A cursor belongs to its listing.
	_, err = p.Client.List(tctx(t), client.Query{Prefix: "a"}, page.Cursor, 10)
	require.ErrorIs(t, err, item.ErrInvalidJSON)
	_, err = p.Client.List(tctx(t), client.Query{Prefix: "a.b", State: "x"}, page.Cursor, 10)
	require.ErrorIs(t, err, item.ErrInvalidJSON)
	for _, c := range []errCase{
		{"garbage cursor", "sync.list.a", nil, `{"cursor":"!!"}`, item.CodeInvalidJSON},
		{"forged cursor", "sync.list.a", nil, `{"cursor":"YWJj"}`, item.CodeInvalidJSON},
		{"negative limit", "sync.list", nil, `{"limit":-1}`, item.CodeInvalidJSON},
		{"unknown field", "sync.list", nil, `{"limt":5}`, item.CodeInvalidJSON},
		{"not json", "sync.count", nil, `{`, item.CodeInvalidJSON},
		{"bad state", "sync.count.a", nil, `{"state":"a b"}`, item.CodeInvalidHeader},
		{"bad prefix", "sync.list.a*", nil, ``, item.CodeInvalidID},
		{"bad prefix count", "sync.count.a>b", nil, ``, item.CodeInvalidID},
		{"bad after-seq", "sync.list", nats.Header{"Sync-After-Seq": {"x"}}, ``, item.CodeInvalidHeader},
	} {
		requireError(t, h0(t, p).raw(t, c.subject, []byte(c.data), c.hdr), c.code)
	}
	_, err = p.Client.List(tctx(t), client.Query{Prefix: "a..b"}, "", 0)
	require.ErrorIs(t, err, item.ErrInvalidID, "the client checks the prefix before sending")
}

func TestListAndCountByState(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	var open []string
	for i := range 30 {
		id := fmt.Sprintf("o.%02d", i)
		st := "closed"
		if i%4 == 0 {
			st, open = "open", append(open, id)
		}
		_, err := p.Client.Put(tctx(t), id, []byte("x"), client.WithState(st))
		require.NoError(t, err)
	}
	_, err := p.Client.Put(tctx(t), "other.1", []byte("x"), client.WithState("open"))
	require.NoError(t, err)
	require.Equal(t, append(slices.Clone(open), "other.1"), listIDs(t, p.Client, client.Query{State: "open"}, 2))
	require.Equal(t, open, listIDs(t, p.Client, client.Query{Prefix: "o", State: "open"}, 3))
	n, err := p.Client.Count(tctx(t), client.Query{State: "closed"}, client.WithStrong())
	require.NoError(t, err)
	require.EqualValues(t, 30-len(open), n)
	page, err := p.Client.List(tctx(t), client.Query{State: "open"}, "", 1, client.WithStrong())
	require.NoError(t, err)
	require.Equal(t, "open", page.Items[0].State)
}

func idsOf(es []client.ListEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// h0 wraps a pipeline for the raw-request helpers of harness_test.go.
func h0(t *testing.T, p *ingesttest.Pipeline) *harness {
	return &harness{nc: p.Conn, js: p.JS, walCfg: p.WAL}
}

func TestQueryEndpointsAreDiscoverable(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	resp, err := p.Conn.Request("$SRV.INFO.syncline", nil, tctxTimeout)
	require.NoError(t, err)
	var info micro.Info
	require.NoError(t, json.Unmarshal(resp.Data, &info))
	subjects := map[string]string{}
	for _, e := range info.Endpoints {
		subjects[e.Name] = e.Subject
	}
	for name, subject := range map[string]string{
		"list": "sync.list", "list_prefix": "sync.list.>", "count": "sync.count", "count_prefix": "sync.count.>",
		"delprefix": "sync.delprefix", "delprefix_prefix": "sync.delprefix.>", "setstate": "sync.setstate.>",
		"mget": "sync.mget", "is_current": "sync.is_current.>",
	} {
		require.Equal(t, subject, subjects[name], name)
	}
}
