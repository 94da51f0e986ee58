package rediscache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

// TestPutsConvergeInAnyOrder: puts applied in any order and any batching
// leave the LWW winners in Redis and the tree rebuilt from them.
func TestPutsConvergeInAnyOrder(t *testing.T) {
	t.Parallel()
	client, base := redistest.Client(t)
	ctx := context.Background()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		ids := []string{"a", "a.b", "a.b.c", "b.x", "c"}
		puts := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) rediscache.Entry {
			return entry(rapid.SampledFrom(ids).Draw(rt, "id"), rapid.Uint64Range(1, 4).Draw(rt, "v"),
				fmt.Sprint(rapid.IntRange(0, 3).Draw(rt, "p")))
		}), 1, 30).Draw(rt, "puts")
		perm := rapid.Permutation(puts).Draw(rt, "perm")
		chunk := rapid.IntRange(1, 8).Draw(rt, "chunk")

		want := map[string]rediscache.Entry{}
		for _, e := range puts {
			if w, ok := want[e.ID]; !ok || wins(e, w) {
				want[e.ID] = e
			}
		}
		leaves := map[string]merkle.Hash{}
		for id, e := range want {
			leaves[id] = merkle.LeafOf(id, e.Version, e.Payload)
		}
		ref := merkle.NewMemStore()
		require.NoError(rt, ref.Apply(ctx, merkle.DefaultConfig.Build(leaves)))

		for i, order := range [][]rediscache.Entry{puts, perm} {
			c, err := rediscache.New(client, rediscache.Config{Prefix: fmt.Sprintf("%s%d.%d:", base, run, i), ChunkSize: chunk})
			require.NoError(rt, err)
			_, err = c.PutMany(ctx, order)
			require.NoError(rt, err)
			for id, w := range want {
				got, ok, err := c.Get(ctx, id)
				require.NoError(rt, err)
				require.True(rt, ok)
				require.Equal(rt, w.Version, got.Version, id)
				require.Equal(rt, string(w.Payload), string(got.Payload), id)
			}
			requireSameTree(t, ref, c.Tree())
		}
	})
}

func wins(a, b rediscache.Entry) bool {
	if a.Version != b.Version {
		return a.Version > b.Version
	}
	sa, sb := sha256.Sum256(a.Payload), sha256.Sum256(b.Payload)
	return bytes.Compare(sa[:], sb[:]) > 0
}
