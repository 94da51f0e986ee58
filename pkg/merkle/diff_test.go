package merkle_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
)

func buildMem(t require.TestingT, cfg merkle.Config, leaves map[string]merkle.Hash) *merkle.MemStore {
	m := merkle.NewMemStore()
	require.NoError(t, m.Apply(context.Background(), cfg.Build(leaves)))
	return m
}

// wantDiff is what Diff(a, b) must report: ids under prefix whose leaves
// differ or exist on one side only, sorted.
func wantDiff(a, b map[string]merkle.Hash, prefix string) []merkle.Difference {
	out := []merkle.Difference{}
	for _, id := range slices.Sorted(maps.Keys(union(a, b))) {
		if a[id] != b[id] && item.Covers(prefix, id) {
			out = append(out, merkle.Difference{ID: id, A: a[id], B: b[id]})
		}
	}
	return out
}

func union(a, b map[string]merkle.Hash) map[string]merkle.Hash {
	u := maps.Clone(a)
	maps.Copy(u, b)
	return u
}

func orEmpty(d []merkle.Difference) []merkle.Difference {
	if d == nil {
		return []merkle.Difference{}
	}
	return d
}

// widestLast is W of Diff's bound: the most children of any node at the
// last bucket level (of any real node when Levels is 0). It also checks
// that every other node has at most Fanout children.
func widestLast(t require.TestingT, cfg merkle.Config, r merkle.Reader) int {
	w := 1
	if cfg.Fanout == 256 {
		w = 2
	}
	widest := 0
	queue := []string{""}
	for len(queue) > 0 {
		key := queue[0]
		queue = queue[1:]
		kids, err := r.Children(context.Background(), key)
		require.NoError(t, err)
		_, digits, bucket := strings.Cut(key, string(merkle.BucketSep))
		if (cfg.Levels == 0 && !bucket) || (bucket && len(digits) == cfg.Levels*w) {
			widest = max(widest, len(kids))
		} else {
			require.LessOrEqual(t, len(kids), cfg.Fanout, "children of %q", key)
		}
		for _, e := range kids {
			queue = append(queue, e.Key)
		}
	}
	return widest
}

// requireWithinBound checks Diff's documented cost on both sides.
func requireWithinBound(t require.TestingT, cfg merkle.Config, res merkle.DiffResult, prefix string, width int) {
	n := 1
	p := 0
	if prefix != "" {
		p = len(item.Segments(prefix))
	}
	for _, d := range res.Differences {
		n += len(item.Segments(d.ID)) - p
	}
	if res.Truncated {
		// The walk may have listed the children of the last reported
		// id before it met the next difference: count one more id.
		n++
	}
	for _, s := range []merkle.ReadStats{res.A, res.B} {
		require.LessOrEqual(t, s.NodeReads(), (cfg.Levels+2)*n, "node reads %+v, n=%d", s, n)
		require.LessOrEqual(t, s.Entries, (cfg.Levels*cfg.Fanout+width)*n, "entries %+v, n=%d, W=%d", s, n, width)
	}
}

var (
	wideIDs = rapid.Custom(func(t *rapid.T) string {
		return fmt.Sprintf("u.%d", rapid.IntRange(0, 400).Draw(t, "n"))
	})
	deepIDs = rapid.Custom(func(t *rapid.T) string {
		segs := rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "c", "Z", "a-b", "~"}), 1, 5).Draw(t, "segs")
		return strings.Join(segs, ".")
	})
	anyID = rapid.OneOf(rapid.SampledFrom(hierIDs), wideIDs, deepIDs)
)

func genLeaves(t *rapid.T, label string, max int) map[string]merkle.Hash {
	out := map[string]merkle.Hash{}
	// rapid's slices are short unless asked: draw the size first.
	n := rapid.IntRange(0, max).Draw(t, label+"-size")
	for _, id := range rapid.SliceOfN(anyID, n, n).Draw(t, label) {
		out[id] = merkle.LeafOf(id, rapid.Uint64Range(1, 3).Draw(t, "version"), nil)
	}
	return out
}

// genPair draws two item sets that mostly overlap.
func genPair(t *rapid.T) (a, b map[string]merkle.Hash) {
	a = genLeaves(t, "a", 200)
	b = map[string]merkle.Hash{}
	for _, id := range slices.Sorted(maps.Keys(a)) {
		switch rapid.IntRange(0, 9).Draw(t, "change") {
		case 0: // only in a
		case 1:
			b[id] = merkle.LeafOf(id, 100, nil)
		default:
			b[id] = a[id]
		}
	}
	maps.Copy(b, genLeaves(t, "extra", 10))
	return a, b
}

