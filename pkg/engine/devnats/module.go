package devnats

import (
	"context"
	"log/slog"
	"time"

	"go.uber.org/fx"
)

// Module runs the embedded server. It is started while the graph is built
// (not in an OnStart hook) so that the NATS connection, which every other
// module needs at construction, can reach it; it stops with the app, after
// every module that depends on it. It needs a Config and a *slog.Logger.
var Module = fx.Module("devnats",
	fx.Provide(func(lc fx.Lifecycle, cfg Config, log *slog.Logger) (*Server, error) {
		s := New(cfg, log)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.Start(ctx); err != nil {
			return nil, err
		}
		lc.Append(fx.Hook{OnStop: s.Stop})
		return s, nil
	}),
)
