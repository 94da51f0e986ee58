package reconciler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cuckoo"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/store"
)

// liveIDs lists every live SQL id.
func liveIDs(t testing.TB, sql SQL) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		page, err := sql.ScanLive(context.Background(), after, 1000)
		require.NoError(t, err)
		for _, e := range page {
			out = append(out, e.ID)
		}
		if len(page) < 1000 {
			return out
		}
		after = page[len(page)-1].ID
	}
}

func TestStartFillsRedisAndFollowsFeed(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	fill(t, p.sql, "pre", 300)
	r := p.start("a", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r.Status().State == lifecycle.Running })
	require.True(t, p.inSync())
	st := r.Status()
	require.True(t, st.Leader)
	require.True(t, st.FilterTrusted)
	require.Equal(t, uint64(300), st.FilterEntries)
	require.Equal(t, 1.0, r.metric(t, "syncline_reconciler_leader"))

	// The fast path: puts, an update, deletes and a TTL item.
	w := &writes{}
	w.put("live.a", 1, "a").put("live.b", 1, "b").put("pre.0000001", 5, "updated").del("pre.0000002", 5)
	w.ws = append(w.ws, store.Write{Seq: 99, ID: "live.ttl", Op: store.OpPut, Version: 1, Payload: []byte("t"),
		ContentType: "application/octet-stream", CacheTTL: time.Hour})
	p.commit(w)
	ctx := context.Background()
	waitFor(t, "fast path", 5*time.Second, func() bool {
		e, ok, err := p.cache.Get(ctx, "pre.0000001")
		require.NoError(t, err)
		return ok && e.Version == 5
	})
	waitFor(t, "in sync", 5*time.Second, p.inSync)
	_, ok, err := p.cache.Get(ctx, "pre.0000002")
	require.NoError(t, err)
	require.False(t, ok)
	for _, id := range liveIDs(t, p.sql) {
		present, trusted := r.MayContain(id)
		require.True(t, trusted)
		require.True(t, present, id)
	}
	require.Positive(t, r.metric(t, "syncline_reconciler_freshness_seconds"))
	require.Equal(t, 1.0, r.metric(t, "syncline_reconciler_roots_in_sync"))

	// Changes that miss the feed are repaired by the root check.
	(&writes{}).put("silent.x", 1, "x").del("pre.0000003", 9).apply(t, p.sql)
	waitFor(t, "repair of changes without feed", 5*time.Second, p.inSync)
	require.Positive(t, r.metric(t, "syncline_reconciler_repairs_total"))

	// Verify and repair answer on NATS.
	rep, err := r.Verify(ctx, "", true)
	require.NoError(t, err)
	require.True(t, rep.InSync, "%+v", rep)
}

// TestTrustedFilterNeverSaysAbsent drives random puts and deletes through
// the feed and checks, after each round, the live filter and a published
// snapshot against every live SQL id.
func TestTrustedFilterNeverSaysAbsent(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	r := p.start("a", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r.Status().State == lifecycle.Running })
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 8 {
		w := &writes{seq: uint64(round * 1000)}
		for range 150 {
			id := fmt.Sprintf("f.%d.%d", rng.IntN(5), rng.IntN(80))
			v := uint64(round*10 + rng.IntN(10) + 1)
			if rng.IntN(3) == 0 {
				w.del(id, v)
			} else {
				w.put(id, v, fmt.Sprint(rng.Uint64()))
			}
		}
		res := p.commit(w)
		waitFor(t, "feed applied", 5*time.Second, func() bool { return r.filter.status().Root == res.Root })
		ids := liveIDs(t, p.sql)
		for _, id := range ids {
			present, trusted := r.MayContain(id)
			require.True(t, trusted)
			require.True(t, present, "false absent for %s", id)
		}
		data, _, ok, err := r.filter.encode()
		require.NoError(t, err)
		require.True(t, ok)
		f, err := cuckoo.Decode(data)
		require.NoError(t, err)
		for _, id := range ids {
			require.True(t, f.Lookup([]byte(id)), "snapshot: false absent for %s", id)
		}
	}
	waitFor(t, "in sync", 5*time.Second, p.inSync)
}

