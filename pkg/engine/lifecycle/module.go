package lifecycle

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// Module provides the process's *prometheus.Registry (also as Registerer),
// the stage Tracker and the HTTP server, started and stopped with the app.
// It needs an HTTPConfig and a *slog.Logger from the composition root.
var Module = fx.Module("lifecycle",
	fx.Provide(
		NewRegistry,
		func(r *prometheus.Registry) prometheus.Registerer { return r },
		func(r prometheus.Registerer) *Tracker { return NewTracker(r) },
		NewServer,
	),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{
			OnStart: s.Start,
			OnStop:  func(ctx context.Context) error { return s.Stop(ctx) },
		})
	}),
)
