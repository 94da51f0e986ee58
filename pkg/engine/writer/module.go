package writer

import (
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// Module runs a Writer: started with the app, stopped (before the NATS
// connection drains and the store closes) on shutdown. It needs a
// jetstream.JetStream and wal.Config (wal.Module), a store.Backend
// (sqlopen.Module), a Config, a prometheus.Registerer and a
// *lifecycle.Tracker (lifecycle.Module) and a *slog.Logger.
var Module = fx.Module("writer",
	fx.Provide(newFx),
	fx.Invoke(func(lc fx.Lifecycle, w *Writer) {
		lc.Append(fx.Hook{OnStart: w.Start, OnStop: w.Stop})
	}),
)

type fxParams struct {
	fx.In
	JetStream  jetstream.JetStream
	WAL        wal.Config
	Store      store.Backend
	Config     Config
	Registerer prometheus.Registerer
	Tracker    *lifecycle.Tracker
	Log        *slog.Logger
}

func newFx(p fxParams) (*Writer, error) {
	return New(Params{
		JetStream: p.JetStream, WAL: p.WAL, Store: p.Store, Config: p.Config,
		Registerer: p.Registerer, Stage: p.Tracker.Stage("writer"), Log: p.Log.With("stage", "writer"),
	})
}