// TestDiffFindsExactlyTheDifferences: for random pairs of item sets, every
// Config, any prefix and limit, Diff reports exactly the differing ids (a
// subset of them, flagged Truncated, when limited) within its read bound.
func TestDiffFindsExactlyTheDifferences(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		ctx := t.Context()
		cfg := rapid.SampledFrom(allConfigs).Draw(t, "config")
		a, b := genPair(t)
		sa, sb := buildMem(t, cfg, a), buildMem(t, cfg, b)
		width := max(widestLast(t, cfg, sa), widestLast(t, cfg, sb))
		prefix := rapid.OneOf(rapid.Just(""), anyID, rapid.Just("u"), rapid.Just("absent")).Draw(t, "prefix")

		want := wantDiff(a, b, prefix)
		res, err := merkle.Diff(ctx, sa, sb, merkle.WithPrefix(prefix))
		require.NoError(t, err)
		require.Equal(t, want, orEmpty(res.Differences))
		require.False(t, res.Truncated)
		requireWithinBound(t, cfg, res, prefix, width)

		back, err := merkle.Diff(ctx, sb, sa, merkle.WithPrefix(prefix))
		require.NoError(t, err)
		require.Equal(t, wantDiff(b, a, prefix), orEmpty(back.Differences))
		require.Equal(t, res.A, back.B, "reads do not depend on the argument order")

		limit := rapid.IntRange(1, len(want)+2).Draw(t, "limit")
		lim, err := merkle.Diff(ctx, sa, sb, merkle.WithPrefix(prefix), merkle.WithLimit(limit))
		require.NoError(t, err)
		require.Len(t, lim.Differences, min(limit, len(want)))
		require.Equal(t, len(want) > limit, lim.Truncated)
		require.Subset(t, want, lim.Differences)
		require.True(t, slices.IsSortedFunc(lim.Differences, func(x, y merkle.Difference) int { return cmp.Compare(x.ID, y.ID) }))
		requireWithinBound(t, cfg, lim, prefix, width)
	})
}

// TestDiffBoundOnAWideTree: 8 000 items under four wide nodes and a few
// differences; the reads stay within the bound and far below the items.
func TestDiffBoundOnAWideTree(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := map[string]merkle.Hash{}
	for i := range 8000 {
		id := fmt.Sprintf("tenant.%d.orders.%08x", i%4, i*2654435761)
		a[id] = merkle.LeafOf(id, 1, nil)
	}
	b := maps.Clone(a)
	changed := 0
	for id := range a {
		if changed == 5 {
			break
		}
		b[id] = merkle.LeafOf(id, 2, nil)
		changed++
	}
	delete(b, "tenant.0.orders.00000000")
	b["tenant.3.new"] = merkle.LeafOf("tenant.3.new", 1, nil)
	for _, cfg := range []merkle.Config{{Fanout: 16, Levels: 1}, merkle.DefaultConfig, {Fanout: 16, Levels: 3}, {Fanout: 256, Levels: 1}} {
		sa, sb := buildMem(t, cfg, a), buildMem(t, cfg, b)
		res, err := merkle.Diff(ctx, sa, sb)
		require.NoError(t, err)
		require.Equal(t, wantDiff(a, b, ""), res.Differences)
		width := max(widestLast(t, cfg, sa), widestLast(t, cfg, sb))
		requireWithinBound(t, cfg, res, "", width)
		require.Less(t, res.A.NodeReads()+res.B.NodeReads(), 400, "%v: %+v %+v", cfg, res.A, res.B)
		t.Logf("%v: W=%d reads a=%+v b=%+v", cfg, width, res.A, res.B)
	}
}

func TestDiffEqualTreesReadOnlyRoots(t *testing.T) {
	t.Parallel()
	a := map[string]merkle.Hash{"a": merkle.LeafOf("a", 1, nil), "a.b": merkle.LeafOf("a.b", 1, nil)}
	res, err := merkle.Diff(t.Context(), buildMem(t, merkle.DefaultConfig, a), buildMem(t, merkle.DefaultConfig, a))
	require.NoError(t, err)
	require.Empty(t, res.Differences)
	require.Equal(t, merkle.ReadStats{Roots: 1}, res.A)
	require.Equal(t, merkle.ReadStats{Roots: 1}, res.B)

	res, err = merkle.Diff(t.Context(), merkle.NewMemStore(), merkle.NewMemStore(), merkle.WithPrefix("a"))
	require.NoError(t, err)
	require.Equal(t, merkle.ReadStats{Leaves: 1, Children: 1}, res.A, "a prefix costs its leaf and children")
}

func TestDiffOneSided(t *testing.T) {
	t.Parallel()
	a := map[string]merkle.Hash{}
	for _, id := range hierIDs {
		a[id] = merkle.LeafOf(id, 1, nil)
	}
	res, err := merkle.Diff(t.Context(), buildMem(t, merkle.DefaultConfig, a), merkle.NewMemStore())
	require.NoError(t, err)
	require.Equal(t, slices.Sorted(maps.Keys(a)), res.IDs())
	require.Equal(t, merkle.ReadStats{Roots: 1}, res.B, "the empty side is read once")
	for _, d := range res.Differences {
		require.Equal(t, a[d.ID], d.A)
		require.True(t, d.B.IsZero())
	}
}

