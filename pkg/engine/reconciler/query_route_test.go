package reconciler

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
)

func (w *writes) putRoute(id string, version uint64, payload string, r item.Route) *writes {
	w.put(id, version, payload)
	w.ws[len(w.ws)-1].Route = r
	return w
}

// TestDurableRouteStaysOutOfRedis: durable items are never readable from
// Redis, yet the trees agree (the Redis tree counts their ghosts), through
// the fast path, the root-check repair and a deep verify; cache-only values
// (route cache) are outside both and never reported.
func TestDurableRouteStaysOutOfRedis(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	ctx := context.Background()
	r := p.start("a", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r.Status().State == lifecycle.Running })

	visible := func(id string) bool {
		_, ok, err := p.cache.Get(ctx, id)
		require.NoError(t, err)
		return ok
	}
	// Fast path.
	w := &writes{}
	w.putRoute("d.1", 1, "durable", item.RouteDurable).put("d.2", 1, "default").putRoute("d.3", 1, "x", item.RouteDurable)
	p.commit(w)
	waitFor(t, "fast path", 5*time.Second, func() bool { return visible("d.2") && p.inSync() })
	require.False(t, visible("d.1"))
	require.False(t, visible("d.3"))

	// Route changes with versions.
	w.put("d.1", 2, "now visible").putRoute("d.2", 2, "now durable", item.RouteDurable)
	p.commit(w)
	waitFor(t, "route switch", 5*time.Second, func() bool { return visible("d.1") && !visible("d.2") && p.inSync() })

	// Changes that miss the feed are repaired by the root check, as ghosts.
	(&writes{}).putRoute("silent.d", 1, "s", item.RouteDurable).apply(t, p.sql)
	waitFor(t, "repair", 5*time.Second, p.inSync)
	require.False(t, visible("silent.d"))

	// Cache-only values: one on a fresh id, one above a durable item.
	_, err := p.cache.PutCacheOnly(ctx, rediscache.Entry{ID: "c.fresh", Payload: []byte("c"), TTL: time.Hour})
	require.NoError(t, err)
	_, err = p.cache.PutCacheOnly(ctx, rediscache.Entry{ID: "d.3", Version: 50, Payload: []byte("c"), TTL: time.Hour})
	require.NoError(t, err)
	require.True(t, visible("d.3"))

	rep, err := r.Verify(ctx, "", true)
	require.NoError(t, err)
	require.True(t, rep.InSync, "%+v", rep)
	require.Zero(t, rep.DeepMismatches)
	rep, err = r.Repair(ctx, "", false)
	require.NoError(t, err)
	require.True(t, rep.InSync, "%+v", rep)
	require.Zero(t, rep.Repaired.Forced)
	require.True(t, visible("c.fresh"), "repairs leave cache-only values alone")

	// A newer durable write through the pipeline still counts while the
	// newer cache-only value stays visible; a tombstone beating it ends it.
	w.putRoute("d.3", 3, "y", item.RouteDurable)
	p.commit(w)
	waitFor(t, "durable under a cache value", 5*time.Second, p.inSync)
	require.True(t, visible("d.3"))
	w.del("d.3", 60)
	p.commit(w)
	waitFor(t, "tombstone", 5*time.Second, func() bool { return !visible("d.3") && p.inSync() })

	// A checker built by a CLI agrees.
	rep, err = testChecker(t, p.sql, p.cache).Verify(ctx, "d", false)
	require.NoError(t, err)
	require.True(t, rep.InSync, "%+v", rep)
	it, err := p.sql.Get(ctx, "d.2")
	require.NoError(t, err)
	require.Equal(t, item.RouteDurable, it.Route)
}
