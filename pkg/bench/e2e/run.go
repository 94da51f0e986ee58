package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/syncline/syncline/pkg/bench"
	"github.com/syncline/syncline/pkg/wal"
)

// PostgresBackends names the pipeline's PostgreSQL backends in the
// process table (CPU only: their RSS is mostly shared buffers).
const PostgresBackends = "postgres (the pipeline's backends)"

// redisSample: every Nth id of a run is polled in Redis.
const redisSample = 20

// runner holds one run's shared resources.
type runner struct {
	cfg     Config
	run     string // random tag of this run
	tmp     string
	bins    Binaries
	schemas *schemas
	rc      *redis.Client
	rep     *Report
	pg      pgCPU // the pipeline's PostgreSQL backends
}

// Run performs the whole benchmark and returns its report. Every resource
// it creates is removed before it returns (unless cfg.Keep keeps the temp
// dir), also on error or cancellation.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	r := &runner{cfg: cfg, run: runID(), schemas: &schemas{base: cfg.PostgresURL}}
	r.rep = &Report{RunID: r.run, Machine: readMachine(ctx), Settings: Settings{
		N: cfg.N, Concurrency: cfg.Concurrency, PayloadSize: cfg.PayloadSize, Tenants: cfg.Tenants,
		Writers: cfg.Writers, Durability: cfg.Durability, LevelSeconds: cfg.LevelDuration.Seconds(),
		NaiveN: cfg.NaiveN, NaiveBudgetS: cfg.NaiveBudget.Seconds(), ServerSync: serverSync(cfg.Durability),
		WriterBatch: 1000, RedisSampling: redisSample,
	}}
	if r.tmp, err = os.MkdirTemp("", "syncline-e2e-"); err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		err = errors.Join(err, r.cleanup(cctx))
	}()

	if cfg.BinDir != "" {
		r.bins = Binaries{Dir: cfg.BinDir}
		if err := r.bins.Check(); err != nil {
			return nil, err
		}
	} else {
		r.logf("building ingest, writer, reconciler and nats-server into %s", r.tmp)
		if r.bins, err = Build(ctx, filepath.Join(r.tmp, "bin")); err != nil {
			return nil, err
		}
	}
	if r.rep.Machine.Postgres, err = pgVersion(ctx, cfg.PostgresURL); err != nil {
		return nil, err
	}
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("e2e: redis url: %w", err)
	}
	r.rc = redis.NewClient(ropts)
	if err := r.rc.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("e2e: Redis: %w", err)
	}
	r.rep.Machine.Redis = redisVersion(ctx, r.rc)

	if err := r.limits(ctx); err != nil {
		return nil, err
	}
	if err := r.syncline(ctx); err != nil {
		return nil, err
	}
	r.rep.Machine.LoadEnd = loadAvgText()
	r.rep.judge()
	return r.rep, nil
}

func serverSync(durability string) string {
	if durability == "fsync" {
		return "always"
	}
	return "every 2m (default)"
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "%s e2e: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (r *runner) redisPrefix(part string) string { return "e2e:" + r.run + ":" + part + ":" }

// cleanup drops the schemas, deletes the Redis keys and the temp dir.
func (r *runner) cleanup(ctx context.Context) error {
	errs := []error{r.schemas.dropAll(ctx)}
	if r.rc != nil {
		errs = append(errs, purgeRedis(ctx, r.rc, "e2e:"+r.run+":"), r.rc.Close())
	}
	if !r.cfg.Keep {
		errs = append(errs, os.RemoveAll(r.tmp))
	} else {
		r.logf("kept %s (binaries, server stores, stage logs)", r.tmp)
	}
	return errors.Join(errs...)
}

// limits measures the raw limits and the naive pipeline, on a nats-server
// of their own with the default sync interval.
func (r *runner) limits(ctx context.Context) error {
	cfg := r.cfg
	ns, err := startNATS(ctx, "nats-limits", r.bins.Path("nats-server"), filepath.Join(r.tmp, "nats-limits"), false, r.tmp)
	if err != nil {
		return err
	}
	defer ns.stop(stopGrace)
	nc, err := nats.Connect(ns.url)
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	defer nc.Close()
	r.rep.Machine.NATS = nc.ConnectedServerVersion()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.Concurrency))
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	rows := makeRows(cfg.N, cfg.Tenants, cfg.PayloadSize)

	r.logf("limit: %d async JetStream publishes", cfg.N)
	before := ns.stat()
	if r.rep.Limits.Publish, err = publishLimit(ctx, js, wal.Config{Prefix: "limit"}, rows, cfg.Concurrency); err != nil {
		return err
	}
	r.rep.Limits.Publish.CPUSeconds = (ns.stat().CPU - before.CPU).Seconds()

	rawURL, rawPG, err := r.sqlSchema(ctx, "raw")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	r.logf("limit: %d rows by unnest upsert", cfg.N)
	pgBefore := rawPG.sample(ctx)
	r.rep.Limits.Upsert, err = upsertLimit(ctx, conn, rows)
	r.rep.Limits.Upsert.CPUSeconds = cpuSince(pgBefore, rawPG.sample(ctx)).Seconds()
	_ = conn.Close(ctx)
	if err != nil {
		return err
	}

	r.logf("limit: %d pipelined HSETs", cfg.N)
	if r.rep.Limits.HSet, err = hsetLimit(ctx, r.rc, r.redisPrefix("raw"), rows); err != nil {
		return err
	}
	if err := purgeRedis(ctx, r.rc, r.redisPrefix("raw")); err != nil {
		return err
	}

	naiveURL, naivePG, err := r.sqlSchema(ctx, "naive")
	if err != nil {
		return err
	}
	if conn, err = pgx.Connect(ctx, naiveURL); err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	defer conn.Close(ctx)
	r.logf("naive pipeline: up to %d messages or %s", cfg.NaiveN, cfg.NaiveBudget)
	nrows := makeRows(cfg.NaiveN, cfg.Tenants, cfg.PayloadSize)
	pgBefore = naivePG.sample(ctx)
	r.rep.Naive, err = naivePipeline(ctx, js, wal.Config{Prefix: "naive"}, conn, nrows, cfg.NaiveBudget)
	r.rep.Naive.CPUSeconds = cpuSince(pgBefore, naivePG.sample(ctx)).Seconds()
	return err
}

