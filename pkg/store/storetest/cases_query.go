package storetest

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/store"
)

// ExerciseQuery runs the cases behind the query endpoints (docs/query.md)
// on the Backend that open returns: routes stored with the row, origins
// and payload sums passed to the changes, and prefix/state listing with
// ids full of characters that are special to SQL LIKE or Redis patterns.
func ExerciseQuery(t *testing.T, open Open) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, open Open)
	}{
		{"RouteStoredWithRow", testRouteStored},
		{"ChangesCarryOriginAndSum", testChangeCDCFields},
		{"PrefixSpecialCharacters", testPrefixSpecialChars},
		{"StatePaging", testStatePaging},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open)
		})
	}
}

func testRouteStored(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	d := put(1, "r.durable", 1, "d")
	d.Route = item.RouteDurable
	apply(t, b, d, put(2, "r.default", 5, "x"))

	it, err := b.Get(ctx, "r.durable")
	require.NoError(t, err)
	require.Equal(t, item.RouteDurable, it.Route)
	it, err = b.Get(ctx, "r.default")
	require.NoError(t, err)
	require.Equal(t, item.RouteDefault, it.Route)
	many, err := b.GetMany(ctx, []string{"r.durable"})
	require.NoError(t, err)
	require.Equal(t, item.RouteDurable, many["r.durable"].Route)
	listed, err := b.List(ctx, store.Query{Prefix: "r"}, "", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"r.default", "r.durable"}, ids(listed))
	require.Equal(t, item.RouteDurable, listed[1].Route)

	// The route is the winning write's: a newer default put clears it, a
	// losing durable put does not set it.
	lose := put(3, "r.default", 4, "older")
	lose.Route = item.RouteDurable
	require.Empty(t, apply(t, b, lose).Changes)
	it, err = b.Get(ctx, "r.default")
	require.NoError(t, err)
	require.Equal(t, item.RouteDefault, it.Route)
	apply(t, b, put(4, "r.durable", 2, "d2"))
	it, err = b.Get(ctx, "r.durable")
	require.NoError(t, err)
	require.Equal(t, item.RouteDefault, it.Route)

	// A tombstone keeps no route; the tree counts durable items like any.
	d3 := put(5, "r.durable", 3, "d3")
	d3.Route = item.RouteDurable
	apply(t, b, d3)
	del := del(6, "r.durable", 4)
	del.Route = item.RouteDurable
	apply(t, b, del)
	r, ok := row(t, b, "r.durable")
	require.True(t, ok)
	require.True(t, r.Deleted)
	require.Equal(t, item.RouteDefault, r.Route)
	RequireConsistent(t, b, defaultConfig().Tree)

	// A route SQL never stores is a row error.
	bad := put(7, "r.cache", 1, "c")
	bad.Route = item.RouteCache
	_, err = b.ApplyBatch(ctx, []store.Write{bad})
	var re *store.RowError
	require.ErrorAs(t, err, &re)
	require.Equal(t, 0, re.Index)
}

func testChangeCDCFields(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	w := put(1, "c.a", 5, "payload")
	w.Origin, w.Route = "east", item.RouteDurable
	res := apply(t, b, w, del(2, "c.b", 1))
	require.Len(t, res.Changes, 2)
	a, d := res.Changes[0], res.Changes[1]
	require.Equal(t, "east", a.Origin)
	require.Equal(t, item.RouteDurable, a.Route)
	require.Equal(t, sha256.Sum256([]byte("payload")), a.PayloadSum)
	require.True(t, d.Deleted)
	require.Equal(t, store.EmptySum, d.PayloadSum)
	require.Empty(t, d.Origin)
}

// testPrefixSpecialChars: a prefix matches on segment boundaries, and no
// byte of an id widens a match ('_' and '%' of SQL LIKE, '*', '?', '['
// and ']' of Redis patterns, and the bytes around '.' and '/').
func testPrefixSpecialChars(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	all := []string{
		"t.a_b", "t.a_b.x", "t.axb", "t.axb.y", "t.a%b", "t.a%b.x", "t.aZZb",
		"t.a?b", "t.a?b.x", "t.acb", "t.a[b]", "t.a[b].x", "t.ab]", "t.a#b", "t.a#b.x",
		"t.a-", "t.a.", "t.a", "t.a.b", "t.a/b", "t.a0", "t.a~", "t.a~.z", "t.ab", "t.abc",
		"t.x.y", "t.x.y.z", "t.x.yz", "t.x.y-", "t.x.y_",
	}
	var ws []store.Write
	for i, id := range all {
		if id == "t.a." { // not a valid id: keep the list honest
			continue
		}
		ws = append(ws, put(uint64(i+1), id, 1, id))
	}
	apply(t, b, ws...)
	cases := []struct {
		prefix string
		want   []string
	}{
		{"t.a_b", []string{"t.a_b", "t.a_b.x"}},
		{"t.a%b", []string{"t.a%b", "t.a%b.x"}},
		{"t.a?b", []string{"t.a?b", "t.a?b.x"}},
		{"t.a[b]", []string{"t.a[b]", "t.a[b].x"}},
		{"t.a#b", []string{"t.a#b", "t.a#b.x"}},
		{"t.a~", []string{"t.a~", "t.a~.z"}},
		{"t.a", []string{"t.a", "t.a.b"}},
		{"t.x.y", []string{"t.x.y", "t.x.y.z"}},
		{"t.x", []string{"t.x.y", "t.x.y-", "t.x.y.z", "t.x.y_", "t.x.yz"}},
		{"t.a_", []string{}},
		{"t.a%", []string{}},
		{"t.x.y.z", []string{"t.x.y.z"}},
	}
	for _, c := range cases {
		got, err := b.List(ctx, store.Query{Prefix: c.prefix}, "", 1000)
		require.NoError(t, err)
		require.Equal(t, sortedCopy(c.want), ids(got), "list %q", c.prefix)
		n, err := b.Count(ctx, store.Query{Prefix: c.prefix})
		require.NoError(t, err)
		require.Equal(t, int64(len(c.want)), n, "count %q", c.prefix)
		for _, id := range c.want {
			require.True(t, item.Covers(c.prefix, id), "%q covers %q", c.prefix, id)
		}
	}
	// Paging one by one visits every id under "t" exactly once, in order.
	var paged []string
	after := ""
	for {
		page, err := b.List(ctx, store.Query{Prefix: "t"}, after, 1)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page[0].ID)
		after = page[0].ID
	}
	require.Len(t, paged, len(ws))
	require.Equal(t, sortedCopy(paged), paged)
}

func testStatePaging(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	var ws []store.Write
	want := []string{}
	for i := range 25 {
		w := put(uint64(i+1), "s."+string(rune('a'+i)), 1, "p")
		if i%3 == 0 {
			w.State = "open"
			want = append(want, w.ID)
		} else {
			w.State = "closed"
		}
		ws = append(ws, w)
	}
	apply(t, b, ws...)
	var got []string
	after := ""
	for {
		page, err := b.List(ctx, store.Query{State: "open"}, after, 4)
		require.NoError(t, err)
		got = append(got, ids(page)...)
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, want, got)
	n, err := b.Count(ctx, store.Query{State: "open", Prefix: "s"})
	require.NoError(t, err)
	require.Equal(t, int64(len(want)), n)
	n, err = b.Count(ctx, store.Query{State: "none"})
	require.NoError(t, err)
	require.Zero(t, n)
}
