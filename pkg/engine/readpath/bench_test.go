package readpath_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/store"
)

// BenchmarkGet measures a get per tier against the direct baselines of
// the same run: a store Get (SQL) and an HGETALL of the item's Redis hash.
// Serial sub-benchmarks give latency (ns/op, p50, p99); the /parallel ones
// throughput (GOMAXPROCS goroutines; ops/s); "interleaved" runs every
// case in turn and reports each one's mean, p50 and p99, the fairest
// comparison on a machine whose load changes.
//
//	go test ./pkg/engine/readpath/ -run '^$' -bench Get -benchtime 2s
func BenchmarkGet(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) { benchGet(b, backend) })
	}
}

const (
	benchItems   = 2000
	benchPayload = 1024
)

func benchGet(b *testing.B, backend string) {
	e := newEnv(b, envOpts{backend: backend})
	payload := strings.Repeat("x", benchPayload)
	ids := make([]string, benchItems)
	var writes []store.Write
	for i := range ids {
		ids[i] = fmt.Sprintf("bench.%05d", i)
		writes = append(writes, put(ids[i], 1, payload))
	}
	_, res := e.commit(b, writes...)
	e.toRedis(b, res)
	e.snapshot(b)
	ctx := context.Background() // the run outlives tctx's deadline

	noL1 := readpath.Config{L1MaxBytes: -1}
	withL1 := readpath.Config{L1MaxBytes: 64 << 20, RedisGrace: 10 * time.Millisecond}
	l1r, _ := e.reader(b, readerOpts{cfg: &withL1})
	l2r, _ := e.reader(b, readerOpts{cfg: &noL1})
	l3r, _ := e.reader(b, readerOpts{cfg: &noL1, noL2: true})
	fr, _ := e.reader(b, readerOpts{cfg: &withL1})
	checkFor(b, 20*time.Second, 10*time.Millisecond, func() error {
		if !fr.FilterUsable() {
			return fmt.Errorf("filter not usable")
		}
		return nil
	})
	time.Sleep(20 * time.Millisecond) // RedisGrace: Redis copies enter L1 after it
	for _, id := range ids {          // warm L1
		_, err := l1r.Get(ctx, id, 0)
		require.NoError(b, err)
	}
	it, err := l1r.Get(ctx, ids[0], 0)
	require.NoError(b, err)
	require.Equal(b, "l1", it.Source)
	it, err = l2r.Get(ctx, ids[0], 0)
	require.NoError(b, err)
	require.Equal(b, "l2", it.Source)
	it, err = l3r.Get(ctx, ids[0], 0)
	require.NoError(b, err)
	require.Equal(b, "l3", it.Source)
	_, err = fr.Get(ctx, "absent.0", 0)
	require.Error(b, err)

	key := e.cache.Config().Prefix + "item:"
	cases := []struct {
		name string
		op   func(i int) error
	}{
		{"baseline_sql_get", func(i int) error { _, err := e.sql.Get(ctx, ids[i%benchItems]); return err }},
		{"baseline_redis_hgetall", func(i int) error { return e.rc.HGetAll(ctx, key+ids[i%benchItems]).Err() }},
		{"l1_hit", func(i int) error { _, err := l1r.Get(ctx, ids[i%benchItems], 0); return err }},
		{"l2_hit", func(i int) error { _, err := l2r.Get(ctx, ids[i%benchItems], 0); return err }},
		{"l3_hit", func(i int) error { _, err := l3r.Get(ctx, ids[i%benchItems], 0); return err }},
		{"filter_absent", func(i int) error {
			if _, err := fr.Get(ctx, "absent."+ids[i%benchItems], 0); err == nil {
				return fmt.Errorf("absent id found")
			}
			return nil
		}},
	}
	// All cases in turn, one operation each per iteration: a change in the
	// machine's or Redis's load (shared machines) hits every case alike.
	b.Run("interleaved", func(b *testing.B) {
		lat := make([][]time.Duration, len(cases))
		for k := range lat {
			lat[k] = make([]time.Duration, 0, min(b.N, 1<<20))
		}
		b.ResetTimer()
		for i := range b.N {
			for k, c := range cases {
				t0 := time.Now()
				if err := c.op(i); err != nil {
					b.Fatal(err)
				}
				if len(lat[k]) < cap(lat[k]) {
					lat[k] = append(lat[k], time.Since(t0))
				}
			}
		}
		b.StopTimer()
		for k, c := range cases {
			l := lat[k]
			slices.Sort(l)
			var sum time.Duration
			for _, d := range l {
				sum += d
			}
			b.ReportMetric(float64(sum.Nanoseconds())/float64(len(l)), c.name+"-mean-ns")
			b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), c.name+"-p50-ns")
			b.ReportMetric(float64(l[len(l)*99/100].Nanoseconds()), c.name+"-p99-ns")
		}
	})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, min(b.N, 1<<22))
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				if err := c.op(i); err != nil {
					b.Fatal(err)
				}
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0))
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			var n atomic.Int64
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.op(int(n.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "ops/s")
		})
	}
}
