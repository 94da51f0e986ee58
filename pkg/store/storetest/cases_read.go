package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

func testGetAndScan(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	binary := []byte{0, 1, 2, 0xff, 0, '\'', '\\', 0}
	apply(t, b,
		store.Write{Seq: 1, ID: "bin", Op: store.OpPut, Version: 3, Payload: binary,
			ContentType: "application/octet-stream", State: "s.1-x_y", CacheTTL: 90 * time.Second},
		store.Write{Seq: 2, ID: "json", Op: store.OpPut, Version: 4, Payload: []byte(`{"a":1}`)},
		store.Write{Seq: 3, ID: "empty", Op: store.OpPut, Version: 1},
		del(4, "gone", 2),
	)
	it, err := b.Get(ctx, "bin")
	require.NoError(t, err)
	require.Equal(t, binary, it.Payload, "payloads are byte-exact")
	require.Equal(t, "application/octet-stream", it.ContentType)
	require.Equal(t, "s.1-x_y", it.State)
	require.Equal(t, 90*time.Second, it.CacheTTL)
	require.Equal(t, uint64(1), it.Seq)
	require.Equal(t, merkle.LeafOf("bin", 3, binary), it.Leaf)
	require.False(t, it.Deleted)
	require.False(t, it.UpdatedAt.IsZero())

	js, err := b.Get(ctx, "json")
	require.NoError(t, err)
	require.Equal(t, "application/json", js.ContentType, "sniffed when not given")
	require.Empty(t, js.State)

	empty, err := b.Get(ctx, "empty")
	require.NoError(t, err)
	require.Empty(t, empty.Payload)
	require.Equal(t, merkle.LeafOf("empty", 1, nil), empty.Leaf)

	requireAbsent(t, b, "gone")
	requireAbsent(t, b, "never")

	many, err := b.GetMany(ctx, []string{"bin", "gone", "never", "json", "json"})
	require.NoError(t, err)
	require.Len(t, many, 2)
	require.Equal(t, binary, many["bin"].Payload)
	require.Contains(t, many, "json")
	none, err := b.GetMany(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, none)

	live, err := b.ScanLive(ctx, "", 10)
	require.NoError(t, err)
	require.Equal(t, []store.Entry{
		{ID: "bin", Version: 3, Leaf: merkle.LeafOf("bin", 3, binary)},
		{ID: "empty", Version: 1, Leaf: merkle.LeafOf("empty", 1, nil)},
		{ID: "json", Version: 4, Leaf: merkle.LeafOf("json", 4, []byte(`{"a":1}`))},
	}, live)
	page, err := b.ScanLive(ctx, "bin", 1)
	require.NoError(t, err)
	require.Equal(t, "empty", page[0].ID)
	require.Len(t, page, 1)

	all := All(t, b)
	require.Len(t, all, 4)
	require.Equal(t, "gone", all[2].ID)
	require.True(t, all[2].Deleted)
	require.Equal(t, uint64(2), all[2].Version)
}

