package readpath_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storetest"
)

// TestTiers walks one item through every tier: SQL first (filling L1 and
// Redis), then L1, Redis for a fresh process, and a delete that must hide
// the item everywhere, also from a Redis copy the feed has outdated.
func TestTiers(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{backend: b})
			w := put("a.b", 7, `{"x":1}`)
			w.State = "hot"
			e.commit(t, w)
			r, reg := e.reader(t, readerOpts{})

			it, err := r.Get(tctx(t), "a.b", 0)
			requireItem(t, it, err, 7, `{"x":1}`, "l3")
			require.Equal(t, item.ContentTypeJSON, it.ContentType)
			require.Equal(t, "hot", it.State)
			require.Equal(t, "a.b", it.ID)
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { // the Redis fill
				got, ok, err := e.cache.Get(tctx(t), "a.b")
				if err != nil || !ok || got.Version != 7 {
					return fmt.Errorf("redis copy %v %v %v", got.Version, ok, err)
				}
				return nil
			})
			it, err = r.Get(tctx(t), "a.b", 0)
			requireItem(t, it, err, 7, `{"x":1}`, "l1")
			ok, err := r.Exists(tctx(t), "a.b")
			require.NoError(t, err)
			require.True(t, ok)

			r2, reg2 := e.reader(t, readerOpts{})
			it, err = r2.Get(tctx(t), "a.b", 0)
			requireItem(t, it, err, 7, `{"x":1}`, "l2")
			require.Equal(t, "hot", it.State)
			// Redis copies enter L1 once RedisGrace has passed since the
			// follower started (commits before it are unseen).
			checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				if it, err := r2.Get(tctx(t), "a.b", 0); err != nil || it.Source != "l1" {
					return fmt.Errorf("source %q (%v)", it.Source, err)
				}
				return nil
			})

			_, err = r.Get(tctx(t), "no.such", 0)
			require.ErrorIs(t, err, item.ErrNotFound)
			ok, err = r.Exists(tctx(t), "no.such")
			require.NoError(t, err)
			require.False(t, ok)

			// Delete; Redis keeps its copy (no reconciler here). Both readers
			// saw the delete on the feed: neither serves the copy, and r,
			// which filled it, removes it.
			seq, _ := e.commit(t, del("a.b", 8))
			caughtUp(t, r, seq)
			caughtUp(t, r2, seq)
			for _, rd := range []*readpath.Reader{r2, r} {
				_, err = rd.Get(tctx(t), "a.b", 0)
				require.ErrorIs(t, err, item.ErrNotFound)
				ok, err = rd.Exists(tctx(t), "a.b")
				require.NoError(t, err)
				require.False(t, ok)
			}
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				if _, ok, err := e.cache.Get(tctx(t), "a.b"); err != nil || ok {
					return fmt.Errorf("redis still holds the deleted item (%v)", err)
				}
				return nil
			})

			require.Equal(t, 1.0, requests(reg, "get", "l3"))
			require.Equal(t, 1.0, requests(reg, "get", "l1"))
			require.GreaterOrEqual(t, requests(reg2, "get", "l2"), 1.0)
			require.Equal(t, 2.0, requests(reg, "get", "miss"))
			require.Equal(t, 1.0, requests(reg, "exists", "l1"))
			require.GreaterOrEqual(t, fallthroughs(reg, "filter_untrusted"), 1.0) // no snapshot in this test
			require.GreaterOrEqual(t, metricValue(reg, "syncline_read_redis_fills_total", map[string]string{"result": "deleted"}), 1.0)
		})
	}
}

// TestL1InvalidatedByFeed: once the feed delivered a newer version or a
// delete, L1 never serves the older one.
func TestL1InvalidatedByFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{redisOff: true})
	e.commit(t, put("k", 1, "one"))
	r, reg := e.reader(t, readerOpts{})
	it, err := r.Get(tctx(t), "k", 0)
	requireItem(t, it, err, 1, "one", "l3")
	it, err = r.Get(tctx(t), "k", 0)
	requireItem(t, it, err, 1, "one", "l1")
	require.Equal(t, 1.0, metricValue(reg, "syncline_l1_entries", nil))
	require.Greater(t, metricValue(reg, "syncline_l1_bytes", nil), float64(readpath.EntryOverhead))

	seq, _ := e.commit(t, put("k", 2, "two"))
	caughtUp(t, r, seq)
	require.Equal(t, 0.0, metricValue(reg, "syncline_l1_entries", nil))
	require.Equal(t, 1.0, metricValue(reg, "syncline_read_l1_invalidations_total", nil))
	it, err = r.Get(tctx(t), "k", 0)
	requireItem(t, it, err, 2, "two", "l3")
	it, err = r.Get(tctx(t), "k", 0)
	requireItem(t, it, err, 2, "two", "l1")

	// An older write that lost in SQL changes nothing: no record, entry stays.
	_, res := e.commit(t, put("k", 1, "stale"))
	require.Empty(t, res.Changes)
	it, err = r.Get(tctx(t), "k", 0)
	requireItem(t, it, err, 2, "two", "l1")

	seq, _ = e.commit(t, del("k", 3))
	caughtUp(t, r, seq)
	_, err = r.Get(tctx(t), "k", 0)
	require.ErrorIs(t, err, item.ErrNotFound)
}

