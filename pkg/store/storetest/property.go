package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// testProperty: whatever the versions, duplicates, deletes, batching and
// order, the table holds exactly the LWW winner per id and the SQL root is
// the root rebuilt from scratch. Each iteration writes under its own id
// prefix in one store (opening a database per iteration would dominate the
// run), and checks the whole table's tree.
func testProperty(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	iter := 0
	rapid.Check(t, func(rt *rapid.T) {
		iter++
		before, err := b.Root(context.Background())
		require.NoError(rt, err)
		prefix := fmt.Sprintf("r%d.", iter)
		ids := []string{"a", "a.b", "a.b.c", "a.bc", "b", "b.x_", "b.x%"}
		n := rapid.IntRange(1, 40).Draw(rt, "n")
		var seq uint64 = 1000
		ws := make([]store.Write, n)
		for i := range ws {
			seq += uint64(rapid.IntRange(1, 3).Draw(rt, "gap"))
			id := prefix + rapid.SampledFrom(ids).Draw(rt, "id")
			v := rapid.Uint64Range(0, 4).Draw(rt, "version")
			if rapid.IntRange(0, 4).Draw(rt, "op") == 0 {
				ws[i] = del(seq, id, v)
			} else {
				ws[i] = put(seq, id, v, rapid.SampledFrom([]string{"", "x", "y", "zz"}).Draw(rt, "payload"))
			}
		}
		want := winners(ws)
		// Random order, random batching, some writes applied twice.
		order := rapid.Permutation(ws).Draw(rt, "order")
		for i := 0; i < len(order); {
			k := rapid.IntRange(1, len(order)-i).Draw(rt, "batch")
			batch := order[i : i+k]
			if rapid.Bool().Draw(rt, "redeliver") {
				batch = append(append([]store.Write{}, batch...), batch[0])
			}
			_, err := b.ApplyBatch(context.Background(), batch)
			require.NoError(rt, err)
			i += k
		}
		requireTable(rt, b, prefix, want)
		requireRoot(rt, b, prefix, before)
	})
	RequireConsistent(t, b, defaultConfig().Tree)
}

// requireRoot checks the committed root against the root before the
// iteration plus the live leaves under prefix recomputed from the table
// (only rows under prefix changed; RequireConsistent checks every edge at
// the end).
func requireRoot(t T, b store.Backend, prefix string, before merkle.Hash) {
	t.Helper()
	sum := before
	for _, it := range rowsUnder(t, b, prefix) {
		if !it.Deleted {
			sum = sum.Add(merkle.LeafOf(it.ID, it.Version, it.Payload))
		}
	}
	root, err := b.Root(context.Background())
	require.NoError(t, err)
	require.Equal(t, sum, root, "root")
}
