package merkle_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/merkle/merkletest"
)

// A write as DESIGN.md §1 defines it: a versioned put or tombstone.
type write struct {
	ID      string
	Version uint64
	Del     bool
	Payload []byte
}

// beats is last-writer-wins: the higher version wins; at equal versions a
// tombstone beats a put, and between puts the greater SHA-256(payload) wins.
// A write does not beat itself (applying it twice is a no-op).
func (w write) beats(o write) bool {
	if w.Version != o.Version {
		return w.Version > o.Version
	}
	if w.Del != o.Del {
		return w.Del
	}
	if w.Del {
		return false
	}
	a, b := sha256.Sum256(w.Payload), sha256.Sum256(o.Payload)
	return bytes.Compare(a[:], b[:]) > 0
}

func (w write) leaf() merkle.Hash {
	if w.Del {
		return merkle.Zero
	}
	return merkle.LeafOf(w.ID, w.Version, w.Payload)
}

// lwwFinal is the reference model: the winner of every id, order-free, as
// the leaves of the live items.
func lwwFinal(writes []write) map[string]merkle.Hash {
	win := map[string]write{}
	for _, w := range writes {
		if cur, ok := win[w.ID]; !ok || w.beats(cur) {
			win[w.ID] = w
		}
	}
	out := map[string]merkle.Hash{}
	for id, w := range win {
		if !w.Del {
			out[id] = w.leaf()
		}
	}
	return out
}

// hierIDs are both leaves and internal nodes of each other.
var hierIDs = []string{"a", "a.b", "a.b.c", "a.c", "b", "b.x", "b.x.y", "c.a.b", "c.a", "ab"}

func genWrite(t *rapid.T) write {
	return write{
		ID:      rapid.SampledFrom(hierIDs).Draw(t, "id"),
		Version: rapid.Uint64Range(1, 4).Draw(t, "version"),
		Del:     rapid.Bool().Draw(t, "del"),
		Payload: []byte(rapid.SampledFrom([]string{"", "x", "y", `{"v":1}`}).Draw(t, "payload")),
	}
}

// TestLWWDeltasConverge: any writes, in any order and batching, applied the
// way a writer does (resolve each write against the stored winner, turn the
// batch's leaf changes into deltas, Apply) give the tree of the final item
// set built from scratch.
func TestLWWDeltasConverge(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := rapid.SampledFrom(allConfigs).Draw(t, "config")
		n := rapid.IntRange(1, 60).Draw(t, "n")
		writes := rapid.SliceOfN(rapid.Custom(genWrite), n, n).Draw(t, "writes")
		order := rapid.Permutation(writes).Draw(t, "order")
		chain := rapid.Bool().Draw(t, "chain") // one change per write instead of per id

		ctx := t.Context()
		st := merkle.NewMemStore()
		stored := map[string]write{} // the winner per id, tombstones included
		for len(order) > 0 {
			n := rapid.IntRange(1, len(order)).Draw(t, "batch")
			batch := order[:n]
			order = order[n:]
			var changes []merkle.Change
			before := map[string]merkle.Hash{}
			for _, w := range batch {
				cur, ok := stored[w.ID]
				if ok && !w.beats(cur) {
					continue
				}
				old := merkle.Zero
				if ok {
					old = cur.leaf()
				}
				stored[w.ID] = w
				if chain {
					changes = append(changes, merkle.Change{ID: w.ID, Old: old, New: w.leaf()})
				} else if _, seen := before[w.ID]; !seen {
					before[w.ID] = old
				}
			}
			for id, old := range before {
				changes = append(changes, merkle.Change{ID: id, Old: old, New: stored[id].leaf()})
			}
			require.NoError(t, st.Apply(ctx, cfg.Deltas(changes)))
		}
		final := lwwFinal(writes)
		root, err := st.Root(ctx)
		require.NoError(t, err)
		require.Equal(t, merkle.RootOf(final), root)
		want := merkle.NewMemStore()
		require.NoError(t, want.Apply(ctx, cfg.Build(final)))
		merkletest.RequireSameTree(t, ctx, want, st, hierIDs...)
	})
}

func TestLWWTieBreak(t *testing.T) {
	t.Parallel()
	put := func(v uint64, p string) write { return write{ID: "a", Version: v, Payload: []byte(p)} }
	del := write{ID: "a", Version: 2, Del: true}
	require.True(t, put(3, "x").beats(del))
	require.True(t, del.beats(put(2, "x")))
	require.False(t, put(2, "x").beats(del))
	require.False(t, put(2, "x").beats(put(2, "x")), "the same write twice is a no-op")
	x, y := put(2, "x"), put(2, "y")
	require.NotEqual(t, x.beats(y), y.beats(x), "equal-version puts resolve one way")
}

// TestDeltasChainedChangesOfOneID pins the fix for batches that carry several
// changes of one id: Leaves holds the last one, once. Before, Leaves kept
// every change and sorted them with an unstable sort, so a store could end
// with an older leaf (39 of 100 ids below did).
func TestDeltasChainedChangesOfOneID(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	var changes []merkle.Change
	final := map[string]merkle.Hash{}
	for i := range 100 {
		id := fmt.Sprint("id", i)
		h1, h2, h3 := merkle.LeafOf(id, 1, nil), merkle.LeafOf(id, 2, nil), merkle.LeafOf(id, 3, nil)
		changes = append(changes, merkle.Change{ID: id, New: h1}, merkle.Change{ID: id, Old: h1, New: h2},
			merkle.Change{ID: id, Old: h2, New: h3})
		final[id] = h3
	}
	u := merkle.DefaultConfig.Deltas(changes)
	require.Len(t, u.Leaves, 100)
	st := merkle.NewMemStore()
	require.NoError(t, st.Apply(ctx, u))
	want := merkle.NewMemStore()
	require.NoError(t, want.Apply(ctx, merkle.DefaultConfig.Build(final)))
	merkletest.RequireSameTree(t, ctx, want, st)

	h1 := merkle.LeafOf("a", 1, nil)
	u = merkle.DefaultConfig.Deltas([]merkle.Change{{ID: "a", New: h1}, {ID: "a", Old: h1}})
	require.Empty(t, u.Edges, "a net-zero id leaves no edge")
	require.Equal(t, []merkle.Leaf{{ID: "a"}}, u.Leaves)
}
