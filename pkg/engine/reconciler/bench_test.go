package reconciler

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
)

// Benchmarks run on the machine's PostgreSQL and Redis and an embedded
// NATS. The data set is built once per process (it is large):
//
//	SYNCLINE_BENCH_N       items (default 100000)
//	SYNCLINE_BENCH_LAYOUT  tenants: "tNN.orders.<hex>", 100 parents
//	                       (default); flat: "u.<hex>", one parent
//
//	go test -run '^$' -bench Reconciler -benchtime 3x ./pkg/engine/reconciler/

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("SYNCLINE_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100000
}

func benchID(i int) string {
	h := uint32(uint64(i) * 2654435761 % (1 << 32))
	if os.Getenv("SYNCLINE_BENCH_LAYOUT") == "flat" {
		return fmt.Sprintf("u.%08x%04x", h, i&0xffff)
	}
	return fmt.Sprintf("t%02d.orders.%08x%04x", i%100, h, i&0xffff)
}

var (
	benchOnce sync.Once
	benchP    *pipeline
	benchErr  error
)

// benchPipeline builds N items in SQL and copies them to Redis, once.
func benchPipeline(b *testing.B) *pipeline {
	benchOnce.Do(func() {
		n := benchN()
		t0 := time.Now()
		// The data set outlives the first benchmark, so its NATS store
		// cannot be that benchmark's TempDir (removed when it ends).
		dir, err := os.MkdirTemp("", "syncline-bench-nats-")
		if err != nil {
			benchErr = err
			return
		}
		tb := &onceTB{b}
		tb.Cleanup(func() { _ = os.RemoveAll(dir) })
		p := newPipelineIn(tb, dir)
		p.logw = io.Discard
		ctx := context.Background()
		ws := make([]store.Write, 0, 5000)
		for i := range n {
			ws = append(ws, store.Write{Seq: uint64(i + 1), ID: benchID(i), Op: store.OpPut, Version: 1,
				Payload: fmt.Appendf(nil, `{"n":%d,"status":"open","amount":%d}`, i, i*7%1000), ContentType: "application/json"})
			if len(ws) == cap(ws) || i == n-1 {
				if _, err := p.sql.ApplyBatch(ctx, ws); err != nil {
					benchErr = err
					return
				}
				ws = ws[:0]
			}
		}
		b.Logf("sql: %d items in %s", n, time.Since(t0))
		t0 = time.Now()
		ch, err := NewChecker(p.sql, p.cache, Config{NoSettle: true})
		if err != nil {
			benchErr = err
			return
		}
		rep, err := ch.Repair(ctx, "", false)
		if err != nil || !rep.InSync {
			benchErr = fmt.Errorf("initial copy: %v %+v", err, rep)
			return
		}
		b.Logf("redis: bulk copy of %d items in %s", rep.BulkCopied, time.Since(t0))
		benchP = p
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchP
}

// onceTB lets the shared data set outlive the first benchmark: its
// cleanups run after every test and benchmark (TestMain), not when that
// benchmark ends.
type onceTB struct{ testing.TB }

var (
	lateMu       sync.Mutex
	lateCleanups []func()
)

func (o *onceTB) Cleanup(f func()) {
	lateMu.Lock()
	defer lateMu.Unlock()
	lateCleanups = append(lateCleanups, f)
}

func TestMain(m *testing.M) {
	code := m.Run()
	lateMu.Lock()
	for i := len(lateCleanups) - 1; i >= 0; i-- {
		lateCleanups[i]()
	}
	lateMu.Unlock()
	os.Exit(code)
}

// alter updates k random SQL items (a new version each), as writes whose
// feed records were lost would.
func alter(b *testing.B, sql store.Backend, k int, rng *rand.Rand, version uint64) {
	b.Helper()
	n := benchN()
	seen := map[int]bool{}
	ws := make([]store.Write, 0, k)
	for len(ws) < k {
		i := rng.IntN(n)
		if seen[i] {
			continue
		}
		seen[i] = true
		ws = append(ws, store.Write{Seq: version, ID: benchID(i), Op: store.OpPut, Version: version,
			Payload: fmt.Appendf(nil, `{"n":%d,"v":%d}`, i, version), ContentType: "application/json"})
	}
	for start := 0; start < len(ws); start += 5000 {
		_, err := sql.ApplyBatch(context.Background(), ws[start:min(start+5000, len(ws))])
		require.NoError(b, err)
	}
}

// BenchmarkReconcilerRepair: k differences among N, repaired by branch
// diff, against a key-by-key comparison of the same state.
func BenchmarkReconcilerRepair(b *testing.B) {
	p := benchPipeline(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	version := uint64(10)
	for _, k := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("diff/k=%d", k), func(b *testing.B) {
			ch, err := NewChecker(p.sql, p.cache, Config{NoSettle: true, RepairLimit: 20000})
			require.NoError(b, err)
			var reads, entries, sqlReads, redisReads int
			for b.Loop() {
				b.StopTimer()
				version++
				alter(b, p.sql, k, rng, version)
				b.StartTimer()
				rep, err := ch.Repair(ctx, "", false)
				require.NoError(b, err)
				require.True(b, rep.InSync)
				require.Equal(b, k, rep.Repaired.Put)
				sqlReads += rep.NodeReads.SQL
				redisReads += rep.NodeReads.Redis
				reads += rep.NodeReads.SQL + rep.NodeReads.Redis
				entries += rep.EntriesRead.SQL + rep.EntriesRead.Redis
			}
			b.ReportMetric(float64(reads)/float64(b.N), "node_reads/op")
			b.ReportMetric(float64(entries)/float64(b.N), "entries_read/op")
			b.ReportMetric(float64(sqlReads)/float64(b.N), "sql_reads/op")
			b.ReportMetric(float64(redisReads)/float64(b.N), "redis_reads/op")
		})
		b.Run(fmt.Sprintf("keybykey/k=%d", k), func(b *testing.B) {
			ch, err := NewChecker(p.sql, p.cache, Config{NoSettle: true})
			require.NoError(b, err)
			var reads, calls int
			for b.Loop() {
				b.StopTimer()
				version++
				alter(b, p.sql, k, rng, version)
				b.StartTimer()
				ids, st, err := keyByKey(ctx, p.sql, p.cache)
				require.NoError(b, err)
				require.Len(b, ids, k)
				var n RepairCounts
				_, err = ch.fix(ctx, ids, &n)
				require.NoError(b, err)
				require.Equal(b, k, n.Put)
				reads += st.keys
				calls += st.calls
			}
			b.ReportMetric(float64(reads)/float64(b.N), "keys_read/op")
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
		})
	}
}

type kbkStats struct{ keys, calls int }

// keyByKey is the baseline: read every live id's leaf from SQL (pages of
// 5000) and every item from Redis (SCAN + HMGET) and compare them all.
func keyByKey(ctx context.Context, sql SQL, cache *rediscache.Cache) ([]string, kbkStats, error) {
	var st kbkStats
	want := make(map[string]merkle.Hash, benchN())
	after := ""
	for {
		page, err := sql.ScanLive(ctx, after, 5000)
		if err != nil {
			return nil, st, err
		}
		st.calls++
		st.keys += len(page)
		for _, e := range page {
			want[e.ID] = e.Leaf
		}
		if len(page) < 5000 {
			break
		}
		after = page[len(page)-1].ID
	}
	var diff []string
	scan, err := cache.ScanItems(ctx, "", func(es []rediscache.Entry) error {
		for _, e := range es {
			if w, ok := want[e.ID]; !ok || w != e.Leaf {
				diff = append(diff, e.ID)
			}
			delete(want, e.ID)
		}
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	st.keys += scan.Keys
	st.calls += scan.Calls
	for id := range want {
		diff = append(diff, id)
	}
	return diff, st, nil
}

// BenchmarkReconcilerStart: time from Start to running, with the filter
// restored from a snapshot at the SQL root against rebuilt from SQL (Redis
// already in sync in both).
func BenchmarkReconcilerStart(b *testing.B) {
	p := benchPipeline(b)
	ctx := context.Background()
	objs, err := p.js.ObjectStore(ctx, p.names.FiltersBucket())
	require.NoError(b, err)
	start := func(b *testing.B, i int) (filter, total time.Duration) {
		tr := p.start(fmt.Sprintf("bench-%d", i), Config{RootCheckInterval: time.Hour, SnapshotInterval: time.Hour,
			DeepVerifyInterval: -1})
		t0 := time.Now()
		for tr.Status().State != lifecycle.Running {
			time.Sleep(time.Millisecond)
		}
		total = time.Since(t0)
		filter = time.Duration(tr.labeled(b, "syncline_reconciler_start_phase_seconds", "phase", "filter") * float64(time.Second))
		b.StopTimer()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		require.NoError(b, tr.Stop(sctx)) // publishes the snapshot
		b.StartTimer()
		return filter, total
	}
	for _, mode := range []string{"rebuild", "snapshot"} {
		b.Run(mode, func(b *testing.B) {
			var filter time.Duration
			i := 0
			for b.Loop() {
				b.StopTimer()
				if mode == "rebuild" {
					_ = objs.Delete(ctx, SnapshotObject)
				}
				b.StartTimer()
				f, _ := start(b, i)
				filter += f
				i++
			}
			b.ReportMetric(filter.Seconds()/float64(b.N), "filter_phase_s/op")
		})
	}
}
