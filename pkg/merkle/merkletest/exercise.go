package merkletest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
)

// Option tunes Exercise.
type Option func(*suite)

// WithConfig runs the suite with tree shape c instead of
// merkle.DefaultConfig; use it when the store is built with another Config.
func WithConfig(c merkle.Config) Option { return func(s *suite) { s.cfg = c } }

// WithScale multiplies the number of items the suite writes (default 1);
// below 1 it shrinks them, for slow stores in -short runs.
func WithScale(f float64) Option { return func(s *suite) { s.scale = f } }

// Exercise runs the conformance suite against the stores newStore makes.
// Every call of newStore must return an empty store isolated from every
// other (its own schema, database, or key prefix) that t's cleanup removes;
// subtests call it in parallel.
func Exercise(t *testing.T, newStore func(t *testing.T) merkle.Store, opts ...Option) {
	t.Helper()
	s := &suite{cfg: merkle.DefaultConfig, scale: 1, newStore: newStore}
	for _, opt := range opts {
		opt(s)
	}
	require.NoError(t, s.cfg.Validate())
	t.Run("Empty", s.empty)
	t.Run("Batches", s.batchesMatchRebuild)
	t.Run("ChildrenSortedNoZero", s.childrenContract)
	t.Run("LeafSetClear", s.leafSetClear)
	t.Run("ConcurrentApply", s.concurrentApply)
	t.Run("DiffAgainstMemStore", s.diffAgainstMem)
}

type suite struct {
	cfg      merkle.Config
	scale    float64
	newStore func(t *testing.T) merkle.Store
}

func (s *suite) n(base int) int { return max(1, int(float64(base)*s.scale)) }

func (s *suite) empty(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := s.newStore(t)
	root, err := st.Root(ctx)
	require.NoError(t, err)
	require.True(t, root.IsZero(), "root of an empty store")
	kids, err := st.Children(ctx, "")
	require.NoError(t, err)
	require.Empty(t, kids)
	_, ok, err := st.Leaf(ctx, "a")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, st.Apply(ctx, merkle.Update{}), "empty update")
	RequireSameTree(t, ctx, merkle.NewMemStore(), st)
}

// batchesMatchRebuild applies several generations of an item set as deltas
// in batches of random sizes; after each the tree equals the tree built from
// scratch. The last generation deletes everything.
func (s *suite) batchesMatchRebuild(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := s.newStore(t)
	g := newGen(1)
	cur := map[string]merkle.Hash{}
	seen := map[string]bool{}
	for gen := range 6 {
		next := g.evolve(cur, s.n(150))
		if gen == 5 {
			next = map[string]merkle.Hash{}
		}
		for _, b := range g.batches(transition(cur, next)) {
			require.NoError(t, st.Apply(ctx, s.cfg.Deltas(b)))
			for _, ch := range b {
				seen[ch.ID] = true
			}
		}
		root, err := st.Root(ctx)
		require.NoError(t, err)
		require.Equal(t, merkle.RootOf(next), root, "generation %d", gen)
		RequireSameTree(t, ctx, reference(t, ctx, s.cfg, next), st, sortedKeys(seen)...)
		cur = next
	}
	kids, err := st.Children(ctx, "")
	require.NoError(t, err)
	require.Empty(t, kids, "edges left after deleting every item")
}

// childrenContract writes siblings whose byte order differs from collation
// order, and edges that go back to zero in a later Apply.
func (s *suite) childrenContract(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := s.newStore(t)
	g := newGen(2)
	leaves := map[string]merkle.Hash{}
	for _, id := range []string{"!", "-", "0", "9", "A", "Z", "_", "a", "z", "~", "a-b", "a_b", "aB", "ab", "a.b", "a.B", "a.-"} {
		leaves[id] = g.leaf(id)
	}
	for range s.n(600) {
		id := "c." + g.segment()
		leaves[id] = g.leaf(id)
	}
	require.NoError(t, st.Apply(ctx, s.cfg.Build(leaves)))
	RequireSameTree(t, ctx, reference(t, ctx, s.cfg, leaves), st)

	// An edge that another Apply brings back to zero must disappear, on a
	// path of its own and on paths shared with live items.
	for _, id := range []string{"zero.edge", "c.zero", "a.b.zero"} {
		d := g.leaf(id)
		var up, down merkle.Update
		for _, e := range s.cfg.Path(id) {
			up.Edges = append(up.Edges, merkle.EdgeDelta{Edge: e, Delta: d})
			down.Edges = append(down.Edges, merkle.EdgeDelta{Edge: e, Delta: merkle.Zero.Sub(d)})
		}
		require.NoError(t, st.Apply(ctx, up))
		require.NoError(t, st.Apply(ctx, down))
	}
	RequireSameTree(t, ctx, reference(t, ctx, s.cfg, leaves), st)
}

