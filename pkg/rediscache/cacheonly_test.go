package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

// TestRoutes covers the durable and cache routes (docs/query.md) on one
// Redis prefix (each sub-test under a sub-prefix of its own: a redistest
// prefix costs a keyspace scan at cleanup).
func TestRoutes(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.Client(t)
	sub := func(t *testing.T, name string) *rediscache.Cache {
		c, err := rediscache.New(client, rediscache.Config{Prefix: prefix + name + ":", Tree: merkle.DefaultConfig})
		require.NoError(t, err)
		return c
	}
	t.Run("DurableKeepsOnlyTheGhost", func(t *testing.T) {
		t.Parallel()
		testDurable(t, sub(t, "durable"), client, prefix+"durable:")
	})
	t.Run("CacheOnlyValues", func(t *testing.T) {
		t.Parallel()
		testCacheOnly(t, sub(t, "cache"), client, prefix+"cache:")
	})
}

func durable(id string, v uint64, payload string) rediscache.Entry {
	e := entry(id, v, payload)
	e.Durable = true
	return e
}

func requireTree(t *testing.T, c *rediscache.Cache, leaves map[string]merkle.Hash) {
	t.Helper()
	requireSameTree(t, reference(t, merkle.DefaultConfig, leaves), c.Tree())
}

func testDurable(t *testing.T, c *rediscache.Cache, client *redis.Client, prefix string) {
	ctx := context.Background()
	ghost := func(id string) bool {
		n, err := client.Exists(ctx, prefix+"ghost:"+id).Result()
		require.NoError(t, err)
		return n == 1
	}
	require.Equal(t, []bool{true, true}, put(t, c, durable("d.a", 3, "x"), entry("d.b", 1, "y")))
	_, ok, err := c.Get(ctx, "d.a")
	require.NoError(t, err)
	require.False(t, ok, "a durable item is never readable from Redis")
	require.True(t, ghost("d.a"))
	leaves := map[string]merkle.Hash{"d.a": merkle.LeafOf("d.a", 3, []byte("x")), "d.b": merkle.LeafOf("d.b", 1, []byte("y"))}
	requireTree(t, c, leaves)
	st, err := c.Stamps(ctx, []string{"d.a"})
	require.NoError(t, err)
	require.Equal(t, uint64(3), st["d.a"].Version)

	// The guard still applies: an older durable write is refused.
	require.Equal(t, []bool{false}, put(t, c, durable("d.a", 2, "old")))
	// Durable -> default -> durable, at rising versions.
	require.Equal(t, []bool{true}, put(t, c, entry("d.a", 4, "visible")))
	e, ok, err := c.Get(ctx, "d.a")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "visible", string(e.Payload))
	require.False(t, ghost("d.a"))
	leaves["d.a"] = merkle.LeafOf("d.a", 4, []byte("visible"))
	requireTree(t, c, leaves)
	require.Equal(t, []bool{true}, put(t, c, durable("d.b", 2, "hidden")))
	_, ok, err = c.Get(ctx, "d.b")
	require.NoError(t, err)
	require.False(t, ok)
	leaves["d.b"] = merkle.LeafOf("d.b", 2, []byte("hidden"))
	requireTree(t, c, leaves)

	// A tombstone removes the ghost and the leaf.
	removed, err := c.DeleteMany(ctx, []rediscache.Tombstone{{ID: "d.b", Version: 2}})
	require.NoError(t, err)
	require.Equal(t, []bool{true}, removed)
	require.False(t, ghost("d.b"))
	delete(leaves, "d.b")
	requireTree(t, c, leaves)
}

func cacheOnly(id string, v uint64, payload string, ttl time.Duration) rediscache.Entry {
	e := entry(id, v, payload)
	e.TTL = ttl
	return e
}

