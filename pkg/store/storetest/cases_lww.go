package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/store"
)

func testLWWVersions(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	res := apply(t, b, put(1, "a", 5, "v5"))
	require.Equal(t, []string{"a"}, changedIDs(res))
	require.False(t, res.Root.IsZero())

	res = apply(t, b, put(2, "a", 4, "v4"))
	require.Empty(t, res.Changes, "a lower version is a no-op")
	requirePayload(t, b, "a", 5, "v5")

	res = apply(t, b, put(3, "a", 5, "v5"))
	require.Empty(t, res.Changes, "the same write twice is a no-op")

	res = apply(t, b, put(4, "a", 9, "v9"))
	require.Equal(t, []string{"a"}, changedIDs(res))
	require.Equal(t, uint64(9), res.Changes[0].Version)
	require.Equal(t, uint64(4), res.Changes[0].Seq)
	requirePayload(t, b, "a", 9, "v9")

	res = apply(t, b, del(5, "a", 8))
	require.Empty(t, res.Changes, "an older delete is a no-op")
	requirePayload(t, b, "a", 9, "v9")

	res = apply(t, b, del(6, "a", 10))
	require.Len(t, res.Changes, 1)
	require.True(t, res.Changes[0].Deleted)
	require.True(t, res.Changes[0].Leaf.IsZero())
	requireAbsent(t, b, "a")
	require.True(t, res.Root.IsZero(), "the tree is empty again")

	res = apply(t, b, put(7, "a", 10, "late"))
	require.Empty(t, res.Changes, "a put at the tombstone's version loses")
	res = apply(t, b, put(8, "a", 11, "back"))
	require.Len(t, res.Changes, 1)
	requirePayload(t, b, "a", 11, "back")
	RequireConsistent(t, b, defaultConfig().Tree)
}

// ordered returns two payloads p, q with SHA-256(p) < SHA-256(q).
func ordered(p, q string) (lo, hi string) {
	sp, sq := sha256.Sum256([]byte(p)), sha256.Sum256([]byte(q))
	if bytes.Compare(sp[:], sq[:]) < 0 {
		return p, q
	}
	return q, p
}

func testLWWTieBreaks(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	lo, hi := ordered("alpha", "beta")

	// Between puts of one version the greater SHA-256 wins, in any order.
	apply(t, b, put(1, "x", 3, lo))
	res := apply(t, b, put(2, "x", 3, hi))
	require.Len(t, res.Changes, 1)
	apply(t, b, put(3, "y", 3, hi))
	res = apply(t, b, put(4, "y", 3, lo))
	require.Empty(t, res.Changes)
	requirePayload(t, b, "x", 3, hi)
	requirePayload(t, b, "y", 3, hi)

	// A tombstone beats a put of its version; a put never beats a tombstone
	// of its version; two tombstones of one version are equal.
	res = apply(t, b, del(5, "x", 3))
	require.Len(t, res.Changes, 1)
	requireAbsent(t, b, "x")
	res = apply(t, b, put(6, "x", 3, hi+"more"))
	require.Empty(t, res.Changes)
	res = apply(t, b, del(7, "x", 3))
	require.Empty(t, res.Changes)
	requireAbsent(t, b, "x")

	// Wins itself.
	sLo, sHi := store.StampOf(put(0, "z", 1, lo)), store.StampOf(put(0, "z", 1, hi))
	require.True(t, store.Wins(sHi, sLo))
	require.False(t, store.Wins(sLo, sHi))
	require.False(t, store.Wins(sHi, sHi))
	tomb := store.StampOf(del(0, "z", 1))
	require.True(t, store.Wins(tomb, sHi))
	require.False(t, store.Wins(sHi, tomb))
	require.False(t, store.Wins(tomb, tomb))
	require.True(t, store.Wins(store.StampOf(put(0, "z", 2, "")), tomb))
	RequireConsistent(t, b, defaultConfig().Tree)
}