func TestSnapshotTrustedOnlyAtSQLRoot(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	fill(t, p.sql, "s", 200)
	ctx := context.Background()

	r1 := p.start("one", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r1.Status().State == lifecycle.Running })
	require.Equal(t, 1.0, r1.metric(t, "syncline_reconciler_filter_rebuilds_total"), "no snapshot yet: rebuilt")
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, r1.Stop(stopCtx)) // clean: final snapshot, lease released

	objs, err := p.js.ObjectStore(ctx, p.names.FiltersBucket())
	require.NoError(t, err)
	info, err := objs.GetInfo(ctx, SnapshotObject)
	require.NoError(t, err)
	meta, err := ParseSnapshotMeta(info.Metadata)
	require.NoError(t, err)
	root, err := p.sql.Root(ctx)
	require.NoError(t, err)
	require.Equal(t, root, meta.Root)
	require.Equal(t, uint64(200), meta.Entries)

	// Same root: restored, no rebuild.
	r2 := p.start("two", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r2.Status().State == lifecycle.Running })
	require.Zero(t, r2.metric(t, "syncline_reconciler_filter_rebuilds_total"), "restored from snapshot")
	require.True(t, r2.Status().FilterTrusted)
	require.NoError(t, r2.Stop(stopCtx))

	// SQL moves on without the feed: the snapshot's root is not SQL's.
	(&writes{}).put("s.new", 1, "n").apply(t, p.sql)
	r3 := p.start("three", Config{})
	waitFor(t, "running", 10*time.Second, func() bool { return r3.Status().State == lifecycle.Running })
	require.Equal(t, 1.0, r3.metric(t, "syncline_reconciler_filter_rebuilds_total"), "untrusted snapshot: rebuilt")
	present, trusted := r3.MayContain("s.new")
	require.True(t, trusted)
	require.True(t, present)
}

func TestStandbyTakesOverAfterCrash(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	fill(t, p.sql, "l", 50)
	a := p.start("a", Config{})
	b := p.start("b", Config{})
	leaders := func() int {
		n := 0
		for _, r := range []testReconciler{a, b} {
			if r.Status().Leader {
				n++
			}
		}
		return n
	}
	waitFor(t, "a leader", 10*time.Second, func() bool { return leaders() == 1 })
	active, standby := a, b
	if b.Status().Leader {
		active, standby = b, a
	}
	waitFor(t, "active running", 10*time.Second, func() bool { return active.Status().State == lifecycle.Running })
	require.Equal(t, lifecycle.Ready, standby.Status().State, "a standby is ready")
	// Stay single-leader across several renewals.
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, 1, leaders())
	require.True(t, active.Status().Leader)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	killed := time.Now()
	require.NoError(t, active.kill(ctx)) // no release: the lease must lapse
	waitFor(t, "standby takes over", 5*time.Second, func() bool { return standby.Status().State == lifecycle.Running })
	took := time.Since(killed)
	t.Logf("standby took over %s after the crash (lease period 1s)", took)
	require.Less(t, took, 2500*time.Millisecond, "within the lease period plus a poll")

	(&writes{}).put("l.after", 1, "x").apply(t, p.sql)
	waitFor(t, "new leader repairs", 5*time.Second, p.inSync)
}

func TestCleanStopHandsOverAtOnce(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	a := p.start("a", Config{})
	waitFor(t, "a running", 10*time.Second, func() bool { return a.Status().State == lifecycle.Running })
	b := p.start("b", Config{})
	waitFor(t, "b standby", 10*time.Second, func() bool { return b.Status().State == lifecycle.Ready })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stopped := time.Now()
	require.NoError(t, a.Stop(ctx))
	waitFor(t, "b leads", 5*time.Second, func() bool { return b.Status().Leader })
	t.Logf("hand-over after a clean stop took %s", time.Since(stopped))
}