func testCacheOnly(t *testing.T, c *rediscache.Cache, client *redis.Client, prefix string) {
	ctx := context.Background()
	pc := func(e rediscache.Entry) rediscache.CacheOnlyResult {
		t.Helper()
		r, err := c.PutCacheOnly(ctx, e)
		require.NoError(t, err)
		return r
	}
	get := func(id string) (rediscache.Entry, bool) {
		t.Helper()
		e, ok, err := c.Get(ctx, id)
		require.NoError(t, err)
		return e, ok
	}

	// On a fresh id: visible, expiring, not in the tree.
	require.Equal(t, rediscache.CacheOnlyResult{Applied: true, Version: 1}, pc(cacheOnly("s.1", 0, "a", time.Minute)))
	e, ok := get("s.1")
	require.True(t, ok)
	require.True(t, e.CacheOnly)
	require.Equal(t, "a", string(e.Payload))
	ttl, err := client.TTL(ctx, prefix+"item:s.1").Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 50*time.Second)
	requireTree(t, c, map[string]merkle.Hash{})
	// Unversioned writes always apply (stored + 1); versioned ones are guarded.
	require.Equal(t, rediscache.CacheOnlyResult{Applied: true, Version: 2}, pc(cacheOnly("s.1", 0, "b", time.Minute)))
	require.Equal(t, rediscache.CacheOnlyResult{Applied: false, Version: 2}, pc(cacheOnly("s.1", 1, "c", time.Minute)))
	require.Equal(t, rediscache.CacheOnlyResult{Applied: true, Version: 9}, pc(cacheOnly("s.1", 9, "d", time.Minute)))
	_, err = c.PutCacheOnly(ctx, cacheOnly("s.1", 0, "x", 0))
	require.Error(t, err, "a TTL is required")
	_, err = c.PutCacheOnly(ctx, cacheOnly("s.1", item.MaxVersion, "x", time.Second))
	require.NoError(t, err)
	r := pc(cacheOnly("s.1", 0, "overflow", time.Second))
	require.False(t, r.Applied, "no version above 2^63-1")

	// Over an item the tree counts: the tree keeps counting it.
	require.Equal(t, []bool{true}, put(t, c, entry("t.1", 5, "tree")))
	leaves := map[string]merkle.Hash{"t.1": merkle.LeafOf("t.1", 5, []byte("tree"))}
	require.Equal(t, rediscache.CacheOnlyResult{Applied: true, Version: 6}, pc(cacheOnly("t.1", 0, "cached", time.Minute)))
	e, _ = get("t.1")
	require.True(t, e.CacheOnly)
	require.Equal(t, "cached", string(e.Payload))
	requireTree(t, c, leaves)
	// A tree write that beats it replaces it.
	require.Equal(t, []bool{true}, put(t, c, entry("t.1", 7, "tree7")))
	e, _ = get("t.1")
	require.False(t, e.CacheOnly)
	require.Equal(t, uint64(7), e.Version)
	leaves["t.1"] = merkle.LeafOf("t.1", 7, []byte("tree7"))
	requireTree(t, c, leaves)
	// A tree write it beats is counted through the ghost, the value stays.
	pc(cacheOnly("t.1", 100, "newer", time.Minute))
	require.Equal(t, []bool{true}, put(t, c, entry("t.1", 8, "tree8")))
	e, _ = get("t.1")
	require.True(t, e.CacheOnly)
	require.Equal(t, uint64(100), e.Version)
	leaves["t.1"] = merkle.LeafOf("t.1", 8, []byte("tree8"))
	requireTree(t, c, leaves)
	// An older tombstone removes the tree's stamp only.
	removed, err := c.DeleteMany(ctx, []rediscache.Tombstone{{ID: "t.1", Version: 9}})
	require.NoError(t, err)
	require.Equal(t, []bool{true}, removed)
	_, ok = get("t.1")
	require.True(t, ok)
	requireTree(t, c, map[string]merkle.Hash{})
	// A newer tombstone removes the cache-only value too.
	removed, err = c.DeleteMany(ctx, []rediscache.Tombstone{{ID: "t.1", Version: 100}})
	require.NoError(t, err)
	require.Equal(t, []bool{false}, removed)
	_, ok = get("t.1")
	require.False(t, ok)

	// DeleteCacheOnly leaves items the tree counts alone.
	put(t, c, entry("t.2", 1, "tree"))
	r, err = c.DeleteCacheOnly(ctx, "t.2", 0)
	require.NoError(t, err)
	require.False(t, r.Applied)
	pc(cacheOnly("t.3", 4, "c", time.Minute))
	r, err = c.DeleteCacheOnly(ctx, "t.3", 3)
	require.NoError(t, err)
	require.Equal(t, rediscache.CacheOnlyResult{Applied: false, Version: 4}, r)
	r, err = c.DeleteCacheOnly(ctx, "t.3", 0)
	require.NoError(t, err)
	require.Equal(t, rediscache.CacheOnlyResult{Applied: true, Version: 4}, r)
	r, err = c.DeleteCacheOnly(ctx, "t.3", 0)
	require.NoError(t, err)
	require.False(t, r.Applied)
	requireTree(t, c, map[string]merkle.Hash{"t.2": merkle.LeafOf("t.2", 1, []byte("tree"))})

	// An expired cache-only value over a tree item leaves the tree intact.
	put(t, c, entry("t.4", 1, "tree"))
	pc(cacheOnly("t.4", 0, "brief", time.Second))
	require.Eventually(t, func() bool { _, ok := get("t.4"); return !ok }, 5*time.Second, 50*time.Millisecond)
	requireTree(t, c, map[string]merkle.Hash{
		"t.2": merkle.LeafOf("t.2", 1, []byte("tree")), "t.4": merkle.LeafOf("t.4", 1, []byte("tree"))})
	// and the next tree write finds the stamp in the ghost.
	put(t, c, entry("t.4", 2, "tree2"))
	requireTree(t, c, map[string]merkle.Hash{
		"t.2": merkle.LeafOf("t.2", 1, []byte("tree")), "t.4": merkle.LeafOf("t.4", 2, []byte("tree2"))})
}
