package ingest

import (
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// Module runs the ingest service: started with the app, stopped (before
// the connection is drained) on shutdown. It needs a *nats.Conn, a
// jetstream.JetStream, a *wal.Publisher and a wal.Config (wal.Module), a
// Config, a prometheus.Registerer and a *lifecycle.Tracker
// (lifecycle.Module); a Reader, a store.Backend (the query endpoints) and
// a *rediscache.Cache (the cache route) are optional.
var Module = fx.Module("ingest",
	fx.Provide(newFx),
	fx.Invoke(func(lc fx.Lifecycle, s *Service) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)

type fxParams struct {
	fx.In
	Conn      *nats.Conn
	JetStream jetstream.JetStream
	Publisher *wal.Publisher
	// Appender, when provided (a group committer), replaces Publisher.
	Appender   Appender `optional:"true"`
	WAL        wal.Config
	Config     Config
	Reader     Reader            `optional:"true"`
	Store      store.Backend     `optional:"true"`
	Cache      *rediscache.Cache `optional:"true"`
	Registerer prometheus.Registerer
	Tracker    *lifecycle.Tracker
}

func newFx(p fxParams) (*Service, error) {
	var pub Appender = p.Publisher
	if p.Appender != nil {
		pub = p.Appender
	}
	return New(Params{
		Conn: p.Conn, JetStream: p.JetStream, Publisher: pub, WAL: p.WAL, Config: p.Config,
		Reader: p.Reader, Registerer: p.Registerer, Stage: p.Tracker.Stage("ingest"),
		Queries: fxQueries(p.Store, p.Cache),
	})
}
