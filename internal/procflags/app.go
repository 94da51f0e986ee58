package procflags

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/pflag"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/stagesvc"
	"github.com/syncline/syncline/pkg/natsconn"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store/sqlopen"
	"github.com/syncline/syncline/pkg/wal"
)

// Parse reads the shared settings and the process's own flags (defined by
// extra) from args and the environment (getenv; flags win).
func Parse(process string, args []string, getenv func(string) string, stderr io.Writer, need Need, extra func(*envflag.Set)) (Settings, error) {
	var s Settings
	fs := pflag.NewFlagSet(process, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	e := envflag.New(fs).WithLookup(func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	})
	BindTo(e, &s, need)
	if extra != nil {
		extra(e)
	}
	if err := fs.Parse(args); err != nil {
		return s, fmt.Errorf("%s: %w", process, err)
	}
	if err := e.Err(); err != nil {
		return s, fmt.Errorf("%s: %w", process, err)
	}
	if err := s.Validate(need); err != nil {
		return s, fmt.Errorf("%s: %w", process, err)
	}
	if s.SQLURL != "" {
		if err := (sqlopen.Config{URL: s.SQLURL}).Validate(); err != nil {
			return s, fmt.Errorf("%s: %w", process, err)
		}
	}
	return s, nil
}

// ErrRedisRequired reports a process that needs SYNCLINE_REDIS_URL.
var ErrRedisRequired = errors.New("--redis-url or SYNCLINE_REDIS_URL is required")

// Common is the part of every stage process's app: the logger, NATS
// connection, metrics registry and HTTP endpoint, WAL streams, and the
// syncline-stage announcement.
func Common(s Settings, process string, stderr io.Writer) fx.Option {
	log := s.Logger(stderr, process)
	nc := s.NATS
	nc.Name = "syncline-" + process
	log.Info(process+" starting", "nats_url", natsconn.Redact(nc.WithDefaults().URLs), "prefix", s.WAL.WithDefaults().Prefix,
		"sql_url", sqlopen.Redact(s.SQLURL), "redis_url", rediscache.Redact(s.RedisURL))
	return fx.Options(
		fx.Supply(nc, s.WAL, s.HTTP, log,
			stagesvc.Config{Prefix: s.WAL.WithDefaults().Prefix, Process: process, Durability: s.Durability}),
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log.With("component", "fx")}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		natsconn.Module,
		lifecycle.Module,
		wal.Module,
		stagesvc.Module,
	)
}
