package plan_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

func TestPrepareDedupesAndSorts(t *testing.T) {
	t.Parallel()
	rows, err := plan.Prepare([]store.Write{
		{Seq: 1, ID: "b", Op: store.OpPut, Version: 1, Payload: []byte("x")},
		{Seq: 2, ID: "a", Op: store.OpPut, Payload: []byte("y")},
		{Seq: 3, ID: "b", Op: store.OpDelete, Version: 1, Payload: []byte("ignored")},
		{Seq: 4, ID: "b", Op: store.OpPut, Version: 1, Payload: []byte("z")},
	})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "a", rows[0].ID)
	require.Equal(t, uint64(2), rows[0].Version(), "version 0 takes the seq")
	require.Equal(t, merkle.LeafOf("a", 2, []byte("y")), rows[0].Leaf)
	require.Equal(t, "b", rows[1].ID)
	require.True(t, rows[1].Deleted(), "the tombstone wins at equal version")
	require.Equal(t, 2, rows[1].Index)
	require.Nil(t, rows[1].Payload)
	require.True(t, rows[1].Leaf.IsZero())
}

func TestPrepareRejectsWithIndex(t *testing.T) {
	t.Parallel()
	_, err := plan.Prepare([]store.Write{
		{Seq: 1, ID: "ok", Op: store.OpPut, Version: 1},
		{Seq: 2, ID: "bad id", Op: store.OpPut, Version: 1},
	})
	var re *store.RowError
	require.True(t, errors.As(err, &re))
	require.Equal(t, 1, re.Index)
}

func TestDecide(t *testing.T) {
	t.Parallel()
	rows, err := plan.Prepare([]store.Write{
		{Seq: 1, ID: "new", Op: store.OpPut, Version: 1, Payload: []byte("n")},
		{Seq: 2, ID: "older", Op: store.OpPut, Version: 1, Payload: []byte("o")},
		{Seq: 3, ID: "newer", Op: store.OpDelete, Version: 9},
	})
	require.NoError(t, err)
	oldLeaf := merkle.LeafOf("newer", 2, []byte("p"))
	existing := map[string]plan.Existing{
		"older": {Stamp: store.Stamp{Version: 5}},
		"newer": {Stamp: store.StampOf(store.Write{Op: store.OpPut, Version: 2, Payload: []byte("p")}), Leaf: oldLeaf},
	}
	winners, changes := plan.Decide(rows, existing)
	require.Equal(t, []string{"new", "newer"}, plan.IDs(winners))
	require.Equal(t, merkle.Change{ID: "newer", Old: oldLeaf}, changes[1])
	require.True(t, changes[0].Old.IsZero())
	out := plan.Changes(winners)
	require.True(t, out[1].Deleted)
	require.Equal(t, uint64(3), out[1].Seq)
}

func TestLanesRoundTrip(t *testing.T) {
	t.Parallel()
	h := merkle.LeafOf("x", 1, nil)
	l := plan.SplitLanes(h)
	for _, v := range l {
		require.GreaterOrEqual(t, v, int64(0))
		require.Less(t, v, int64(1)<<32)
	}
	require.Equal(t, h, plan.JoinLanes(l))
}