// sqlSchema creates a private schema and returns its URL, tagged with an
// application_name, and the probe of its backends' CPU.
func (r *runner) sqlSchema(ctx context.Context, suffix string) (string, pgCPU, error) {
	u, err := r.schemas.create(ctx, r.run, suffix)
	if err != nil {
		return "", pgCPU{}, err
	}
	app := "syncline-e2e-" + r.run + "-" + suffix
	if u, err = withAppName(u, app); err != nil {
		return "", pgCPU{}, err
	}
	return u, pgCPU{base: r.cfg.PostgresURL, app: app}, nil
}

// syncline runs the pipeline: maximal run, paced runs, writer scaling.
func (r *runner) syncline(ctx context.Context) error {
	cfg := r.cfg
	ns, err := startNATS(ctx, "nats-server", r.bins.Path("nats-server"), filepath.Join(r.tmp, "nats"), cfg.Durability == "fsync", r.tmp)
	if err != nil {
		return err
	}
	defer ns.stop(stopGrace)
	nc, err := nats.Connect(ns.url, nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	defer nc.Close()
	walCfg := wal.Config{Prefix: "e2e" + r.run}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("e2e: %w", err)
	}
	if err := wal.Provision(ctx, js, walCfg); err != nil {
		return err
	}
	sqlURL, pg, err := r.sqlSchema(ctx, "sync")
	if err != nil {
		return err
	}
	r.pg = pg
	r.logf("starting reconciler, %d writer(s), ingest (durability %s) on %s", cfg.Writers, cfg.Durability, ns.url)
	p, err := startPipeline(ctx, r.bins, ns, r.tmp, pipelineConfig{
		Prefix: walCfg.Prefix, SQLURL: sqlURL, RedisURL: r.cfg.RedisURL, RedisPrefix: r.redisPrefix("sync"),
		Durability: cfg.Durability, Writers: cfg.Writers, Pprof: cfg.ProfileDir != "",
	})
	if err != nil {
		return err
	}
	defer p.stop()
	names := walCfg.WithDefaults().Names()

	if cfg.Warmup > 0 {
		r.logf("warm-up: %d puts", cfg.Warmup)
		if _, err := r.phase(ctx, nc, names, p, "warmup", 0, cfg.Warmup, 0); err != nil {
			return err
		}
	}
	r.logf("maximal run: %d puts, %d in flight", cfg.N, cfg.Concurrency)
	if r.rep.Max, err = r.phase(ctx, nc, names, p, "max", 0, cfg.N, 0); err != nil {
		return err
	}
	maxRate := r.rep.MaxRate()
	if maxRate <= 0 {
		return fmt.Errorf("e2e: the maximal run reached no SQL rows (acks/s %.0f)", r.rep.Max.Result.Throughput)
	}
	for _, f := range cfg.Levels {
		rate := f * maxRate
		n := max(1, int(rate*cfg.LevelDuration.Seconds()))
		name := fmt.Sprintf("load%.0f", 100*f)
		r.logf("paced run: %.0f%% of %.0f = %.0f puts/s for %s", 100*f, maxRate, rate, cfg.LevelDuration)
		ph, err := r.phase(ctx, nc, names, p, name, rate, n, f)
		if err != nil {
			return err
		}
		r.rep.Levels = append(r.rep.Levels, ph)
	}
	for _, k := range slices.Sorted(slices.Values(cfg.ScaleWriters)) {
		if err := r.setWriters(ctx, p, k); err != nil {
			return err
		}
		if k == cfg.Writers {
			ph := r.rep.Max
			ph.Name = fmt.Sprintf("writers%d", k)
			r.rep.Scaling = append(r.rep.Scaling, ph)
		} else {
			r.logf("maximal run with %d writers", k)
			ph, err := r.phase(ctx, nc, names, p, fmt.Sprintf("writers%d", k), 0, cfg.N, 0)
			if err != nil {
				return err
			}
			r.rep.Scaling = append(r.rep.Scaling, ph)
		}
		r.logf("maximal run with %d writers, published straight into the WAL", k)
		ph, err := r.phase(ctx, nc, names, p, fmt.Sprintf("direct%d", k), 0, cfg.N, 0)
		if err != nil {
			return err
		}
		r.rep.Scaling = append(r.rep.Scaling, ph)
	}
	return nil
}

