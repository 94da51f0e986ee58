package merkletest

import (
	"context"
	"slices"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
)

// TestingT is what the helpers need of a test: *testing.T, *testing.B and
// *rapid.T all have it.
type TestingT interface {
	require.TestingT
	Helper()
}

// RequireSameTree fails t unless got holds exactly the tree of want: the same
// root, the same Children (keys, hashes and order) at every node reachable
// from the root, and the same leaf at every real node of want and at every
// id in alsoIDs (ids that were live once, whose leaves must be gone from
// both). want is usually a MemStore built from scratch with Config.Build.
func RequireSameTree(t TestingT, ctx context.Context, want, got merkle.Reader, alsoIDs ...string) {
	t.Helper()
	wr, err := want.Root(ctx)
	require.NoError(t, err)
	gr, err := got.Root(ctx)
	require.NoError(t, err)
	require.Equal(t, wr, gr, "root")
	queue := []string{""}
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		wk, err := want.Children(ctx, key)
		require.NoError(t, err)
		gk, err := got.Children(ctx, key)
		require.NoError(t, err)
		requireChildren(t, key, gk)
		require.Equal(t, entriesOrEmpty(wk), entriesOrEmpty(gk), "children of %q", key)
		for _, e := range wk {
			queue = append(queue, e.Key)
		}
		if key != "" && !merkle.IsBucket(key) {
			requireSameLeaf(t, ctx, want, got, key)
		}
	}
	for _, id := range alsoIDs {
		requireSameLeaf(t, ctx, want, got, id)
	}
}

func requireSameLeaf(t TestingT, ctx context.Context, want, got merkle.Reader, id string) {
	t.Helper()
	wl, wok, err := want.Leaf(ctx, id)
	require.NoError(t, err)
	gl, gok, err := got.Leaf(ctx, id)
	require.NoError(t, err)
	require.Equal(t, wok, gok, "leaf of %q is live", id)
	if wok {
		require.Equal(t, wl, gl, "leaf of %q", id)
	}
}

// requireChildren checks the Children contract on one list: sorted by key
// in byte order, each key once, no zero hash.
func requireChildren(t TestingT, parent string, es []merkle.Entry) {
	t.Helper()
	for i, e := range es {
		require.False(t, e.Hash.IsZero(), "children of %q: zero edge %q", parent, e.Key)
		if i > 0 {
			require.Less(t, es[i-1].Key, e.Key, "children of %q not strictly sorted by byte order", parent)
		}
	}
}

func entriesOrEmpty(es []merkle.Entry) []merkle.Entry {
	if es == nil {
		return []merkle.Entry{}
	}
	return es
}

// reference is the tree of leaves built from scratch in a MemStore.
func reference(t TestingT, ctx context.Context, c merkle.Config, leaves map[string]merkle.Hash) *merkle.MemStore {
	t.Helper()
	m := merkle.NewMemStore()
	require.NoError(t, m.Apply(ctx, c.Build(leaves)))
	return m
}

// transition returns the changes that turn leaves from into leaves to.
func transition(from, to map[string]merkle.Hash) []merkle.Change {
	var out []merkle.Change
	for id, h := range from {
		if to[id] != h {
			out = append(out, merkle.Change{ID: id, Old: h, New: to[id]})
		}
	}
	for id, h := range to {
		if _, ok := from[id]; !ok {
			out = append(out, merkle.Change{ID: id, New: h})
		}
	}
	slices.SortFunc(out, func(a, b merkle.Change) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// differences is what Diff(a, b) must report for two leaf sets.
func differences(a, b map[string]merkle.Hash, prefix string) []merkle.Difference {
	out := []merkle.Difference{}
	for _, ch := range transition(a, b) {
		if item.Covers(prefix, ch.ID) {
			out = append(out, merkle.Difference{ID: ch.ID, A: ch.Old, B: ch.New})
		}
	}
	return out
}

func ids(m map[string]merkle.Hash) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return sortStrings(out)
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}