// TestMinSeqSkipsLaggingRedis: Redis holds an older version (the
// reconciler is behind); a read asking for the write at N gets it, a read
// without minSeq may get Redis's copy.
func TestMinSeqSkipsLaggingRedis(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{backend: b})
			_, res := e.commit(t, put("x", 0, "v1"))
			e.toRedis(t, res) // Redis has v1
			w := put("x", 0, "v2")
			e.commit(t, w) // Redis does not get v2
			n := e.walSeq.Load()
			r, reg := e.reader(t, readerOpts{cfg: &readpath.Config{L1MaxBytes: -1}})

			it, err := r.Get(tctx(t), "x", 0) // eventual: this process never saw v2 committed
			requireItem(t, it, err, n-1, "v1", "l2")
			it, err = r.Get(tctx(t), "x", n)
			requireItem(t, it, err, n, "v2", "l3")
			require.Equal(t, 1.0, fallthroughs(reg, "l2_min_seq"))

			// A process that saw v2 committed never serves Redis's v1.
			r2, reg2 := e.reader(t, readerOpts{})
			seq, _ := e.commit(t, put("x", 0, "v3"))
			caughtUp(t, r2, seq)
			it, err = r2.Get(tctx(t), "x", 0)
			requireItem(t, it, err, n+1, "v3", "l3")
			require.Equal(t, 1.0, fallthroughs(reg2, "l2_stale"))
		})
	}
}

// TestMinSeqOutOfOrderCommits: two writes of one id commit out of WAL
// order (two writers). The cached row carries a WAL sequence above N but
// is older than the write at N; a read with minSeq N must not get it.
func TestMinSeqOutOfOrderCommits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{redisOff: true})
	b := put("o", 3, "B")
	b.Seq = 11
	e.commit(t, b)
	r, _ := e.reader(t, readerOpts{})
	it, err := r.Get(tctx(t), "o", 0)
	requireItem(t, it, err, 3, "B", "l3")
	it, err = r.Get(tctx(t), "o", 0)
	requireItem(t, it, err, 3, "B", "l1") // cached: (v3, seq 11)

	// Write A (seq 10, v5) commits now; its record is not delivered yet.
	a := put("o", 5, "A")
	a.Seq = 10
	res, err := e.sql.ApplyBatch(tctx(t), []store.Write{a})
	require.NoError(t, err)
	require.Len(t, res.Changes, 1)

	it, err = r.Get(tctx(t), "o", 10)
	requireItem(t, it, err, 5, "A", "l3")
	// Now cached with covers 10: the same read is an L1 hit, one above not.
	it, err = r.Get(tctx(t), "o", 10)
	requireItem(t, it, err, 5, "A", "l1")
	it, err = r.Get(tctx(t), "o", 12)
	requireItem(t, it, err, 5, "A", "l3")
	it, err = r.Get(tctx(t), "o", 0)
	requireItem(t, it, err, 5, "A", "l1")
}

// TestRedisDownFallsThrough: with Redis unreachable every read is
// answered from SQL, and reads stop trying Redis for a backoff period.
func TestRedisDownFallsThrough(t *testing.T) {
	t.Parallel()
	p := storetest.NewProxy(t, redisHostPort(t))
	e := newEnv(t, envOpts{redisAddr: p.Addr()})
	e.commit(t, put("r.1", 1, "one"))
	e.commit(t, put("r.2", 1, "two"))
	p.Down()
	r, reg := e.reader(t, readerOpts{cfg: &readpath.Config{L1MaxBytes: -1, RedisBackoffMin: time.Hour, RedisBackoffMax: time.Hour}})
	for range 3 {
		it, err := r.Get(tctx(t), "r.1", 0)
		requireItem(t, it, err, 1, "one", "l3")
		ok, err := r.Exists(tctx(t), "r.2")
		require.NoError(t, err)
		require.True(t, ok)
		_, err = r.Get(tctx(t), "r.3", 0)
		require.ErrorIs(t, err, item.ErrNotFound)
	}
	require.Equal(t, 1.0, fallthroughs(reg, "l2_error"))
	require.Equal(t, 8.0, fallthroughs(reg, "l2_down"))
	require.Equal(t, 3.0, requests(reg, "get", "l3"))
	p.Up()

	// A reader whose backoff lapses uses Redis again once it answers.
	r2, reg2 := e.reader(t, readerOpts{cfg: &readpath.Config{L1MaxBytes: -1, RedisBackoffMin: 50 * time.Millisecond,
		RedisBackoffMax: 50 * time.Millisecond, RetryMin: 20 * time.Millisecond, RetryMax: 20 * time.Millisecond}})
	p.Down()
	it, err := r2.Get(tctx(t), "r.1", 0)
	requireItem(t, it, err, 1, "one", "l3")
	p.Up()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		it, err := r2.Get(tctx(t), "r.1", 0)
		if err != nil || it.Source != "l2" {
			return fmt.Errorf("source %q err %v", it.Source, err)
		}
		return nil
	})
	require.GreaterOrEqual(t, requests(reg2, "get", "l2"), 1.0)
}

