package writer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storesqlite"
	"github.com/syncline/syncline/pkg/store/storetest"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// env is one pipeline: an embedded NATS server with the streams
// provisioned, and a SQL store.
type env struct {
	t     testing.TB
	nc    *nats.Conn
	js    jetstream.JetStream
	wal   wal.Config
	names wal.Names
	sql   store.Backend
	proxy *storetest.Proxy // Postgres only
}

// backends are the SQL stores every writer test runs against.
var backends = []string{"postgres", "sqlite"}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newEnv(t *testing.T, backend string, wcfg wal.Config, sc store.Config) *env {
	t.Helper()
	return newEnvTB(t, backend, wcfg, sc)
}

func newEnvTB(t testing.TB, backend string, wcfg wal.Config, sc store.Config) *env {
	t.Helper()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	wcfg = wcfg.WithDefaults()
	require.NoError(t, wal.Provision(ctxT(t), js, wcfg))
	e := &env{t: t, nc: nc, js: js, wal: wcfg, names: wcfg.Names()}
	switch backend {
	case "postgres":
		url, proxy := storetest.ProxiedPostgresURL(t)
		b, err := storepg.Open(ctxT(t), url, sc)
		require.NoError(t, err)
		e.sql, e.proxy = b, proxy
	default:
		b, err := storesqlite.Open(ctxT(t), strings.TrimPrefix(storetest.SQLiteURL(t), "sqlite:"), sc)
		require.NoError(t, err)
		e.sql = b
	}
	t.Cleanup(func() { _ = e.sql.Close() })
	return e
}

// running is a started writer with its registry and stage.
type running struct {
	*writer.Writer
	reg   *prometheus.Registry
	stage *lifecycle.Stage
}

// sinkFunc wraps a store's ApplyBatch (fault injection).
type sinkFunc struct {
	store.Backend
	apply func(ctx context.Context, ws []store.Write) (store.Result, error)
}

func (s sinkFunc) ApplyBatch(ctx context.Context, ws []store.Write) (store.Result, error) {
	return s.apply(ctx, ws)
}

func (e *env) start(cfg writer.Config, sink store.Backend, now func() time.Time) *running {
	e.t.Helper()
	if sink == nil {
		sink = e.sql
	}
	reg := prometheus.NewRegistry()
	stage := lifecycle.NewTracker(reg).Stage("writer")
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SYNCLINE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w, err := writer.New(writer.Params{JetStream: e.js, WAL: e.wal, Store: sink, Config: cfg,
		Registerer: reg, Stage: stage, Now: now, Log: log})
	require.NoError(e.t, err)
	require.NoError(e.t, w.Start(context.Background()))
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(e.t, w.Stop(ctx))
	})
	return &running{Writer: w, reg: reg, stage: stage}
}

// publish appends writes to the WAL and returns their sequences.
func (e *env) publish(ws ...wal.Write) []uint64 {
	e.t.Helper()
	seqs := make([]uint64, len(ws))
	for i, w := range ws {
		ack, err := e.js.PublishMsg(ctxT(e.t), w.Encode(e.names))
		require.NoError(e.t, err)
		seqs[i] = ack.Sequence
	}
	return seqs
}

// publishAsync appends many writes quickly.
func (e *env) publishAsync(ws []wal.Write) {
	e.t.Helper()
	for i, w := range ws {
		_, err := e.js.PublishMsgAsync(w.Encode(e.names))
		require.NoError(e.t, err)
		if i%2000 == 1999 {
			<-e.js.PublishAsyncComplete()
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		e.t.Fatal("async publish did not complete")
	}
}

func (e *env) publishRaw(subject string, h nats.Header, data []byte) uint64 {
	e.t.Helper()
	ack, err := e.js.PublishMsg(ctxT(e.t), &nats.Msg{Subject: subject, Header: h, Data: data})
	require.NoError(e.t, err)
	return ack.Sequence
}

// waitDrained waits until every WAL message is acknowledged.
func (e *env) waitDrained(total time.Duration) {
	e.t.Helper()
	checkFor(e.t, total, 20*time.Millisecond, func() error {
		c, err := e.js.Consumer(ctxT(e.t), e.names.WALStream(), e.names.Consumer())
		if err != nil {
			return err
		}
		info, err := c.Info(ctxT(e.t))
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 {
			return fmt.Errorf("pending %d, ack pending %d", info.NumPending, info.NumAckPending)
		}
		return nil
	})
}

func (e *env) consumerInfo() *jetstream.ConsumerInfo {
	e.t.Helper()
	c, err := e.js.Consumer(ctxT(e.t), e.names.WALStream(), e.names.Consumer())
	require.NoError(e.t, err)
	info, err := c.Info(ctxT(e.t))
	require.NoError(e.t, err)
	return info
}

// dlq returns the dead letters, in order.
func (e *env) dlq() []jetstream.Msg {
	e.t.Helper()
	return e.drain(e.names.DLQStream())
}

// commits returns the commit feed records, in order.
func (e *env) commits() []wal.CommitRecord {
	e.t.Helper()
	var out []wal.CommitRecord
	for _, m := range e.drain(e.names.CommitsStream()) {
		r, err := wal.DecodeCommit(m.Data())
		require.NoError(e.t, err)
		out = append(out, r)
	}
	return out
}

func (e *env) drain(stream string) []jetstream.Msg {
	e.t.Helper()
	c, err := e.js.OrderedConsumer(ctxT(e.t), stream, jetstream.OrderedConsumerConfig{})
	require.NoError(e.t, err)
	var out []jetstream.Msg
	for {
		batch, err := c.FetchNoWait(1000)
		require.NoError(e.t, err)
		n := 0
		for m := range batch.Messages() {
			out = append(out, m)
			n++
		}
		if n == 0 {
			return out
		}
	}
}

// want is the LWW reference over WAL writes with their sequences.
func want(ws []wal.Write, seqs []uint64) map[string]store.Write {
	out := map[string]store.Write{}
	for i, w := range ws {
		op := store.OpPut
		if w.Op == wal.OpDel {
			op = store.OpDelete
		}
		sw := store.Write{Seq: seqs[i], ID: w.ID, Op: op, Version: w.Version, Payload: w.Payload}
		if cur, ok := out[w.ID]; !ok || store.Wins(store.StampOf(sw), store.StampOf(cur)) {
			out[w.ID] = sw
		}
	}
	return out
}

// requireTable checks that the SQL table is exactly the LWW winners and
// the tree is consistent.
func (e *env) requireTable(want map[string]store.Write) {
	e.t.Helper()
	rows := storetest.All(e.t, e.sql)
	require.Len(e.t, rows, len(want))
	for _, it := range rows {
		w, ok := want[it.ID]
		require.True(e.t, ok, "unexpected row %q", it.ID)
		require.Equal(e.t, w.EffectiveVersion(), it.Version, "version of %q", it.ID)
		require.Equal(e.t, w.Op == store.OpDelete, it.Deleted, "deleted of %q", it.ID)
		if !it.Deleted {
			require.Equal(e.t, string(w.Payload), string(it.Payload), "payload of %q", it.ID)
		}
	}
	storetest.RequireConsistent(e.t, e.sql, merkle.DefaultConfig)
}

func checkFor(t testing.TB, total, step time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(step)
	}
	t.Fatalf("condition not met after %s: %v", total, err)
}

func counter(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := true
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				match = match && found
			}
			if !match {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}

// clock is a settable time source shared by a store and a writer.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

var errInjected = errors.New("injected failure")
