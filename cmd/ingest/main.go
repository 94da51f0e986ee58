// Command ingest runs Syncline's ingest stage: the "syncline" NATS micro
// service that validates writes and appends them to the WAL.
//
// Flags win over the environment (DESIGN.md §5):
//
//	--nats-url       SYNCLINE_NATS_URL       nats://127.0.0.1:4222
//	--nats-creds     SYNCLINE_NATS_CREDS
//	--nats-nkey      SYNCLINE_NATS_NKEY
//	--nats-user      SYNCLINE_NATS_USER
//	--nats-password  SYNCLINE_NATS_PASSWORD
//	--nats-tls-ca    SYNCLINE_NATS_TLS_CA
//	--prefix         SYNCLINE_PREFIX         sync
//	--http-addr      SYNCLINE_HTTP_ADDR      127.0.0.1:0
package main

import (
	"flag"
	"io"
	"log/slog"
	"os"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/natsconn"
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
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var nc natsconn.Config
	var walCfg wal.Config
	var httpCfg lifecycle.HTTPConfig
	fs.StringVar(&nc.URLs, "nats-url", env("SYNCLINE_NATS_URL", natsconn.DefaultURL), "NATS servers, comma-separated")
	fs.StringVar(&nc.CredsFile, "nats-creds", env("SYNCLINE_NATS_CREDS", ""), "NATS credentials file")
	fs.StringVar(&nc.NKeyFile, "nats-nkey", env("SYNCLINE_NATS_NKEY", ""), "NATS nkey seed file")
	fs.StringVar(&nc.User, "nats-user", env("SYNCLINE_NATS_USER", ""), "NATS user")
	fs.StringVar(&nc.Password, "nats-password", env("SYNCLINE_NATS_PASSWORD", ""), "NATS password")
	fs.StringVar(&nc.TLSCAFile, "nats-tls-ca", env("SYNCLINE_NATS_TLS_CA", ""), "CA bundle for NATS TLS")
	fs.StringVar(&walCfg.Prefix, "prefix", env("SYNCLINE_PREFIX", wal.DefaultPrefix), "subject prefix")
	fs.StringVar(&httpCfg.Addr, "http-addr", env("SYNCLINE_HTTP_ADDR", "127.0.0.1:0"), "address of /metrics, /healthz, /readyz")
	if err := fs.Parse(args); err != nil {
		return fx.Error(err)
	}
	nc.Name = "syncline-ingest"
	for _, err := range []error{nc.Validate(), walCfg.Validate(), httpCfg.Validate()} {
		if err != nil {
			return fx.Error(err)
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("stage", "ingest")
	return fx.Options(
		fx.Supply(nc, walCfg, httpCfg, ingest.Config{}, log),
		fx.WithLogger(func() fxevent.Logger { return &fxevent.SlogLogger{Logger: log.With("component", "fx")} }),
		natsconn.Module,
		lifecycle.Module,
		wal.Module,
		ingest.Module,
	)
}
