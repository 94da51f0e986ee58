// Command reconciler runs Syncline's reconciler stage: it keeps Redis equal
// to SQL by merkle branch-diff, applies the commit feed as its fast path,
// and publishes cuckoo-filter snapshots. Run two for availability: one
// holds the lease, the other stands by.
//
// Flags win over the environment (DESIGN.md §5); `reconciler --help` lists
// them. Besides the shared SYNCLINE_* settings (SYNCLINE_SQL_URL and
// SYNCLINE_REDIS_URL are required):
//
//	--root-check-interval   SYNCLINE_RECONCILER_CHECK_INTERVAL     5s
//	--repair-limit          SYNCLINE_RECONCILER_REPAIR_LIMIT       10000
//	--snapshot-interval     SYNCLINE_RECONCILER_SNAPSHOT_INTERVAL  1m
//	--snapshot-changes      SYNCLINE_RECONCILER_SNAPSHOT_CHANGES   100000
//	--deep-verify-interval  SYNCLINE_RECONCILER_DEEP_INTERVAL      1h (negative: off)
//	--deep-verify-rate      SYNCLINE_RECONCILER_DEEP_RATE          5000 items/s
//	--name                  SYNCLINE_RECONCILER_NAME               host-pid
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/fx"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/internal/procflags"
	"github.com/syncline/syncline/pkg/engine/reconciler"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
)

func main() {
	fx.New(options(os.Args[1:], os.Getenv, os.Stderr)).Run()
}

// options builds the app from the command line and environment.
func options(args []string, getenv func(string) string, stderr io.Writer) fx.Option {
	var rcfg reconciler.Config
	need := procflags.NeedSQL | procflags.NeedRedis | procflags.NeedHTTP
	s, err := procflags.Parse("reconciler", args, getenv, stderr, need, func(e *envflag.Set) {
		e.Duration(&rcfg.RootCheckInterval, "root-check-interval", "SYNCLINE_RECONCILER_CHECK_INTERVAL", 5*time.Second, "how often the SQL and Redis roots are compared")
		e.Int(&rcfg.RepairLimit, "repair-limit", "SYNCLINE_RECONCILER_REPAIR_LIMIT", 10000, "most differences repaired per pass")
		e.Duration(&rcfg.SnapshotInterval, "snapshot-interval", "SYNCLINE_RECONCILER_SNAPSHOT_INTERVAL", time.Minute, "filter snapshot interval")
		e.Int(&rcfg.SnapshotChanges, "snapshot-changes", "SYNCLINE_RECONCILER_SNAPSHOT_CHANGES", 100000, "changes that trigger a filter snapshot")
		e.Duration(&rcfg.DeepVerifyInterval, "deep-verify-interval", "SYNCLINE_RECONCILER_DEEP_INTERVAL", time.Hour, "background deep verify interval (negative: off)")
		e.Int(&rcfg.DeepVerifyRate, "deep-verify-rate", "SYNCLINE_RECONCILER_DEEP_RATE", 5000, "deep verify items per second")
		e.String(&rcfg.Instance, "name", "SYNCLINE_RECONCILER_NAME", "", "instance name in the lease (default host-pid)")
	})
	if err != nil {
		return fx.Error(err)
	}
	if s.RedisURL == "" {
		return fx.Error(fmt.Errorf("reconciler: %w", procflags.ErrRedisRequired))
	}
	redisCfg := rediscache.ClientConfig{URL: s.RedisURL}
	cacheCfg := rediscache.Config{Prefix: s.RedisPrefix}
	for _, err := range []error{redisCfg.Validate(), cacheCfg.Validate(), rcfg.Validate()} {
		if err != nil {
			return fx.Error(err)
		}
	}
	return fx.Options(
		procflags.Common(s, "reconciler", stderr),
		fx.Supply(sqlopen.Config{URL: s.SQLURL}, store.Config{}, redisCfg, cacheCfg, rcfg),
		sqlopen.Module,
		rediscache.Module,
		reconciler.Module,
	)
}
