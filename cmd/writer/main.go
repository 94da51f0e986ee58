// Command writer runs Syncline's writer stage: it drains the WAL into SQL
// in batches and publishes the commit feed. Run any number of them against
// one pipeline; they share the "writers" consumer.
//
// Flags win over the environment (DESIGN.md §5); `writer --help` lists
// them. Besides the shared SYNCLINE_* settings (SYNCLINE_SQL_URL is
// required):
//
//	--batch-size           SYNCLINE_WRITER_BATCH_SIZE    1000
//	--fetch-wait           SYNCLINE_WRITER_FETCH_WAIT    50ms
//	--tombstone-retention  SYNCLINE_TOMBSTONE_RETENTION  24h
//	--name                 SYNCLINE_WRITER_NAME          host-pid
package main

import (
	"io"
	"os"
	"time"

	"go.uber.org/fx"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/internal/procflags"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
)

func main() {
	fx.New(options(os.Args[1:], os.Getenv, os.Stderr)).Run()
}

// options builds the app from the command line and environment.
func options(args []string, getenv func(string) string, stderr io.Writer) fx.Option {
	var wcfg writer.Config
	s, err := procflags.Parse("writer", args, getenv, stderr, procflags.NeedSQL|procflags.NeedHTTP, func(e *envflag.Set) {
		e.Int(&wcfg.BatchSize, "batch-size", "SYNCLINE_WRITER_BATCH_SIZE", 1000, "most WAL messages per SQL transaction")
		e.Duration(&wcfg.FetchWait, "fetch-wait", "SYNCLINE_WRITER_FETCH_WAIT", 50*time.Millisecond, "how long a fetch waits for a batch to fill")
		e.Duration(&wcfg.TombstoneRetention, "tombstone-retention", "SYNCLINE_TOMBSTONE_RETENTION", 24*time.Hour, "how long deletes are kept as tombstones")
		e.String(&wcfg.Name, "name", "SYNCLINE_WRITER_NAME", "", "writer name in commit records (default host-pid)")
	})
	if err != nil {
		return fx.Error(err)
	}
	if err := wcfg.Validate(); err != nil {
		return fx.Error(err)
	}
	return fx.Options(
		procflags.Common(s, "writer", stderr),
		fx.Supply(sqlopen.Config{URL: s.SQLURL}, store.Config{}, wcfg),
		sqlopen.Module,
		writer.Module,
	)
}
