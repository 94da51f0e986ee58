// Command writer runs Syncline's writer stage: it drains the WAL into SQL
// in batches and publishes the commit feed. Run any number of them against
// one pipeline; they share the "writers" consumer.
//
// Flags win over the environment (DESIGN.md §5):
//
//	--sql-url              SYNCLINE_SQL_URL              (required) postgres://... or sqlite:<path>
//	--nats-url             SYNCLINE_NATS_URL             nats://127.0.0.1:4222
//	--nats-creds           SYNCLINE_NATS_CREDS
//	--nats-nkey            SYNCLINE_NATS_NKEY
//	--nats-user            SYNCLINE_NATS_USER
//	--nats-password        SYNCLINE_NATS_PASSWORD
//	--nats-tls-ca          SYNCLINE_NATS_TLS_CA
//	--prefix               SYNCLINE_PREFIX               sync
//	--http-addr            SYNCLINE_HTTP_ADDR            127.0.0.1:0
//	--batch-size           SYNCLINE_WRITER_BATCH_SIZE    1000
//	--fetch-wait           SYNCLINE_WRITER_FETCH_WAIT    50ms
//	--tombstone-retention  SYNCLINE_TOMBSTONE_RETENTION  24h
//	--name                 SYNCLINE_WRITER_NAME          host-pid
package main

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/stagesvc"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/natsconn"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
	"github.com/syncline/syncline/pkg/wal"
)

func main() {
	fx.New(options(os.Args[1:], os.Getenv, os.Stderr)).Run()
}

// options builds the app from the command line and environment.
func options(args []string, getenv func(string) string, stderr io.Writer) fx.Option {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var envErrs []error
	envInt := func(k string, def int) int {
		if v := getenv(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envErrs = append(envErrs, errors.New("$"+k+" is not an integer"))
			}
			return n
		}
		return def
	}
	envDur := func(k string, def time.Duration) time.Duration {
		if v := getenv(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErrs = append(envErrs, errors.New("$"+k+" is not a duration"))
			}
			return d
		}
		return def
	}
	fs := flag.NewFlagSet("writer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		nc      natsconn.Config
		walCfg  wal.Config
		httpCfg lifecycle.HTTPConfig
		sqlCfg  sqlopen.Config
		wcfg    writer.Config
	)
	fs.StringVar(&sqlCfg.URL, "sql-url", env("SYNCLINE_SQL_URL", ""), "SQL database: postgres://... or sqlite:<path> (required)")
	fs.StringVar(&nc.URLs, "nats-url", env("SYNCLINE_NATS_URL", natsconn.DefaultURL), "NATS servers, comma-separated")
	fs.StringVar(&nc.CredsFile, "nats-creds", env("SYNCLINE_NATS_CREDS", ""), "NATS credentials file")
	fs.StringVar(&nc.NKeyFile, "nats-nkey", env("SYNCLINE_NATS_NKEY", ""), "NATS nkey seed file")
	fs.StringVar(&nc.User, "nats-user", env("SYNCLINE_NATS_USER", ""), "NATS user")
	fs.StringVar(&nc.Password, "nats-password", env("SYNCLINE_NATS_PASSWORD", ""), "NATS password")
	fs.StringVar(&nc.TLSCAFile, "nats-tls-ca", env("SYNCLINE_NATS_TLS_CA", ""), "CA bundle for NATS TLS")
	fs.StringVar(&walCfg.Prefix, "prefix", env("SYNCLINE_PREFIX", wal.DefaultPrefix), "subject prefix")
	fs.StringVar(&httpCfg.Addr, "http-addr", env("SYNCLINE_HTTP_ADDR", "127.0.0.1:0"), "address of /metrics, /healthz, /readyz")
	fs.IntVar(&wcfg.BatchSize, "batch-size", envInt("SYNCLINE_WRITER_BATCH_SIZE", 1000), "most WAL messages per SQL transaction")
	fs.DurationVar(&wcfg.FetchWait, "fetch-wait", envDur("SYNCLINE_WRITER_FETCH_WAIT", 50*time.Millisecond), "how long a fetch waits for a batch to fill")
	fs.DurationVar(&wcfg.TombstoneRetention, "tombstone-retention", envDur("SYNCLINE_TOMBSTONE_RETENTION", 24*time.Hour), "how long deletes are kept as tombstones")
	fs.StringVar(&wcfg.Name, "name", env("SYNCLINE_WRITER_NAME", ""), "writer name in commit records (default host-pid)")
	if err := fs.Parse(args); err != nil {
		return fx.Error(err)
	}
	if err := errors.Join(envErrs...); err != nil {
		return fx.Error(err)
	}
	if sqlCfg.URL == "" {
		return fx.Error(errors.New("writer: --sql-url or SYNCLINE_SQL_URL is required"))
	}
	nc.Name = "syncline-writer"
	for _, err := range []error{sqlCfg.Validate(), nc.Validate(), walCfg.Validate(), httpCfg.Validate(), wcfg.Validate()} {
		if err != nil {
			return fx.Error(err)
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	log.Info("writer starting", "sql_url", sqlopen.Redact(sqlCfg.URL), "nats_url", natsconn.Redact(nc.URLs), "prefix", walCfg.Prefix)
	return fx.Options(
		fx.Supply(nc, walCfg, httpCfg, sqlCfg, store.Config{}, wcfg, log,
			stagesvc.Config{Prefix: walCfg.Prefix, Process: "writer"}),
		fx.WithLogger(func() fxevent.Logger { return &fxevent.SlogLogger{Logger: log.With("component", "fx")} }),
		natsconn.Module,
		lifecycle.Module,
		wal.Module,
		sqlopen.Module,
		stagesvc.Module,
		writer.Module,
	)
}
