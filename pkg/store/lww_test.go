package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/store"
)

func genWrite(t *rapid.T, label string) store.Write {
	w := store.Write{
		Seq:     rapid.Uint64Range(1, 5).Draw(t, label+"seq"),
		ID:      "x",
		Op:      rapid.SampledFrom([]store.Op{store.OpPut, store.OpDelete}).Draw(t, label+"op"),
		Version: rapid.Uint64Range(0, 3).Draw(t, label+"version"),
	}
	if w.Op == store.OpPut {
		w.Payload = []byte(rapid.SampledFrom([]string{"", "a", "b", "c"}).Draw(t, label+"payload"))
	}
	return w
}

// Wins is a strict total order on distinct stamps: irreflexive,
// antisymmetric, and exactly one of two distinct stamps wins.
func TestWinsIsStrictTotalOrder(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := store.StampOf(genWrite(t, "a")), store.StampOf(genWrite(t, "b"))
		require.False(t, store.Wins(a, a))
		if a == b {
			require.False(t, store.Wins(a, b))
			return
		}
		require.NotEqual(t, store.Wins(a, b), store.Wins(b, a), "%+v vs %+v", a, b)
	})
}

// Folding writes with Wins gives the same winner in every order.
func TestWinsConvergesInAnyOrder(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		ws := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) store.Write { return genWrite(t, "") }), 1, 8).Draw(t, "writes")
		fold := func(ws []store.Write) store.Stamp {
			cur := store.StampOf(ws[0])
			for _, w := range ws[1:] {
				if s := store.StampOf(w); store.Wins(s, cur) {
					cur = s
				}
			}
			return cur
		}
		perm := rapid.Permutation(ws).Draw(t, "perm")
		require.Equal(t, fold(ws), fold(perm))
	})
}

func TestWinsRules(t *testing.T) {
	t.Parallel()
	put := func(v uint64, p string) store.Stamp {
		return store.StampOf(store.Write{Op: store.OpPut, Version: v, Payload: []byte(p)})
	}
	del := func(v uint64) store.Stamp { return store.StampOf(store.Write{Op: store.OpDelete, Version: v}) }
	require.True(t, store.Wins(put(2, "a"), put(1, "b")))
	require.True(t, store.Wins(put(2, "a"), del(1)))
	require.True(t, store.Wins(del(2), put(1, "a")))
	require.True(t, store.Wins(del(1), put(1, "a")))
	require.False(t, store.Wins(put(1, "a"), del(1)))
	require.False(t, store.Wins(del(1), del(1)))
	require.Equal(t, uint64(7), store.StampOf(store.Write{Seq: 7, Op: store.OpPut}).Version, "version 0 takes the seq")
	require.Equal(t, store.EmptySum, del(3).PayloadSum)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	err := store.Unavailable(store.ErrNotFound)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Nil(t, store.Unavailable(nil))
	require.Equal(t, store.ErrUnavailable, store.Unavailable(store.ErrUnavailable))
	re := &store.RowError{Index: 3, Err: store.ErrNotFound}
	require.ErrorIs(t, re, store.ErrNotFound)
	require.Contains(t, re.Error(), "row 3")
	require.Contains(t, (&store.RowError{Index: -1, Err: store.ErrNotFound}).Error(), "a row of the batch")
}