func (s *suite) leafSetClear(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := s.newStore(t)
	g := newGen(3)
	h1, h2, h3 := g.leaf("a"), g.leaf("a.b"), g.leaf("a")
	leaf := func(id string) (merkle.Hash, bool) {
		h, ok, err := st.Leaf(ctx, id)
		require.NoError(t, err)
		return h, ok
	}
	require.NoError(t, st.Apply(ctx, merkle.Update{Leaves: []merkle.Leaf{
		{ID: "a", Hash: h1, Live: true}, {ID: "a.b", Hash: h2, Live: true},
	}}))
	got, ok := leaf("a")
	require.True(t, ok)
	require.Equal(t, h1, got)
	got, ok = leaf("a.b")
	require.True(t, ok)
	require.Equal(t, h2, got)
	_, ok = leaf("a.c")
	require.False(t, ok)

	require.NoError(t, st.Apply(ctx, merkle.Update{Leaves: []merkle.Leaf{{ID: "a", Hash: h3, Live: true}}}))
	got, ok = leaf("a")
	require.True(t, ok)
	require.Equal(t, h3, got, "a leaf is overwritten")

	require.NoError(t, st.Apply(ctx, merkle.Update{Leaves: []merkle.Leaf{{ID: "a"}}}))
	_, ok = leaf("a")
	require.False(t, ok, "a cleared leaf is gone")
	got, ok = leaf("a.b")
	require.True(t, ok, "clearing a does not touch a.b")
	require.Equal(t, h2, got)

	// Through Deltas: an internal node that is an item, then deleted.
	items := map[string]merkle.Hash{"a": h1, "a.b": h2, "a.b.c": g.leaf("a.b.c")}
	fresh := s.newStore(t)
	require.NoError(t, fresh.Apply(ctx, s.cfg.Build(items)))
	require.NoError(t, fresh.Apply(ctx, s.cfg.Deltas([]merkle.Change{{ID: "a.b", Old: h2}})))
	delete(items, "a.b")
	RequireSameTree(t, ctx, reference(t, ctx, s.cfg, items), fresh, "a.b")
}

// concurrentApply runs several writers at once. Their ids are disjoint but
// share every ancestor up to the root, and they also push opposite deltas
// through one hot path; the result equals the tree of the union built from
// scratch.
func (s *suite) concurrentApply(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := s.newStore(t)
	const writers = 4
	finals := make([]map[string]merkle.Hash, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			finals[w], errs[w] = s.writer(ctx, st, w)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	union := map[string]merkle.Hash{}
	for _, f := range finals {
		maps.Copy(union, f)
	}
	RequireSameTree(t, ctx, reference(t, ctx, s.cfg, union), st)
}

// writer is one concurrent writer of concurrentApply: its items are
// "w.<n>.<writer>.<seg>" and "s.<writer>.<seg>".
func (s *suite) writer(ctx context.Context, st merkle.Store, w int) (map[string]merkle.Hash, error) {
	g := newGen(uint64(100 + w))
	cur := map[string]merkle.Hash{}
	hot := s.cfg.Path("hot.path")
	for round := range 4 {
		next := map[string]merkle.Hash{}
		for id, h := range cur {
			if g.r.IntN(4) > 0 {
				next[id] = h
			}
		}
		for i := range s.n(40) {
			id := fmt.Sprintf("w.%d.%d.%s", i%3, w, g.segment())
			if i%2 == 0 {
				id = fmt.Sprintf("s.%d.%s", w, g.segment())
			}
			next[id] = g.leaf(id)
		}
		for _, b := range g.batches(transition(cur, next)) {
			if err := st.Apply(ctx, s.cfg.Deltas(b)); err != nil {
				return nil, fmt.Errorf("writer %d round %d: %w", w, round, err)
			}
		}
		d := g.leaf("hot.path")
		for _, sign := range []merkle.Hash{d, merkle.Zero.Sub(d)} {
			var u merkle.Update
			for _, e := range hot {
				u.Edges = append(u.Edges, merkle.EdgeDelta{Edge: e, Delta: sign})
			}
			if err := st.Apply(ctx, u); err != nil {
				return nil, fmt.Errorf("writer %d hot path: %w", w, err)
			}
		}
		cur = next
	}
	return cur, nil
}

// diffAgainstMem diffs the store against a MemStore holding another item
// set, both ways, from the root and from prefixes, with and without a limit.
func (s *suite) diffAgainstMem(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := s.newStore(t)
	g := newGen(4)
	x := g.items(s.n(300))
	y := g.evolve(x, s.n(40))
	for _, b := range g.batches(transition(nil, x)) {
		require.NoError(t, st.Apply(ctx, s.cfg.Deltas(b)))
	}
	mem := reference(t, ctx, s.cfg, y)
	for _, prefix := range []string{"", "t1", "t1.orders", "a", "~", "absent.node"} {
		want := differences(x, y, prefix)
		res, err := merkle.Diff(ctx, st, mem, merkle.WithPrefix(prefix))
		require.NoError(t, err)
		require.Equal(t, want, orEmpty(res.Differences), "diff(store, mem) from %q", prefix)
		require.False(t, res.Truncated)
		res, err = merkle.Diff(ctx, mem, st, merkle.WithPrefix(prefix))
		require.NoError(t, err)
		require.Equal(t, differences(y, x, prefix), orEmpty(res.Differences), "diff(mem, store) from %q", prefix)
	}
	all := differences(x, y, "")
	require.Greater(t, len(all), 5)
	res, err := merkle.Diff(ctx, st, mem, merkle.WithLimit(5))
	require.NoError(t, err)
	require.Len(t, res.Differences, 5)
	require.True(t, res.Truncated)
	require.Subset(t, all, res.Differences)

	same, err := merkle.Diff(ctx, st, reference(t, ctx, s.cfg, x))
	require.NoError(t, err)
	require.Empty(t, same.Differences)
	require.Equal(t, 1, same.A.NodeReads(), "equal trees cost one Root read")
}

func orEmpty(d []merkle.Difference) []merkle.Difference {
	if d == nil {
		return []merkle.Difference{}
	}
	return d
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}
