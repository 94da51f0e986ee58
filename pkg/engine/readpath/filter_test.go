package readpath_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
)

func waitUsable(t testing.TB, r interface{ FilterUsable() bool }, want bool) {
	t.Helper()
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if r.FilterUsable() != want {
			return fmt.Errorf("filter usable %v, want %v", !want, want)
		}
		return nil
	})
}

// TestFilterAbsentWithoutStorage: a trusted filter answers "absent" for
// get and exists without touching Redis or SQL, and ids put after the
// snapshot are never reported absent.
func TestFilterAbsentWithoutStorage(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{backend: b})
			for i := range 20 {
				e.commit(t, put(fmt.Sprintf("f.%d", i), 1, "x"))
			}
			e.snapshot(t)
			seq, _ := e.commit(t, put("f.after", 1, "y")) // after the snapshot: replayed
			sql := &countingSQL{Backend: e.sql}
			rc := &countingRedis{Cache: e.cache}
			r, reg := e.reader(t, readerOpts{sql: sql, redis: rc})
			waitUsable(t, r, true)
			caughtUp(t, r, seq)
			require.Equal(t, 1.0, metricValue(reg, "syncline_ingest_filter_trusted", nil))
			require.Equal(t, 21.0, metricValue(reg, "syncline_ingest_filter_entries", nil))

			for i := range 50 {
				id := fmt.Sprintf("absent.%d", i)
				_, err := r.Get(tctx(t), id, 0)
				require.ErrorIs(t, err, item.ErrNotFound)
				ok, err := r.Exists(tctx(t), id)
				require.NoError(t, err)
				require.False(t, ok)
			}
			// A false positive (~1e-4 each) would have reached storage.
			require.LessOrEqual(t, sql.n.Load(), int64(2))
			require.LessOrEqual(t, rc.n.Load(), int64(2))
			require.GreaterOrEqual(t, requests(reg, "get", "filter"), 49.0)

			for _, id := range []string{"f.0", "f.19", "f.after"} {
				ok, err := r.Exists(tctx(t), id)
				require.NoError(t, err)
				require.True(t, ok, id)
			}
			// New ids and deletes arrive through the feed.
			seq, _ = e.commit(t, put("f.new", 1, "z"), del("f.0", 2))
			caughtUp(t, r, seq)
			ok, err := r.Exists(tctx(t), "f.new")
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = r.Exists(tctx(t), "f.0") // stays in the filter; storage says no
			require.NoError(t, err)
			require.False(t, ok)
			require.Equal(t, 1.0, metricValue(reg, "syncline_ingest_filter_stale_deletes_total", nil))

			// Reads with minSeq never use the filter.
			n0 := sql.n.Load()
			_, err = r.Get(tctx(t), "absent.x", e.walSeq.Load())
			require.ErrorIs(t, err, item.ErrNotFound)
			require.Equal(t, n0+1, sql.n.Load())
		})
	}
}

// TestFilterGapUntrustsUntilNewSnapshot: a record missing from the
// replayed feed makes the filter untrusted; reads keep answering from
// storage, correctly; a newer snapshot restores trust.
func TestFilterGapUntrustsUntilNewSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.commit(t, put("g.base", 1, "b"))
	e.snapshot(t)
	e.commit(t, put("g.1", 1, "1"))
	lost, _ := e.commit(t, put("g.2", 1, "2")) // its record will be gone
	seq, _ := e.commit(t, put("g.3", 1, "3"))
	st, err := e.js.Stream(tctx(t), e.names.CommitsStream())
	require.NoError(t, err)
	require.NoError(t, st.DeleteMsg(tctx(t), lost))

	r, reg := e.reader(t, readerOpts{})
	caughtUp(t, r, seq)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := metricValue(reg, "syncline_read_feed_gaps_total", map[string]string{"follower": "filter"}); v < 1 {
			return fmt.Errorf("no filter gap yet")
		}
		return nil
	})
	require.False(t, r.FilterUsable())
	require.Equal(t, 0.0, metricValue(reg, "syncline_ingest_filter_trusted", nil))
	for _, id := range []string{"g.base", "g.1", "g.2", "g.3"} {
		ok, err := r.Exists(tctx(t), id)
		require.NoError(t, err)
		require.True(t, ok, id)
	}
	ok, err := r.Exists(tctx(t), "g.none")
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 1.0, requests(reg, "exists", "miss"))

	e.snapshot(t)
	waitUsable(t, r, true)
	ok, err = r.Exists(tctx(t), "g.none")
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 1.0, requests(reg, "exists", "filter"))
	ok, err = r.Exists(tctx(t), "g.2")
	require.NoError(t, err)
	require.True(t, ok)
}

// TestFilterExpiredFeedNeverTrusted: the records right after the
// snapshot are gone (expired), so no replay can make it current.
func TestFilterExpiredFeedNeverTrusted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{redisOff: true})
	e.commit(t, put("h.0", 1, "0"))
	e.snapshot(t)
	first, _ := e.commit(t, put("h.1", 1, "1"))
	e.commit(t, put("h.2", 1, "2"))
	st, err := e.js.Stream(tctx(t), e.names.CommitsStream())
	require.NoError(t, err)
	require.NoError(t, st.DeleteMsg(tctx(t), first)) // the feed now starts after it

	r, reg := e.reader(t, readerOpts{})
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v := metricValue(reg, "syncline_ingest_filter_loads_total", map[string]string{"result": "untrusted"}); v < 1 {
			return fmt.Errorf("no untrusted load yet")
		}
		return nil
	})
	require.False(t, r.FilterUsable())
	ok, err := r.Exists(tctx(t), "h.1")
	require.NoError(t, err)
	require.True(t, ok)
}

// TestJunkRecordIsAGap: an undecodable record is a gap for both
// followers: L1 is purged, the filter untrusted; reads stay correct.
func TestJunkRecordIsAGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{redisOff: true})
	e.commit(t, put("j.1", 1, "one"))
	e.snapshot(t)
	r, reg := e.reader(t, readerOpts{})
	waitUsable(t, r, true)
	it, err := r.Get(tctx(t), "j.1", 0)
	requireItem(t, it, err, 1, "one", "l3")
	it, err = r.Get(tctx(t), "j.1", 0)
	requireItem(t, it, err, 1, "one", "l1")

	junk := e.publishJunk(t)
	caughtUp(t, r, junk)
	waitUsable(t, r, false)
	require.Equal(t, 1.0, metricValue(reg, "syncline_read_feed_gaps_total", map[string]string{"follower": "l1"}))
	require.Equal(t, 0.0, metricValue(reg, "syncline_l1_entries", nil))
	it, err = r.Get(tctx(t), "j.1", 0)
	requireItem(t, it, err, 1, "one", "l3")
	_, err = r.Get(tctx(t), "j.none", 0)
	require.ErrorIs(t, err, item.ErrNotFound)
	seq, _ := e.commit(t, put("j.2", 1, "two"))
	caughtUp(t, r, seq)
	it, err = r.Get(tctx(t), "j.1", 0) // L1 goes on after the gap
	requireItem(t, it, err, 1, "one", "l1")
	ok, err := r.Exists(tctx(t), "j.2")
	require.NoError(t, err)
	require.True(t, ok)
}