// TestFillRespectsCacheTTL: a fill gets what is left of the item's TTL,
// and an item past its TTL is not filled at all.
func TestFillRespectsCacheTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	w := put("ttl.a", 1, "a")
	w.CacheTTL = time.Hour
	e.commit(t, w)
	now := time.Now()
	cfg := testConfig()
	cfg.Now = func() time.Time { return now.Add(30 * time.Minute) }
	r, reg := e.reader(t, readerOpts{cfg: &cfg})
	it, err := r.Get(tctx(t), "ttl.a", 0)
	requireItem(t, it, err, 1, "a", "l3")
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		ttl, err := e.rc.TTL(tctx(t), e.cache.Config().Prefix+"item:ttl.a").Result()
		if err != nil || ttl <= 0 {
			return fmt.Errorf("ttl %v %v", ttl, err)
		}
		if ttl > 31*time.Minute || ttl < 29*time.Minute {
			return fmt.Errorf("ttl %v, want about 30m", ttl)
		}
		return nil
	})

	cfg.Now = func() time.Time { return now.Add(2 * time.Hour) }
	r2, reg2 := e.reader(t, readerOpts{cfg: &cfg})
	w = put("ttl.b", 1, "b")
	w.CacheTTL = time.Hour
	e.commit(t, w)
	it, err = r2.Get(tctx(t), "ttl.b", 0)
	requireItem(t, it, err, 1, "b", "l3")
	require.Equal(t, 1.0, metricValue(reg2, "syncline_read_redis_fills_total", map[string]string{"result": "skipped"}))
	_, ok, err := e.cache.Get(tctx(t), "ttl.b")
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 1.0, metricValue(reg, "syncline_read_redis_fills_total", map[string]string{"result": "applied"}))
}

// TestFillUndoneByLaterDelete: an SQL read, then a delete that the
// reconciler applied to Redis before the fill landed. The fill would
// resurrect the item in Redis; the read path removes it again.
func TestFillUndoneByLaterDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.commit(t, put("z", 1, "z1"))
	r, _ := e.reader(t, readerOpts{})
	it, err := r.Get(tctx(t), "z", 0)
	requireItem(t, it, err, 1, "z1", "l3")
	seq, res := e.commit(t, del("z", 2))
	e.toRedis(t, res)
	caughtUp(t, r, seq)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if !r.FillsIdle() {
			return fmt.Errorf("fills pending")
		}
		if _, ok, err := e.cache.Get(tctx(t), "z"); err != nil || ok {
			return fmt.Errorf("redis holds the deleted item (%v)", err)
		}
		return nil
	})
	// And directly: a stale copy written by someone else is not served.
	_, err = e.cache.PutMany(tctx(t), []rediscache.Entry{{ID: "z", Version: 1, Payload: []byte("z1"), ContentType: "application/octet-stream"}})
	require.NoError(t, err)
	_, err = r.Get(tctx(t), "z", 0)
	require.ErrorIs(t, err, item.ErrNotFound)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, readpath.Config{}.Validate())
	require.NoError(t, readpath.Config{L1MaxBytes: -1}.Validate())
	require.Error(t, readpath.Config{L1Shards: 2000}.Validate())
	require.Error(t, readpath.Config{L1MaxBytes: 1 << 20, L1MaxItemBytes: 1 << 20}.Validate())
	require.Error(t, readpath.Config{RedisTimeout: -time.Second}.Validate())
	require.Error(t, readpath.Config{RetryMin: time.Minute, RetryMax: time.Second}.Validate())
	_, err := readpath.New(readpath.Params{})
	require.Error(t, err)
}
