// Command ingest runs Syncline's ingest stage: the "syncline" NATS micro
// service that validates writes, appends them to the WAL, and serves reads
// from the tiers (L1 memory, the id filter, Redis, SQL).
//
// Flags win over the environment (DESIGN.md §5); `ingest --help` lists
// them. SYNCLINE_SQL_URL enables reads (without it, get and exists answer
// 503); SYNCLINE_REDIS_URL adds Redis as the L2 read tier.
//
//	--max-payload  SYNCLINE_MAX_PAYLOAD  1048576 (never above the server's max_payload)
//	--durability   SYNCLINE_DURABILITY   auto: replicated with 3+ WAL replicas, else fsync;
//	                                     or lazy (see docs/guarantees.md)
package main

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/fx"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/internal/procflags"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
)

func main() {
	fx.New(options(os.Args[1:], os.Getenv, os.Stderr)).Run()
}

// options builds the app from the command line and environment.
func options(args []string, getenv func(string) string, stderr io.Writer) fx.Option {
	var maxPayload int
	var durability string
	need := procflags.OptionalSQL | procflags.NeedRedis | procflags.NeedHTTP
	s, err := procflags.Parse("ingest", args, getenv, stderr, need, func(e *envflag.Set) {
		e.Int(&maxPayload, "max-payload", "SYNCLINE_MAX_PAYLOAD", 1<<20, "largest payload accepted, in bytes")
		e.String(&durability, "durability", "SYNCLINE_DURABILITY", procflags.DurabilityAuto, "what an ack means: auto, replicated (3+ replicas), fsync (server syncs before acking) or lazy")
	})
	if err != nil {
		return fx.Error(err)
	}
	s.WAL.MaxPayload = maxPayload
	if err := s.WAL.Validate(); err != nil {
		return fx.Error(err)
	}
	d, err := procflags.ResolveDurability(durability, s.WAL.WithDefaults().Replicas)
	if err != nil {
		return fx.Error(fmt.Errorf("ingest: %w", err))
	}
	s.Durability = d
	return fx.Options(
		procflags.Common(s, "ingest", stderr),
		procflags.IngestAppender(d, s.WAL),
		fx.Supply(ingest.Config{}),
		readTiers(s),
		ingest.Module,
	)
}

// readTiers adds the read path when SQL is configured, with Redis as L2
// when that is configured too.
func readTiers(s procflags.Settings) fx.Option {
	if s.SQLURL == "" {
		return fx.Options()
	}
	opts := []fx.Option{
		fx.Supply(sqlopen.Config{URL: s.SQLURL}, store.Config{}),
		sqlopen.Module,
		readpath.Module,
	}
	if s.RedisURL != "" {
		opts = append(opts,
			fx.Supply(rediscache.ClientConfig{URL: s.RedisURL}, rediscache.Config{Prefix: s.RedisPrefix}),
			rediscache.Module)
	}
	return fx.Options(opts...)
}
