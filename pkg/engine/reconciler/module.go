package reconciler

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// Module provides the *Reconciler, started and stopped with the app; if it
// cannot go on, it shuts the app down. It needs a Config, wal.Names, a
// jetstream.JetStream, a store.Backend, a *rediscache.Cache, the lifecycle
// Tracker and Registerer, and a *slog.Logger.
var Module = fx.Module("reconciler",
	fx.Provide(newFx),
	fx.Invoke(func(*Reconciler) {}),
)

type params struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Config     Config
	Names      wal.Names
	JetStream  jetstream.JetStream
	SQL        store.Backend
	Cache      *rediscache.Cache
	Tracker    *lifecycle.Tracker
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

func newFx(p params) (*Reconciler, error) {
	onFatal := func(error) { _ = p.Shutdowner.Shutdown(fx.ExitCode(1)) }
	r, err := New(p.Config, p.Names, p.JetStream, p.SQL, p.Cache, p.Tracker, p.Registerer, p.Log, onFatal)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: r.Start,
		OnStop:  func(ctx context.Context) error { return r.Stop(ctx) },
	})
	return r, nil
}