func ids(items []store.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func testPrefixListing(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	all := []string{
		"a", "a.b", "a.b.c", "a.b.c.d", "a.bc", "a.b-", "a.b_", "a.b%", "a.b0", "a.b/x",
		"a_b", "a%b", "a_b.x", "a%b.x", "ab", "a-b.x", "b.a.b", "a.b_.c",
	}
	var ws []store.Write
	for i, id := range all {
		ws = append(ws, put(uint64(i+1), id, 1, id))
	}
	ws = append(ws, del(100, "a.b.dead", 1))
	apply(t, b, ws...)

	cases := []struct {
		prefix string
		want   []string
	}{
		{"", nil}, // everything
		{"a.b", []string{"a.b", "a.b.c", "a.b.c.d"}},
		{"a.b.c", []string{"a.b.c", "a.b.c.d"}},
		{"a.b_", []string{"a.b_", "a.b_.c"}},
		{"a.b%", []string{"a.b%"}},
		{"a_b", []string{"a_b", "a_b.x"}},
		{"a%b", []string{"a%b", "a%b.x"}},
		{"a", []string{"a", "a.b", "a.b-", "a.b%", "a.b.c", "a.b.c.d", "a.b/x", "a.b0", "a.b_", "a.b_.c", "a.bc"}},
		{"a.b.c.d", []string{"a.b.c.d"}},
		{"a.b.c.d.e", []string{}},
		{"b.a", []string{"b.a.b"}},
		{"zz", []string{}},
	}
	for _, c := range cases {
		want := c.want
		if c.prefix == "" {
			want = sortedCopy(all)
		}
		got, err := b.List(ctx, store.Query{Prefix: c.prefix}, "", 1000)
		require.NoError(t, err)
		require.Equal(t, sortedCopy(want), ids(got), "list %q", c.prefix)
		for _, it := range got {
			require.Empty(t, it.Payload, "List returns no payloads")
			require.Equal(t, uint64(1), it.Version)
			require.Equal(t, merkle.LeafOf(it.ID, 1, []byte(it.ID)), it.Leaf)
		}
		n, err := b.Count(ctx, store.Query{Prefix: c.prefix})
		require.NoError(t, err)
		require.Equal(t, int64(len(want)), n, "count %q", c.prefix)
	}

	// Pagination with after.
	var paged []string
	after := ""
	for {
		page, err := b.List(ctx, store.Query{Prefix: "a"}, after, 3)
		require.NoError(t, err)
		paged = append(paged, ids(page)...)
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, sortedCopy(cases[7].want), paged)
}

func testStateListing(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	st := func(seq uint64, id, state string) store.Write {
		w := put(seq, id, 1, id)
		w.State = state
		return w
	}
	apply(t, b, st(1, "o.1", "open"), st(2, "o.2", "closed"), st(3, "o.3", "open"),
		st(4, "p.1", "open"), st(5, "o.4", ""), st(6, "o.5", "open"))
	apply(t, b, del(7, "o.5", 2))
	got, err := b.List(ctx, store.Query{State: "open"}, "", 100)
	require.NoError(t, err)
	require.Equal(t, []string{"o.1", "o.3", "p.1"}, ids(got))
	require.Equal(t, "open", got[0].State)
	got, err = b.List(ctx, store.Query{Prefix: "o", State: "open"}, "o.1", 100)
	require.NoError(t, err)
	require.Equal(t, []string{"o.3"}, ids(got))
	n, err := b.Count(ctx, store.Query{State: "closed"})
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	n, err = b.Count(ctx, store.Query{State: "open", Prefix: "p"})
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

func testGC(t *testing.T, open Open) {
	clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := open(t, store.Config{Tree: merkle.DefaultConfig, Now: clk.Now})
	ctx := context.Background()
	apply(t, b, put(1, "live", 1, "x"), del(2, "old.1", 1), del(3, "old.2", 1), del(4, "old.3", 1))
	clk.now = clk.now.Add(time.Hour)
	apply(t, b, del(5, "new", 1), put(6, "live2", 1, "y"))
	clk.now = clk.now.Add(time.Hour)

	cutoff := clk.now.Add(-90 * time.Minute) // between the two batches
	n, err := b.GCTombstones(ctx, cutoff, 2)
	require.NoError(t, err)
	require.Equal(t, 2, n, "limit respected")
	n, err = b.GCTombstones(ctx, cutoff, 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = b.GCTombstones(ctx, cutoff, 100)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, []string{"live", "live2", "new"}, ids(All(t, b)), "live rows and young tombstones stay")

	// After GC the id is free: an old put is accepted again (retention is
	// the window in which it would have been refused).
	res := apply(t, b, put(7, "old.1", 1, "again"))
	require.Len(t, res.Changes, 1)
	RequireConsistent(t, b, defaultConfig().Tree)
}

func sortedCopy(in []string) []string {
	out := append([]string{}, in...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
