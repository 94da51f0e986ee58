package reconciler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
)

func TestRepairFillsFlushedRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sql, cache := newSQL(t), newCache(t)
	fill(t, sql, "flush", 700)
	(&writes{}).put("flush", 1, "parent").put("other.a.b", 3, "x").del("flush.0000001", 9).apply(t, sql)
	ch := testChecker(t, sql, cache)

	v, err := ch.Verify(ctx, "", false)
	require.NoError(t, err)
	require.False(t, v.InSync)
	require.NotEmpty(t, v.Differences)

	r, err := ch.Repair(ctx, "", false)
	require.NoError(t, err)
	require.True(t, r.InSync)
	require.Equal(t, 701, r.BulkCopied, "700 - 1 deleted + 2")
	requireInSync(t, sql, cache)

	v, err = ch.Verify(ctx, "", true)
	require.NoError(t, err)
	require.True(t, v.InSync, "%+v", v)
	require.Equal(t, 701, v.DeepChecked)
}

// TestRepairOnlyDifferingBranches alters k items among n on each side and
// checks that the repair finds exactly them, reading no more merkle nodes
// than the diff's bound (merkle.Diff: (L+2)·(1+k·d) per side).
func TestRepairOnlyDifferingBranches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sql, cache := newSQL(t), newCache(t)
	const n = 3000
	fill(t, sql, "k", n)
	ch := testChecker(t, sql, cache)
	_, err := ch.Repair(ctx, "", false)
	require.NoError(t, err)
	requireInSync(t, sql, cache)

	// Redis side: 3 removed, 2 stale-newer (forced), SQL side: 3 updated, 2 deleted.
	id := func(i int) string { return fmt.Sprintf("k.%07d", i) }
	_, err = cache.DeleteMany(ctx, []rediscache.Tombstone{{ID: id(10), Version: 1}, {ID: id(20), Version: 1}, {ID: id(30), Version: 1}})
	require.NoError(t, err)
	_, err = cache.PutMany(ctx, []rediscache.Entry{{ID: id(40), Version: 7, Payload: []byte("bogus")}, {ID: id(50), Version: 1, Payload: winningTie("payload-50")}})
	require.NoError(t, err)
	(&writes{}).put(id(60), 2, "new").put(id(70), 2, "new").put(id(80), 2, "new").del(id(90), 2).del(id(100), 2).apply(t, sql)
	want := []string{id(10), id(20), id(30), id(40), id(50), id(60), id(70), id(80), id(90), id(100)}
	const k = 10

	v, err := ch.Verify(ctx, "", false)
	require.NoError(t, err)
	require.ElementsMatch(t, want, v.Differences)

	r, err := ch.Repair(ctx, "", false)
	require.NoError(t, err)
	require.True(t, r.InSync)
	require.ElementsMatch(t, want, r.Differences)
	// 40 and 50 hold what SQL's version cannot overwrite: forced.
	require.Equal(t, RepairCounts{Put: 6, Deleted: 2, Forced: 2}, r.Repaired)
	requireInSync(t, sql, cache)

	// Two diff passes (the second finds nothing). Ids have d = 2 segments.
	cfg := merkle.DefaultConfig
	bound := (cfg.Levels + 2) * (1 + k*2)
	require.Equal(t, 2, r.Passes)
	require.LessOrEqual(t, r.NodeReads.SQL, bound+1, "sql node reads")
	require.LessOrEqual(t, r.NodeReads.Redis, bound+1, "redis node reads")
	t.Logf("k=%d n=%d node reads sql=%d redis=%d (bound %d per side per pass)", k, n, r.NodeReads.SQL, r.NodeReads.Redis, bound)
}

func TestDeepVerifyFindsCorruptValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sql := newSQL(t)
	cache, client, prefix := newCacheClient(t)
	fill(t, sql, "deep", 50)
	ch := testChecker(t, sql, cache)
	_, err := ch.Repair(ctx, "", false)
	require.NoError(t, err)

	// Corrupt one payload under an intact leaf: the trees cannot see it.
	require.NoError(t, client.HSet(ctx, prefix+"item:deep.0000007", "payload", "garbage").Err())
	v, err := ch.Verify(ctx, "", false)
	require.NoError(t, err)
	require.True(t, v.InSync)

	v, err = ch.Verify(ctx, "deep", true)
	require.NoError(t, err)
	require.False(t, v.InSync)
	require.Equal(t, []string{"deep.0000007"}, v.Differences)
	require.Equal(t, 1, v.DeepMismatches)

	r, err := ch.Repair(ctx, "", true)
	require.NoError(t, err)
	require.Equal(t, 1, r.Repaired.Forced)
	e, ok, err := cache.Get(ctx, "deep.0000007")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "payload-7", string(e.Payload))
	v, err = ch.Verify(ctx, "", true)
	require.NoError(t, err)
	require.True(t, v.InSync)
	requireInSync(t, sql, cache)
}

// winningTie returns a payload whose SHA-256 beats SHA-256(p).
func winningTie(p string) []byte {
	want := sha256.Sum256([]byte(p))
	for i := 0; ; i++ {
		c := []byte(fmt.Sprintf("tie-%d", i))
		got := sha256.Sum256(c)
		if bytes.Compare(got[:], want[:]) > 0 {
			return c
		}
	}
}
