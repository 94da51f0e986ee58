package reconciler

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// pipeline is a real embedded NATS with the pipeline's assets, a real SQL
// database and a real Redis prefix; commit plays the writer: it applies a
// batch to SQL and publishes its commit record.
type pipeline struct {
	t     testing.TB
	sql   store.Backend
	cache *rediscache.Cache
	js    jetstream.JetStream
	names wal.Names
	logw  io.Writer
	mu    sync.Mutex
}

func newPipeline(t testing.TB) *pipeline { return newPipelineIn(t, "") }

// newPipelineIn keeps the NATS store in storeDir ("" = t.TempDir()).
func newPipelineIn(t testing.TB, storeDir string) *pipeline {
	t.Helper()
	srv := waltest.Start(t, waltest.Options{StoreDir: storeDir})
	nc := waltest.Connect(t, srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	cfg := wal.Config{Prefix: "sync", LeaseTTL: time.Second}
	require.NoError(t, wal.Provision(context.Background(), js, cfg))
	return &pipeline{t: t, sql: newSQL(t), cache: newCache(t), js: js, names: cfg.Names(), logw: testWriter{t}}
}

// commit applies ws to SQL and publishes the commit record.
func (p *pipeline) commit(ws *writes) store.Result {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	res := ws.apply(p.t, p.sql)
	rec := wal.CommitRecord{V: wal.CommitRecordVersion, Origin: "test", Writer: "test", Root: res.Root.String()}
	for _, c := range res.Changes {
		cc := wal.CommitChange{ID: c.ID, Version: c.Version, Deleted: c.Deleted, State: c.State,
			ContentType: c.ContentType, CacheTTL: int64(c.CacheTTL / time.Second), Seq: c.Seq}
		if !c.Deleted {
			cc.Leaf = c.Leaf.String()
		}
		rec.Changes = append(rec.Changes, cc)
	}
	_, err := wal.PublishCommit(context.Background(), p.js, p.names, rec)
	require.NoError(p.t, err)
	return res
}

type testReconciler struct {
	*Reconciler
	reg *prometheus.Registry
}

func (p *pipeline) start(instance string, cfg Config) testReconciler {
	p.t.Helper()
	cfg.Instance = instance
	cfg.NoSettle = true
	if cfg.RootCheckInterval == 0 {
		cfg.RootCheckInterval = 100 * time.Millisecond
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(p.logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, err := New(cfg, p.names, p.js, p.sql, p.cache, lifecycle.NewTracker(reg), reg, log, func(err error) {
		p.t.Errorf("fatal: %v", err)
	})
	require.NoError(p.t, err)
	require.NoError(p.t, r.Start(context.Background()))
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(p.t, r.Stop(ctx))
	})
	return testReconciler{Reconciler: r, reg: reg}
}

// metric returns the value of a gauge or counter (summed over labels).
func (tr testReconciler) metric(t testing.TB, name string) float64 {
	t.Helper()
	mfs, err := tr.reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// labeled returns the value of one labelled series of a gauge.
func (tr testReconciler) labeled(t testing.TB, name, label, value string) float64 {
	t.Helper()
	mfs, err := tr.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

func waitFor(t testing.TB, what string, timeout time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !f() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Logf("%s", buf[:n])
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *pipeline) inSync() bool {
	ctx := context.Background()
	a, err := p.sql.Root(ctx)
	require.NoError(p.t, err)
	b, err := p.cache.Tree().Root(ctx)
	require.NoError(p.t, err)
	return a == b
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
