package rediscache_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

func newCache(t *testing.T, tree merkle.Config) (*rediscache.Cache, *redis.Client, string) {
	t.Helper()
	client, prefix := redistest.Client(t)
	c, err := rediscache.New(client, rediscache.Config{Prefix: prefix, Tree: tree, ChunkSize: 7})
	require.NoError(t, err)
	return c, client, prefix
}

func put(t *testing.T, c *rediscache.Cache, es ...rediscache.Entry) []bool {
	t.Helper()
	applied, err := c.PutMany(context.Background(), es)
	require.NoError(t, err)
	return applied
}

func entry(id string, v uint64, payload string) rediscache.Entry {
	return rediscache.Entry{ID: id, Version: v, Payload: []byte(payload), ContentType: item.ContentTypeBinary}
}

// reference rebuilds the tree the Redis tree must equal from leaves.
func reference(t *testing.T, cfg merkle.Config, leaves map[string]merkle.Hash) *merkle.MemStore {
	t.Helper()
	m := merkle.NewMemStore()
	ch := make([]merkle.Change, 0, len(leaves))
	for id, l := range leaves {
		ch = append(ch, merkle.Change{ID: id, New: l})
	}
	require.NoError(t, m.Apply(context.Background(), cfg.Deltas(ch)))
	return m
}

// requireSameTree walks both trees completely and requires every edge and
// leaf to agree.
func requireSameTree(t *testing.T, want, got merkle.Reader) {
	t.Helper()
	ctx := context.Background()
	wr, err := want.Root(ctx)
	require.NoError(t, err)
	gr, err := got.Root(ctx)
	require.NoError(t, err)
	require.Equal(t, wr, gr, "root")
	var walk func(parent string)
	walk = func(parent string) {
		wk, err := want.Children(ctx, parent)
		require.NoError(t, err)
		gk, err := got.Children(ctx, parent)
		require.NoError(t, err)
		require.Equal(t, wk, gk, "children of %q", parent)
		for _, k := range wk {
			if !merkle.IsBucket(k.Key) {
				wl, wok, err := want.Leaf(ctx, k.Key)
				require.NoError(t, err)
				gl, gok, err := got.Leaf(ctx, k.Key)
				require.NoError(t, err)
				require.Equal(t, wok, gok, "leaf presence of %q", k.Key)
				require.Equal(t, wl, gl, "leaf of %q", k.Key)
			}
			walk(k.Key)
		}
	}
	walk("")
}