func testUnversioned(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	res := apply(t, b, put(100, "u", 0, "first"))
	require.Equal(t, uint64(100), res.Changes[0].Version)
	res = apply(t, b, put(90, "u", 0, "older seq"))
	require.Empty(t, res.Changes, "an unversioned write acknowledged earlier loses")
	apply(t, b, put(101, "u", 0, "second"))
	requirePayload(t, b, "u", 101, "second")
	res = apply(t, b, put(102, "u", 50, "explicit lower"))
	require.Empty(t, res.Changes)
	it, ok := row(t, b, "u")
	require.True(t, ok)
	require.Equal(t, uint64(101), it.Seq)
}

func testTombstoneAbsent(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	res := apply(t, b, del(1, "ghost", 7))
	require.Len(t, res.Changes, 1, "a tombstone for an absent id is stored")
	require.True(t, res.Root.IsZero())
	it, ok := row(t, b, "ghost")
	require.True(t, ok)
	require.True(t, it.Deleted)
	require.Equal(t, uint64(7), it.Version)
	res = apply(t, b, put(2, "ghost", 6, "late older put"))
	require.Empty(t, res.Changes, "a late, older put cannot resurrect")
	requireAbsent(t, b, "ghost")
	n, err := b.Count(context.Background(), store.Query{})
	require.NoError(t, err)
	require.Zero(t, n, "tombstones are not counted")
	RequireConsistent(t, b, defaultConfig().Tree)
}

func testBatchDuplicates(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	lo, hi := ordered("one", "two")
	apply(t, b, put(1, "pre", 5, "stored"))
	res := apply(t, b,
		put(10, "d", 2, "v2"),
		put(11, "d", 7, lo),
		put(12, "c", 1, "c1"),
		put(13, "d", 7, hi),
		put(14, "d", 3, "v3"),
		del(15, "c", 1),
		put(16, "pre", 4, "older than stored"),
		put(17, "b", 1, "b"),
		put(18, "b", 1, "b"),
	)
	require.Equal(t, []string{"b", "c", "d"}, changedIDs(res), "sorted, only winners, only changes")
	requirePayload(t, b, "d", 7, hi)
	requireAbsent(t, b, "c")
	requirePayload(t, b, "pre", 5, "stored")
	d := res.Changes[2]
	require.Equal(t, uint64(13), d.Seq)
	RequireConsistent(t, b, defaultConfig().Tree)

	// Reapplying the whole batch changes nothing.
	res2 := apply(t, b,
		put(10, "d", 2, "v2"), put(11, "d", 7, lo), put(12, "c", 1, "c1"), put(13, "d", 7, hi),
		put(14, "d", 3, "v3"), del(15, "c", 1), put(17, "b", 1, "b"))
	require.Empty(t, res2.Changes)
	require.Equal(t, res.Root, res2.Root)
}

func testRowErrors(t *testing.T, open Open) {
	b := open(t, defaultConfig())
	ctx := context.Background()
	bad := []store.Write{
		{Seq: 1, ID: "", Op: store.OpPut, Version: 1},
		{Seq: 1, ID: "a..b", Op: store.OpPut, Version: 1},
		{Seq: 1, ID: "a>b", Op: store.OpPut, Version: 1},
		{Seq: 1, ID: "ok", Op: 0, Version: 1},
		{Seq: 0, ID: "ok", Op: store.OpPut, Version: 0},
		{Seq: 1, ID: "ok", Op: store.OpPut, Version: 1 << 63},
		{Seq: 1, ID: "ok", Op: store.OpPut, Version: 1, State: "bad state"},
		{Seq: 1, ID: "ok", Op: store.OpPut, Version: 1, CacheTTL: -1},
	}
	for i, w := range bad {
		batch := []store.Write{put(1, "good.1", 1, "g"), w, put(2, "good.2", 1, "g")}
		_, err := b.ApplyBatch(ctx, batch)
		var rowErr *store.RowError
		require.ErrorAs(t, err, &rowErr, "case %d", i)
		require.Equal(t, 1, rowErr.Index, "case %d", i)
	}
	n, err := b.Count(ctx, store.Query{})
	require.NoError(t, err)
	require.Zero(t, n, "a rejected batch commits nothing")
	res, err := b.ApplyBatch(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, res.Changes)
}
