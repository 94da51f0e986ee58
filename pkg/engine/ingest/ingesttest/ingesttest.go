// Package ingesttest starts a real, small Syncline pipeline for tests of
// the client API: an embedded NATS server (or a shared one), the streams
// provisioned for a prefix, the ingest service, a writer draining the WAL
// into a SQLite (or PostgreSQL) database, a Reader over that database and,
// on request, the machine's Redis for the cache route. Everything stops
// when the test ends. No reconciler runs: Redis holds only what the cache
// route writes.
package ingesttest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storesqlite"
	"github.com/syncline/syncline/pkg/store/storetest"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// Options shape a Pipeline. The zero value is a SQLite pipeline with
// prefix "sync" on a server of its own, without Redis.
type Options struct {
	// Server is a running server to share (two pipelines on one NATS);
	// nil starts one.
	Server *server.Server
	// ServerOptions configure the server this package starts.
	ServerOptions waltest.Options
	// WAL is the pipeline's WAL config (Prefix selects the pipeline).
	WAL wal.Config
	// Ingest and Query tune the ingest service.
	Ingest ingest.Config
	Query  ingest.QueryConfig
	// Postgres uses a private PostgreSQL schema instead of SQLite.
	Postgres bool
	// Redis gives ingest the machine's Redis for the cache route.
	Redis bool
	// NoWriter leaves the WAL undrained.
	NoWriter bool
	// Writer tunes the writer. Zero fields: batches of 200, FetchWait
	// 20ms, and PendingInterval 1h, which keeps the writer from trimming
	// the WAL during the test (it trims to its ack floor at each pending
	// refresh), so that tests can inspect the WAL messages they caused.
	Writer writer.Config
}

// Pipeline is one running pipeline.
type Pipeline struct {
	Server *server.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
	WAL    wal.Config
	Names  wal.Names
	SQL    store.Backend
	Cache  *rediscache.Cache // nil without Options.Redis
	Client *client.Client
	Svc    *ingest.Service
}

// Start starts a pipeline for t.
func Start(t testing.TB, o Options) *Pipeline {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := o.Server
	if srv == nil {
		srv = waltest.Start(t, o.ServerOptions)
	}
	nc := waltest.Connect(t, srv)
	js, err := jetstream.New(nc)
	must(t, err)
	wcfg := o.WAL.WithDefaults()
	must(t, wal.Provision(ctx, js, wcfg))
	p := &Pipeline{Server: srv, Conn: nc, JS: js, WAL: wcfg, Names: wcfg.Names()}

	if o.Postgres {
		b, err := storepg.Open(ctx, storetest.PostgresURL(t), store.Config{Tree: merkle.DefaultConfig})
		must(t, err)
		p.SQL = b
	} else {
		b, err := storesqlite.Open(ctx, strings.TrimPrefix(storetest.SQLiteURL(t), "sqlite:"), store.Config{Tree: merkle.DefaultConfig})
		must(t, err)
		p.SQL = b
	}
	t.Cleanup(func() { _ = p.SQL.Close() })
	q := ingest.Queries{Store: p.SQL, Config: o.Query}
	if o.Redis {
		rc, prefix := redistest.Client(t)
		c, err := rediscache.New(rc, rediscache.Config{Prefix: prefix, Tree: merkle.DefaultConfig})
		must(t, err)
		p.Cache, q.Cache = c, c
	}

	pub, err := wal.NewPublisher(nc, wcfg)
	must(t, err)
	svc, err := ingest.New(ingest.Params{
		Conn: nc, JetStream: js, Publisher: pub, WAL: wcfg, Config: o.Ingest,
		Reader: SQLReader{SQL: p.SQL}, Registerer: prometheus.NewRegistry(), Queries: q,
	})
	must(t, err)
	must(t, svc.Start(ctx))
	p.Svc = svc
	if !o.NoWriter {
		wc := o.Writer
		if wc.BatchSize == 0 {
			wc.BatchSize = 200
		}
		if wc.FetchWait == 0 {
			wc.FetchWait = 20 * time.Millisecond
		}
		if wc.PendingInterval == 0 {
			wc.PendingInterval = time.Hour
		}
		w, err := writer.New(writer.Params{JetStream: js, WAL: wcfg, Store: p.SQL,
			Config:     wc,
			Registerer: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
		must(t, err)
		must(t, w.Start(ctx))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = w.Stop(ctx)
		})
	}
	// Registered after the writer's: cleanups run in reverse, so ingest
	// stops (and its writes in flight are answered) before the writer.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
		_ = pub.Close(ctx)
	})
	cl, err := client.New(nc, client.WithPrefix(wcfg.Prefix), client.WithTimeout(20*time.Second))
	must(t, err)
	p.Client = cl
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("ingesttest: %v", err)
	}
}

// SQLReader is an ingest.Reader over SQL alone (tier l3). ingest waits for
// the writers' ack floor before a read with a sequence, so SQL includes it.
type SQLReader struct {
	SQL interface {
		Get(ctx context.Context, id string) (store.Item, error)
	}
}

// Get implements ingest.Reader.
func (r SQLReader) Get(ctx context.Context, id string, _ uint64) (ingest.Item, error) {
	it, err := r.SQL.Get(ctx, id)
	if err != nil {
		return ingest.Item{}, translate(err)
	}
	return ingest.Item{ID: it.ID, Version: it.Version, Payload: it.Payload, ContentType: it.ContentType,
		State: it.State, Source: "l3"}, nil
}

// Exists implements ingest.Reader.
func (r SQLReader) Exists(ctx context.Context, id string) (bool, error) {
	_, err := r.SQL.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, translate(err)
}

func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &item.Error{Code: item.CodeNotFound, Message: "no such item"}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &item.Error{Code: item.CodeUnavailable, Message: "SQL is unavailable", RetryAfterSeconds: 1, Err: err}
	}
	return err
}
