package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/internal/procflags"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/syncline/syncline/pkg/engine/devnats"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/engine/reconciler"
	"github.com/syncline/syncline/pkg/engine/stagesvc"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/natsconn"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
	"github.com/syncline/syncline/pkg/wal"
)

// devConfig is what `syncline dev` runs with.
type devConfig struct {
	DataDir  string
	NATSPort int
	Sync     string
}

func newDev(e *env) *cobra.Command {
	var dc devConfig
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole pipeline in one process: embedded NATS (JetStream), SQLite, ingest, writer, reconciler",
		Long: `Runs an in-process NATS server with JetStream (file store under --data),
SQLite under --data, and the ingest, writer and reconciler stages in one
process. Redis is used as the L2 tier when SYNCLINE_REDIS_URL is set.
SIGINT or SIGTERM shuts down cleanly; a restart on the same --data loses
nothing.

Durability: --sync always makes JetStream fsync before acknowledging
(ingest groups writes so one fsync covers a batch); --sync <duration>
fsyncs in the background at that interval, so a power loss can lose the
acknowledged writes of that last interval (a process crash loses nothing:
the data is in the OS page cache).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), e, dc)
		},
	}
	cmd.Flags().StringVar(&dc.DataDir, "data", "./data", "directory for the JetStream store and the SQLite database")
	cmd.Flags().IntVar(&dc.NATSPort, "nats-port", 4222, "port of the embedded NATS server (0: any free port)")
	cmd.Flags().StringVar(&dc.Sync, "sync", "always", `JetStream fsync: "always" (before every ack) or an interval such as "1s" or "2m"`)
	envflag.New(cmd.Flags()).String(&e.s.HTTP.Addr, "http-addr", "SYNCLINE_HTTP_ADDR", "127.0.0.1:0", "address of /metrics, /healthz, /readyz")
	return cmd
}

func (dc devConfig) natsConfig() (devnats.Config, error) {
	c := devnats.Config{Port: dc.NATSPort, StoreDir: filepath.Join(dc.DataDir, "jetstream")}
	if dc.Sync == "always" {
		c.SyncAlways = true
		return c, nil
	}
	d, err := time.ParseDuration(dc.Sync)
	if err != nil || d <= 0 {
		return c, fmt.Errorf(`--sync %q: want "always" or a positive duration`, dc.Sync)
	}
	c.SyncInterval = d
	return c, nil
}

// devOptions composes the all-in-one app.
func devOptions(e *env, dc devConfig) (fx.Option, error) {
	nc, err := dc.natsConfig()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dc.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	sqlURL := e.s.SQLURL
	if sqlURL == "" {
		sqlURL = "sqlite:" + filepath.Join(dc.DataDir, "syncline.db")
	}
	log := e.s.Logger(e.stderr, "dev")
	durability := procflags.DurabilityFsync
	if !nc.SyncAlways {
		durability = procflags.DurabilityLazy
	}
	walCfg := e.s.WAL
	return fx.Options(
		fx.Supply(nc, walCfg, e.s.HTTP, ingest.Config{}, log,
			stagesvc.Config{Prefix: walCfg.WithDefaults().Prefix, Process: "dev", Durability: durability}),
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log.With("component", "fx")}
			l.UseLogLevel(-8) // fx's own chatter only at debug
			return l
		}),
		devnats.Module,
		fx.Provide(func(s *devnats.Server) natsconn.Config {
			c := e.s.NATS
			c.URLs = s.ClientURL()
			c.Name = "syncline-dev"
			return c
		}),
		natsconn.Module,
		lifecycle.Module,
		stagesvc.Module,
		wal.Module,
		fx.Supply(sqlopen.Config{URL: sqlURL}, store.Config{}, writer.Config{}),
		sqlopen.Module,
		readpath.Module,
		procflags.IngestAppender(durability, walCfg),
		ingest.Module,
		writer.Module,
		redisModules(e),
		fx.Invoke(func(lc fx.Lifecycle, s *devnats.Server, h *lifecycle.Server) {
			lc.Append(fx.StartHook(func() {
				redis := "off (set SYNCLINE_REDIS_URL to add the L2 tier)"
				if e.s.RedisURL != "" {
					redis = rediscache.Redact(e.s.RedisURL)
				}
				fmt.Fprintf(e.stdout, "syncline dev is running\n  NATS:  %s\n  HTTP:  http://%s  (/metrics /healthz /readyz)\n  SQL:   %s\n  Redis: %s\n  data:  %s\nCtrl-C stops it.\n",
					s.ClientURL(), h.Addr(), sqlopen.Redact(sqlURL), redis, dc.DataDir)
			}))
		}),
	), nil
}

// redisModules adds the Redis tier and the reconciler when a Redis URL is
// configured; without one there is no L2 and nothing to reconcile.
func redisModules(e *env) fx.Option {
	if e.s.RedisURL == "" {
		return fx.Options()
	}
	return fx.Options(
		fx.Supply(
			rediscache.ClientConfig{URL: e.s.RedisURL},
			rediscache.Config{Prefix: e.s.RedisPrefix},
			reconciler.Config{},
		),
		rediscache.Module,
		reconciler.Module,
	)
}

// rootCause shortens fx's dependency-chain errors to what a user can act
// on, such as a taken NATS port.
func rootCause(err error) error {
	var pt *devnats.PortTakenError
	if errors.As(err, &pt) {
		return pt
	}
	return err
}

func runDev(ctx context.Context, e *env, dc devConfig) error {
	opts, err := devOptions(e, dc)
	if err != nil {
		return err
	}
	app := fx.New(opts, fx.StopTimeout(30*time.Second), fx.NopLogger)
	if err := app.Err(); err != nil {
		return rootCause(err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	var exitCode int
	select {
	case s := <-sig:
		fmt.Fprintf(e.stderr, "received %s, shutting down\n", s)
	case <-ctx.Done():
	case sd := <-app.Wait():
		exitCode = sd.ExitCode
	}
	stopCtx, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := app.Stop(stopCtx); err != nil {
		return err
	}
	if exitCode != 0 {
		return &ExitError{Code: exitCode}
	}
	return nil
}
