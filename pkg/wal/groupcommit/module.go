package groupcommit

import (
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// Module provides the *Committer, started and stopped with the app. It
// needs a *nats.Conn, a groupcommit.Config, a *slog.Logger and a
// prometheus.Registerer; the WAL stream must exist when the app starts
// (provision it in an earlier OnStart hook).
var Module = fx.Module("groupcommit",
	fx.Provide(func(lc fx.Lifecycle, nc *nats.Conn, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Committer, error) {
		c, err := New(nc, cfg, log, reg)
		if err != nil {
			return nil, err
		}
		lc.Append(fx.Hook{OnStart: c.Start, OnStop: c.Stop})
		return c, nil
	}),
)
