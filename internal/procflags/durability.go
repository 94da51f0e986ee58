package procflags

import (
	"fmt"

	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
)

// The durability settings of an ingest (docs/guarantees.md).
const (
	// DurabilityAuto picks replicated with 3+ WAL replicas, else fsync.
	DurabilityAuto = "auto"
	// DurabilityReplicated: acked once a quorum of 3+ replicas stored the
	// write (each lazily fsynced); group commit in atomic batches.
	DurabilityReplicated = string(groupcommit.DurabilityReplicated)
	// DurabilityFsync: a single server that fsyncs before acking (sync
	// always); group commit makes one fsync cover a batch.
	DurabilityFsync = string(groupcommit.DurabilityFsync)
	// DurabilityLazy: per-message publishing to a server that fsyncs on an
	// interval; an OS crash or power loss can lose the last interval.
	DurabilityLazy = "lazy"
)

// ResolveDurability turns auto into a concrete setting.
func ResolveDurability(d string, replicas int) (string, error) {
	switch d {
	case "", DurabilityAuto:
		if replicas >= 3 {
			return DurabilityReplicated, nil
		}
		return DurabilityFsync, nil
	case DurabilityReplicated, DurabilityFsync, DurabilityLazy:
		return d, nil
	default:
		return "", fmt.Errorf("durability %q is not auto, replicated, fsync or lazy", d)
	}
}

// IngestAppender wires ingest's WAL publishing for durability d (already
// resolved): group commit for replicated and fsync, the per-message
// publisher for lazy.
func IngestAppender(d string, walCfg wal.Config) fx.Option {
	if d == DurabilityLazy {
		return fx.Options()
	}
	return fx.Options(
		fx.Supply(groupcommit.Config{
			Stream:     walCfg.Names().WALStream(),
			Durability: groupcommit.Durability(d),
		}),
		groupcommit.Module,
		fx.Provide(func(lc fx.Lifecycle, c *groupcommit.Committer) ingest.Appender {
			a := groupcommit.NewAsync(c, 0, 0)
			lc.Append(fx.StopHook(a.Wait))
			return a
		}),
	)
}