func TestDiffRejectsBadOptions(t *testing.T) {
	t.Parallel()
	m := merkle.NewMemStore()
	_, err := merkle.Diff(t.Context(), m, m, merkle.WithPrefix("a..b"))
	require.ErrorIs(t, err, item.ErrInvalidID)
	_, err = merkle.Diff(t.Context(), m, m, merkle.WithPrefix("a>1"))
	require.ErrorIs(t, err, item.ErrInvalidID)
	_, err = merkle.Diff(t.Context(), m, m, merkle.WithLimit(-1))
	require.Error(t, err)
}

// failing is a Reader whose every read fails, or whose Children come back
// in reverse order.
type failing struct {
	*merkle.MemStore
	err     error
	reverse bool
}

func (f failing) Root(ctx context.Context) (merkle.Hash, error) {
	h, err := f.MemStore.Root(ctx)
	return h.Add(merkle.LeafOf("x", 1, nil)), err
}

func (f failing) Children(ctx context.Context, p string) ([]merkle.Entry, error) {
	if f.err != nil {
		return nil, f.err
	}
	es, err := f.MemStore.Children(ctx, p)
	if f.reverse {
		slices.Reverse(es)
	}
	return es, err
}

func TestDiffStoreErrorsAreWrapped(t *testing.T) {
	t.Parallel()
	boom := fmt.Errorf("boom")
	_, err := merkle.Diff(t.Context(), failing{MemStore: merkle.NewMemStore(), err: boom}, merkle.NewMemStore())
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), `children of "" of a`)
}

func TestDiffToleratesUnsortedChildren(t *testing.T) {
	t.Parallel()
	cfg := merkle.Config{Fanout: 16, Levels: 0}
	a := map[string]merkle.Hash{"a": merkle.LeafOf("a", 1, nil), "b": merkle.LeafOf("b", 1, nil), "c": merkle.LeafOf("c", 1, nil)}
	b := maps.Clone(a)
	b["b"] = merkle.LeafOf("b", 2, nil)
	ra := failing{MemStore: buildMem(t, cfg, a), reverse: true}
	// failing.Root adds a constant: compensate on the other side
	rb := failing{MemStore: buildMem(t, cfg, b)}
	res, err := merkle.Diff(t.Context(), ra, rb)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, res.IDs())
}

func TestDiffHonoursCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := buildMem(t, merkle.DefaultConfig, map[string]merkle.Hash{"a": merkle.LeafOf("a", 1, nil)})
	_, err := merkle.Diff(ctx, a, merkle.NewMemStore())
	require.ErrorIs(t, err, context.Canceled)
}

func TestNodeHash(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	leaves := map[string]merkle.Hash{}
	for _, id := range hierIDs {
		leaves[id] = merkle.LeafOf(id, 1, nil)
	}
	for _, cfg := range allConfigs {
		m := buildMem(t, cfg, leaves)
		for _, key := range []string{"", "a", "a.b", "b.x", "c", "zzz"} {
			var want merkle.Hash
			for id, h := range leaves {
				if item.Covers(key, id) {
					want = want.Add(h)
				}
			}
			got, err := merkle.NodeHash(ctx, m, key)
			require.NoError(t, err)
			require.Equal(t, want, got, "%v %q", cfg, key)
			// and it is the hash stored on the edge into key
			if parent, ok := cfg.ParentOf(key); ok && !want.IsZero() {
				kids, err := m.Children(ctx, parent)
				require.NoError(t, err)
				i := slices.IndexFunc(kids, func(e merkle.Entry) bool { return e.Key == key })
				require.GreaterOrEqual(t, i, 0)
				require.Equal(t, want, kids[i].Hash)
				sum, err := merkle.NodeHash(ctx, m, parent)
				require.NoError(t, err)
				if merkle.IsBucket(parent) {
					require.Equal(t, merkle.Sum(kids), sum)
				}
			}
		}
	}
}

func TestRootOfAndBuild(t *testing.T) {
	t.Parallel()
	leaves := map[string]merkle.Hash{"a": merkle.LeafOf("a", 1, nil), "b.c": merkle.LeafOf("b.c", 1, nil), "z": merkle.Zero}
	require.Equal(t, leaves["a"].Add(leaves["b.c"]), merkle.RootOf(leaves))
	for _, cfg := range allConfigs {
		u := cfg.Build(leaves)
		require.Len(t, u.Leaves, 2, "zero leaves are absent")
		root, err := buildMem(t, cfg, leaves).Root(t.Context())
		require.NoError(t, err)
		require.Equal(t, merkle.RootOf(leaves), root)
	}
}