// setWriters starts or stops writer processes until k run.
func (r *runner) setWriters(ctx context.Context, p *pipeline, k int) error {
	for len(p.writers) > k {
		last := p.writers[len(p.writers)-1]
		last.stop(stopGrace)
		p.writers = p.writers[:len(p.writers)-1]
	}
	for len(p.writers) < k {
		if err := p.addWriter(ctx); err != nil {
			return err
		}
	}
	return nil
}

// phase runs the load generator once (n puts at rate, 0 = maximal) and
// reads every process's CPU and peak RSS around it.
func (r *runner) phase(ctx context.Context, nc *nats.Conn, names wal.Names, p *pipeline, name string, rate float64, n int, fraction float64) (Phase, error) {
	cfg := r.cfg
	procs := p.procs()
	before := make([]ProcStat, len(procs))
	for i, c := range procs {
		before[i] = c.stat()
	}
	self, _ := ReadProcStat(os.Getpid())
	pgBefore := r.pg.sample(ctx)
	var prof profiler
	if cfg.ProfileDir != "" && (name == "max" || name == "load50") {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return Phase{}, fmt.Errorf("e2e: %w", err)
		}
		prof.start(ctx, procs, cfg.ProfileDir, name, cfg.ProfileSeconds)
	}
	direct := strings.HasPrefix(name, "direct")
	res, err := bench.Run(ctx, nc, names, bench.Config{
		Direct: direct, GroupCommit: direct && cfg.Durability == "fsync",
		N: n, Concurrency: cfg.Concurrency, PayloadSize: cfg.PayloadSize, Tenants: cfg.Tenants, Rate: rate,
		VisibleTimeout: max(time.Minute, 2*cfg.LevelDuration),
		Redis:          r.rc, RedisPrefix: r.redisPrefix("sync"), RedisSample: redisSample,
		Progress: cfg.Progress,
	})
	for _, e := range prof.wait() {
		r.logf("%v", e)
	}
	if cfg.ProfileDir != "" && (name == "max" || name == "load50") {
		for _, c := range procs {
			if c.profileURL != "" {
				r.rep.Profiles = append(r.rep.Profiles, filepath.Join(cfg.ProfileDir, name+"-"+c.name+".pprof"))
			}
		}
	}
	if err != nil {
		return Phase{}, err
	}
	if err := p.alive(); err != nil {
		return Phase{}, err
	}
	ph := Phase{Name: name, Fraction: fraction, Writers: len(p.writers), Direct: direct, Result: res, LoadAvg: loadAvg()}
	for i, c := range procs {
		ph.Procs = append(ph.Procs, usage(c.name, before[i], c.stat(), res.Acked))
	}
	selfAfter, _ := ReadProcStat(os.Getpid())
	ph.Procs = append(ph.Procs, usage("bench (load generator)", self, selfAfter, res.Acked))
	if pgAfter := r.pg.sample(ctx); len(pgAfter) > 0 {
		ph.Procs = append(ph.Procs, usage(PostgresBackends, ProcStat{}, ProcStat{CPU: cpuSince(pgBefore, pgAfter)}, res.Acked))
	}
	r.logf("%s: %.0f acks/s, %.0f SQL rows/s, ack p99 %.1f ms, SQL p50/p99 %.0f/%.0f ms, %d errors",
		name, res.Throughput, res.SQLRowsPerS, res.Ack.P99, res.SQLVisible.P50, res.SQLVisible.P99, res.Writes-res.Acked)
	return ph, nil
}

func usage(name string, before, after ProcStat, writes int) ProcUsage {
	cpu := (after.CPU - before.CPU).Seconds()
	return ProcUsage{Process: name, CPUSeconds: cpu, CPUPerMillion: perMillion(cpu, writes),
		PeakRSSMiB: float64(after.PeakRSS) / (1 << 20)}
}