// stored returns the leaves of every item in Redis, recomputed from the
// stored values.
func stored(t *testing.T, c *rediscache.Cache) map[string]merkle.Hash {
	t.Helper()
	out := map[string]merkle.Hash{}
	_, err := c.ScanItems(context.Background(), "", func(es []rediscache.Entry) error {
		for _, e := range es {
			l := merkle.LeafOf(e.ID, e.Version, e.Payload)
			require.Equal(t, l, e.Leaf, "stored leaf of %s", e.ID)
			out[e.ID] = l
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestPutGetRoundTrip(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	e := rediscache.Entry{ID: "tenant.orders.4711", Version: 3, Payload: []byte(`{"a":1}`),
		ContentType: item.ContentTypeJSON, State: "open"}
	require.Equal(t, []bool{true}, put(t, c, e))
	got, ok, err := c.Get(ctx, e.ID)
	require.NoError(t, err)
	require.True(t, ok)
	e.Leaf = merkle.LeafOf(e.ID, e.Version, e.Payload)
	require.Equal(t, e, got)

	_, ok, err = c.Get(ctx, "tenant.orders.4712")
	require.NoError(t, err)
	require.False(t, ok)

	// A newer version without state drops the old state field.
	e2 := entry(e.ID, 4, "")
	require.Equal(t, []bool{true}, put(t, c, e2))
	got, ok, err = c.Get(ctx, e.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Empty(t, got.State)
	require.Empty(t, got.Payload)
	requireSameTree(t, reference(t, merkle.DefaultConfig, stored(t, c)), c.Tree())
}

func TestPutGuard(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	id := "a.b"
	require.Equal(t, []bool{true}, put(t, c, entry(id, 10, "ten")))
	require.Equal(t, []bool{false}, put(t, c, entry(id, 9, "nine")), "lower version")
	require.Equal(t, []bool{false}, put(t, c, entry(id, 10, "ten")), "identical")
	require.Equal(t, []bool{true}, put(t, c, entry(id, 11, "eleven")), "higher")
	// 9 < 10 < 11 as numbers, not as strings: "9" > "11" lexically.
	require.Equal(t, []bool{false}, put(t, c, entry(id, 9, "z")))
	got, _, err := c.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, uint64(11), got.Version)

	// Equal versions: the greater SHA-256(payload) wins, in either order.
	lo, hi := "x", "y"
	if sum(lo) > sum(hi) {
		lo, hi = hi, lo
	}
	require.Equal(t, []bool{true}, put(t, c, entry("t.1", 5, lo)))
	require.Equal(t, []bool{true}, put(t, c, entry("t.1", 5, hi)))
	require.Equal(t, []bool{true}, put(t, c, entry("t.2", 5, hi)))
	require.Equal(t, []bool{false}, put(t, c, entry("t.2", 5, lo)))
	for _, id := range []string{"t.1", "t.2"} {
		got, _, err := c.Get(ctx, id)
		require.NoError(t, err)
		require.Equal(t, hi, string(got.Payload), id)
	}

	// The largest version compares exactly (a double could not).
	const maxV = item.MaxVersion
	require.Equal(t, []bool{true}, put(t, c, entry("big", maxV-1, "a")))
	require.Equal(t, []bool{true}, put(t, c, entry("big", maxV, "b")))
	require.Equal(t, []bool{false}, put(t, c, entry("big", maxV-1, "c")))
	got, _, err = c.Get(ctx, "big")
	require.NoError(t, err)
	require.Equal(t, uint64(maxV), got.Version)

	requireSameTree(t, reference(t, merkle.DefaultConfig, stored(t, c)), c.Tree())
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return string(h[:]) }

func TestDeleteGuard(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	put(t, c, entry("d.1", 5, "p"), entry("d.2", 5, "q"), entry("d.3", 5, "r"))
	removed, err := c.DeleteMany(ctx, []rediscache.Tombstone{
		{ID: "d.1", Version: 4}, // older: no-op
		{ID: "d.2", Version: 5}, // equal: a tombstone beats a put
		{ID: "d.3", Version: 6},
		{ID: "d.4", Version: 6}, // absent
	})
	require.NoError(t, err)
	require.Equal(t, []bool{false, true, true, false}, removed)
	_, ok, err := c.Get(ctx, "d.1")
	require.NoError(t, err)
	require.True(t, ok)
	requireSameTree(t, reference(t, merkle.DefaultConfig, stored(t, c)), c.Tree())

	_, err = c.DeleteMany(ctx, []rediscache.Tombstone{{ID: "d.1", Version: 9}})
	require.NoError(t, err)
	root, err := c.Tree().Root(ctx)
	require.NoError(t, err)
	require.True(t, root.IsZero())
	kids, err := c.Tree().Children(ctx, "")
	require.NoError(t, err)
	require.Empty(t, kids, "zero edges are deleted")
}

func TestInvalidWritesRejected(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	_, err := c.PutMany(ctx, []rediscache.Entry{entry("a..b", 1, "x")})
	require.ErrorIs(t, err, item.ErrInvalidID)
	_, err = c.PutMany(ctx, []rediscache.Entry{entry("a", 0, "x")})
	require.ErrorIs(t, err, item.ErrInvalidVersion)
	_, err = c.DeleteMany(ctx, []rediscache.Tombstone{{ID: "a", Version: 1 << 63}})
	require.ErrorIs(t, err, item.ErrInvalidVersion)
}

// TestRandomOpsMatchReference puts and deletes random versions of a small
// id space, with both tree shapes, and checks the whole Redis tree against
// the tree rebuilt from the items Redis holds.
func TestRandomOpsMatchReference(t *testing.T) {
	t.Parallel()
	for _, cfg := range []merkle.Config{merkle.DefaultConfig, {Fanout: 256, Levels: 1}, {Fanout: 16, Levels: 0}} {
		t.Run(cfg.String(), func(t *testing.T) {
			t.Parallel()
			c, _, _ := newCache(t, cfg)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(1, uint64(cfg.Fanout+cfg.Levels)))
			ids := []string{"a", "a.b", "a.b.c", "a.c", "b", "b.x.y.z", "user.1", "user.2", "user.3", "user.4"}
			for round := 0; round < 20; round++ {
				var es []rediscache.Entry
				var ts []rediscache.Tombstone
				for range 15 {
					id := ids[rng.IntN(len(ids))]
					v := uint64(rng.IntN(8) + 1)
					if rng.IntN(4) == 0 {
						ts = append(ts, rediscache.Tombstone{ID: id, Version: v})
					} else {
						es = append(es, entry(id, v, fmt.Sprint(rng.IntN(3))))
					}
				}
				_, err := c.PutMany(ctx, es)
				require.NoError(t, err)
				_, err = c.DeleteMany(ctx, ts)
				require.NoError(t, err)
				requireSameTree(t, reference(t, cfg, stored(t, c)), c.Tree())
			}
		})
	}
}

// TestConcurrentPutsConverge races writers of different versions of the
// same ids: every id ends at its highest version, and the tree equals the
// one rebuilt from what Redis holds.
func TestConcurrentPutsConverge(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	const writers, ids, versions = 6, 40, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var es []rediscache.Entry
			for v := 1; v <= versions; v++ {
				for i := range ids {
					if rng.IntN(2) == 0 || v == versions && w == i%writers {
						es = append(es, entry(fmt.Sprintf("race.%d", i), uint64(v), fmt.Sprintf("w%d-v%d", w, v)))
					}
				}
			}
			rng.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
			if _, err := c.PutMany(ctx, es); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	have := stored(t, c)
	require.Len(t, have, ids)
	for i := range ids {
		e, ok, err := c.Get(ctx, fmt.Sprintf("race.%d", i))
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, uint64(versions), e.Version)
	}
	requireSameTree(t, reference(t, merkle.DefaultConfig, have), c.Tree())
}

func TestCacheTTLKeepsTreeDescribingWrites(t *testing.T) {
	t.Parallel()
	c, client, prefix := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	e := entry("ttl.a", 3, "short-lived")
	e.TTL = time.Second
	put(t, c, e, entry("ttl.b", 1, "kept"))
	want := map[string]merkle.Hash{
		"ttl.a": merkle.LeafOf("ttl.a", 3, e.Payload),
		"ttl.b": merkle.LeafOf("ttl.b", 1, []byte("kept")),
	}
	ref := reference(t, merkle.DefaultConfig, want)

	// Real expiry.
	require.Eventually(t, func() bool {
		n, err := client.Exists(ctx, prefix+"item:ttl.a").Result()
		return err == nil && n == 0
	}, 5*time.Second, 50*time.Millisecond)
	_, ok, err := c.Get(ctx, "ttl.a")
	require.NoError(t, err)
	require.False(t, ok, "expired item reads as absent")
	requireSameTree(t, ref, c.Tree())

	// Re-writing what was written is still a no-op; an older version too.
	require.Equal(t, []bool{false}, put(t, c, entry("ttl.a", 3, "short-lived")))
	require.Equal(t, []bool{false}, put(t, c, entry("ttl.a", 2, "older")))
	requireSameTree(t, ref, c.Tree())

	// A newer version without TTL replaces the ghost.
	require.Equal(t, []bool{true}, put(t, c, entry("ttl.a", 4, "durable")))
	n, err := client.Exists(ctx, prefix+"ghost:ttl.a").Result()
	require.NoError(t, err)
	require.Zero(t, n)
	requireSameTree(t, reference(t, merkle.DefaultConfig, stored(t, c)), c.Tree())

	// Deleting an expired item subtracts its leaf.
	e = entry("ttl.c", 1, "gone soon")
	e.TTL = time.Hour
	put(t, c, e)
	require.NoError(t, client.Del(ctx, prefix+"item:ttl.c").Err()) // as an expiry or a volatile eviction would
	removed, err := c.DeleteMany(ctx, []rediscache.Tombstone{{ID: "ttl.c", Version: 1}})
	require.NoError(t, err)
	require.Equal(t, []bool{true}, removed)
	requireSameTree(t, reference(t, merkle.DefaultConfig, stored(t, c)), c.Tree())
}

func TestScanItemsByPrefix(t *testing.T) {
	t.Parallel()
	c, _, _ := newCache(t, merkle.DefaultConfig)
	ctx := context.Background()
	var es []rediscache.Entry
	for i := range 30 {
		es = append(es, entry(fmt.Sprintf("s.%d", i), 1, "x"))
	}
	es = append(es, entry("sx.1", 1, "x"), entry("s", 1, "x"), entry("q[1]?", 1, "x"))
	put(t, c, es...)
	count := func(prefix string) int {
		n := 0
		st, err := c.ScanItems(ctx, prefix, func(b []rediscache.Entry) error {
			n += len(b)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, n, st.Keys)
		return n
	}
	require.Equal(t, 31, count("s"))
	require.Equal(t, 1, count("sx"))
	require.Equal(t, 1, count("q[1]?"))
	require.Equal(t, 33, count(""))
	stop := errors.New("stop")
	_, err := c.ScanItems(ctx, "", func([]rediscache.Entry) error { return stop })
	require.ErrorIs(t, err, stop)
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	c, err := rediscache.New(client, rediscache.Config{})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.PutMany(ctx, []rediscache.Entry{entry("a", 1, "x")})
	require.ErrorIs(t, err, rediscache.ErrUnavailable)
	var ue *rediscache.UnavailableError
	require.ErrorAs(t, err, &ue)
	_, _, err = c.Get(ctx, "a")
	require.ErrorIs(t, err, rediscache.ErrUnavailable)
	_, err = c.Tree().Root(ctx)
	require.ErrorIs(t, err, rediscache.ErrUnavailable)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Tree().Root(cctx)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, rediscache.ErrUnavailable)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, rediscache.Config{}.Validate())
	require.Error(t, rediscache.Config{Tree: merkle.Config{Fanout: 3}}.Validate())
	require.Error(t, rediscache.Config{ChunkSize: -1}.Validate())
	c, err := rediscache.New(nil, rediscache.Config{})
	require.NoError(t, err)
	require.Equal(t, rediscache.DefaultPrefix, c.Config().Prefix)
	require.Equal(t, merkle.DefaultConfig, c.Config().Tree)
}

func TestOpenAndRedact(t *testing.T) {
	t.Parallel()
	require.Error(t, rediscache.ClientConfig{}.Validate())
	require.Error(t, rediscache.ClientConfig{URL: "http://x"}.Validate())
	c, err := rediscache.Open(rediscache.ClientConfig{URL: redistest.URL(), ReadTimeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NotContains(t, rediscache.Redact("redis://u:secret@h:6379/0"), "secret")
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.Client(t)
	ctx := context.Background()
	a, err := rediscache.New(client, rediscache.Config{Prefix: prefix})
	require.NoError(t, err)
	require.NoError(t, a.CheckConfig(ctx))
	require.NoError(t, a.CheckConfig(ctx))
	b, err := rediscache.New(client, rediscache.Config{Prefix: prefix, Tree: merkle.Config{Fanout: 256, Levels: 1}})
	require.NoError(t, err)
	require.ErrorIs(t, b.CheckConfig(ctx), merkle.ErrConfigMismatch)
}
