package e2e

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/bench"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
	"github.com/syncline/syncline/pkg/store/storetest"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// The command name may hold spaces and parentheses.
	line := []byte("4242 (we ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 8 0 100 1000 10 0\n")
	cpu, err := parseStatCPU(line)
	require.NoError(t, err)
	require.Equal(t, 3800*time.Millisecond, cpu) // (250 + 130) ticks of 10 ms
	_, err = parseStatCPU([]byte("1 (x) S 1"))
	require.Error(t, err)
}

func TestParseStatusKB(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tingest\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n")
	kb, err := parseStatusKB(status, "VmHWM")
	require.NoError(t, err)
	require.EqualValues(t, 51200, kb)
	_, err = parseStatusKB(status, "VmSwap")
	require.Error(t, err)
}

func TestReadProcStatOfThisProcess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	s, err := ReadProcStat(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, s.PeakRSS)
	require.GreaterOrEqual(t, s.CPU, time.Duration(0))
}

func TestVerdictsAndPlot(t *testing.T) {
	t.Parallel()
	level := func(f, offered, sqlP99, redisP99 float64) Phase {
		return Phase{Name: "x", Fraction: f, Result: bench.Report{OfferedRate: offered, Throughput: offered, SQLRowsPerS: offered,
			SQLVisible: bench.Percentiles{P50: sqlP99 / 3, P99: sqlP99, N: 10}, RedisVisible: &bench.Percentiles{P50: redisP99 / 3, P99: redisP99, N: 10}}}
	}
	r := &Report{
		Machine:  Machine{NProc: 2, Commit: "0123456789abcdef", LoadStart: "1 1 1"},
		Settings: Settings{Writers: 1, Durability: "fsync"},
		Limits:   Limits{Upsert: Rate{N: 10, PerSecond: 20000}},
		Naive:    Rate{N: 10, PerSecond: 500},
		Max:      Phase{Result: bench.Report{Throughput: 15000, SQLRowsPerS: 12000}},
		Levels:   []Phase{level(0.25, 3000, 80, 120), level(0.5, 6000, 300, 400), level(0.9, 10800, 2000, 2500)},
	}
	require.InDelta(t, 12000, r.MaxRate(), 1e-9)
	r.judge()
	met := map[string]bool{}
	for _, v := range r.Verdicts {
		met[v.Target] = v.Met
	}
	require.Equal(t, map[string]bool{
		"rows/s into SQL vs raw batched upsert":     true, // 0.6
		"rows/s into SQL vs naive pipeline":         true, // 24x
		"freshness p99 into SQL at 50% load (ms)":   false,
		"freshness p99 into Redis at 50% load (ms)": true,
	}, met)

	var out bytes.Buffer
	r.Print(&out)
	require.Contains(t, out.String(), "| 50% | 6,000 |")

	path := filepath.Join(t.TempDir(), "plot", "e2e.png")
	require.NoError(t, WritePlot(r, path))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Greater(t, img.Bounds().Dx(), 500)
}

// TestRunTiny runs the whole benchmark at a tiny size: binaries built,
// every phase, every process, and everything removed afterwards.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and starts every process")
	}
	storetest.PostgresURL(t) // skips, or fails under CI, without PostgreSQL
	redistest.Client(t)      // the same for Redis
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	rep, err := Run(ctx, Config{
		N: 400, Warmup: 40, Levels: []float64{0.5}, LevelDuration: time.Second,
		NaiveN: 100, NaiveBudget: 2 * time.Second, ScaleWriters: []int{1, 2},
		PostgresURL: storetest.BaseURL(), RedisURL: redistest.URL(), Log: &log,
	})
	require.NoError(t, err, log.String())

	require.Equal(t, 400, rep.Limits.Publish.N)
	require.Positive(t, rep.Limits.Publish.PerSecond)
	require.Positive(t, rep.Limits.Upsert.PerSecond)
	require.Positive(t, rep.Limits.HSet.PerSecond)
	require.Positive(t, rep.Naive.N)
	require.Equal(t, 400, rep.Max.Result.Acked)
	require.Equal(t, 400, rep.Max.Result.SQLSeen, "every acknowledged write reaches SQL")
	require.NotNil(t, rep.Max.Result.RedisVisible)
	require.Equal(t, rep.Max.Result.RedisSampled, rep.Max.Result.RedisSeen, "every sampled write reaches Redis")
	require.Len(t, rep.Levels, 1)
	require.Len(t, rep.Scaling, 4) // through ingest and direct, 1 and 2 writers
	require.Equal(t, 2, rep.Scaling[3].Writers)
	require.True(t, rep.Scaling[3].Direct)
	require.Equal(t, 400, rep.Scaling[3].Result.SQLSeen)
	var names []string
	for _, u := range rep.Max.Procs {
		names = append(names, u.Process)
	}
	require.Subset(t, names, []string{"nats-server", "ingest", "writer-1", "reconciler"})
	require.Len(t, rep.Verdicts, 4)
	require.NoError(t, WritePlot(rep, filepath.Join(t.TempDir(), "e2e.png")))

	// Nothing is left behind.
	conn, err := pgx.Connect(ctx, storetest.BaseURL())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var schemas int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", "e2e_"+rep.RunID+"_%").Scan(&schemas))
	require.Zero(t, schemas)
	rc, _ := redistest.Client(t)
	var left []string
	iter := rc.Scan(ctx, 0, "e2e:"+rep.RunID+":*", 1000).Iterator()
	for iter.Next(ctx) {
		left = append(left, iter.Val())
	}
	require.NoError(t, iter.Err())
	require.Empty(t, left)
	require.False(t, strings.Contains(log.String(), "kept "), "temp dir removed")
}
