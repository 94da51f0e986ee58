package readpath

import (
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// Module provides the *Reader as the ingest.Reader, started before and
// stopped after the stages that use it. It needs a store.Backend
// (sqlopen.Module), a jetstream.JetStream and wal.Names (wal.Module) and a
// prometheus.Registerer (lifecycle.Module); a *rediscache.Cache
// (rediscache.Module, only when Redis is configured), a Config and a
// *slog.Logger are optional.
var Module = fx.Module("readpath",
	fx.Provide(
		newFx,
		func(r *Reader) ingest.Reader { return r },
	),
)

type fxParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	SQL        store.Backend
	Cache      *rediscache.Cache `optional:"true"`
	JetStream  jetstream.JetStream
	Names      wal.Names
	Config     Config `optional:"true"`
	Registerer prometheus.Registerer
	Log        *slog.Logger `optional:"true"`
}

func newFx(p fxParams) (*Reader, error) {
	params := Params{SQL: p.SQL, JetStream: p.JetStream, Names: p.Names, Config: p.Config, Registerer: p.Registerer}
	if p.Cache != nil { // a nil *Cache in the interface would not be nil
		params.Redis = p.Cache
	}
	if p.Log != nil {
		params.Log = p.Log.With("component", "readpath")
	}
	r, err := New(params)
	if err != nil {
		return nil, err
	}
	// Appended while ingest's constructor asks for the Reader, so before
	// ingest's own hook: started first, stopped last.
	p.Lifecycle.Append(fx.Hook{OnStart: r.Start, OnStop: r.Stop})
	return r, nil
}
