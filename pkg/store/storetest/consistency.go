package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/merkle/merkletest"
	"github.com/syncline/syncline/pkg/store"
)

// T is the part of testing.TB (and *rapid.T) the helpers use.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	FailNow()
}

// All returns every row of b (tombstones included), in id order.
func All(t T, b store.Backend) []store.Item {
	t.Helper()
	ctx := context.Background()
	var out []store.Item
	after := ""
	for {
		page, err := b.Scan(ctx, after, 1000)
		require.NoError(t, err)
		out = append(out, page...)
		if len(page) < 1000 {
			return out
		}
		after = page[len(page)-1].ID
	}
}

// rowsUnder returns the rows (tombstones included) whose id starts with
// prefix, scanning only from the prefix on.
func rowsUnder(t T, b store.Backend, prefix string) []store.Item {
	t.Helper()
	if prefix == "" {
		return All(t, b)
	}
	var out []store.Item
	after := prefix[:len(prefix)-1] // every id with the prefix sorts after it
	for {
		page, err := b.Scan(context.Background(), after, 200)
		require.NoError(t, err)
		for _, it := range page {
			if it.ID >= prefix && !strings.HasPrefix(it.ID, prefix) {
				return out
			}
			if strings.HasPrefix(it.ID, prefix) {
				out = append(out, it)
			}
		}
		if len(page) < 200 {
			return out
		}
		after = page[len(page)-1].ID
	}
}

// RequireConsistent checks that b's merkle tree is the tree rebuilt from
// scratch from its table: every live row's leaf is LeafOf(id, version,
// payload), tombstones have no leaf and no payload, and Tree() holds exactly
// the edges, hashes and leaves that tree (Config cfg) Builds from the live
// rows; Root agrees. It returns the live leaves.
func RequireConsistent(t testing.TB, b store.Backend, cfg merkle.Config) map[string]merkle.Hash {
	t.Helper()
	ctx := context.Background()
	leaves := map[string]merkle.Hash{}
	var tombstones []string
	for _, it := range All(t, b) {
		if it.Deleted {
			require.True(t, it.Leaf.IsZero(), "tombstone %q has a leaf", it.ID)
			require.Empty(t, it.Payload, "tombstone %q has a payload", it.ID)
			tombstones = append(tombstones, it.ID)
			continue
		}
		require.Equal(t, merkle.LeafOf(it.ID, it.Version, it.Payload), it.Leaf, "leaf of %q", it.ID)
		leaves[it.ID] = it.Leaf
	}
	want := merkle.NewMemStore()
	require.NoError(t, want.Apply(ctx, cfg.Build(leaves)))
	merkletest.RequireSameTree(t, ctx, want, b.Tree(), tombstones...)
	root, err := b.Root(ctx)
	require.NoError(t, err)
	require.Equal(t, merkle.RootOf(leaves), root, "Root")
	return leaves
}
