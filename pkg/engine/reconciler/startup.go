package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/cuckoo"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// lead is one leadership: the trust-verified start, then the running
// loops until ctx ends (lease lost or shutdown).
func (r *Reconciler) lead(ctx context.Context) error {
	startSeq, err := r.startup(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	stopAdmin := r.serveAdmin(ctx)
	defer stopAdmin()
	r.stage.Set(lifecycle.Running)
	loops := []func(context.Context) error{
		func(ctx context.Context) error { return r.feedLoop(ctx, startSeq) },
		r.checkLoop, r.snapshotLoop, r.rebuildLoop, r.deepLoop,
	}
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make(chan error, len(loops))
	var wg sync.WaitGroup
	for _, loop := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loop(lctx); err != nil {
				errs <- err
				cancel(err)
			}
		}()
	}
	<-lctx.Done()
	wg.Wait()
	stopAdmin()
	if errors.Is(context.Cause(ctx), errStopping) {
		sctx, scancel := context.WithTimeout(context.Background(), r.cfg.OpTimeout)
		defer scancel()
		r.snapshot(sctx)
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// phase runs one start-up phase in lifecycle state st, logging and
// exporting its duration.
func (r *Reconciler) phase(name string, st lifecycle.State, fn func() error) error {
	r.stage.Set(st)
	t0 := time.Now()
	err := fn()
	d := time.Since(t0)
	r.m.phaseDuration.WithLabelValues(name).Set(d.Seconds())
	if err != nil {
		return fmt.Errorf("reconciler: start phase %s: %w", name, err)
	}
	r.log.Info("start phase done", "phase", name, "state", st.String(), "duration_ms", d.Milliseconds())
	return nil
}

// startup is the trust-verified start (doc.go): connect, read the SQL
// root, restore the filter from a snapshot at that root or rebuild it from
// SQL, compare the Redis root and repair only differing branches, ready.
// It returns the commit-feed sequence to follow from.
func (r *Reconciler) startup(ctx context.Context) (uint64, error) {
	t0 := time.Now()
	var objs jetstream.ObjectStore
	var commits jetstream.Stream
	err := r.phase("connect", lifecycle.Connecting, func() error {
		err := r.retry(ctx, "connect to jetstream", r.cfg.OpTimeout, func(ctx context.Context) error {
			var err error
			if objs, err = r.js.ObjectStore(ctx, r.names.FiltersBucket()); err != nil {
				return err
			}
			commits, err = r.js.Stream(ctx, r.names.CommitsStream())
			return err
		})
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.objects = objs
		r.mu.Unlock()
		err = r.cache.CheckConfig(ctx)
		if errors.Is(err, merkle.ErrConfigMismatch) {
			return err // fatal: the Redis tree cannot be compared with SQL's
		}
		if err != nil {
			r.redisFailed(err) // not fatal: the check loop repairs on return
		}
		return nil
	})
	if err != nil {
		return 0, err
	}

	var sqlRoot merkle.Hash
	err = r.phase("sql_root", lifecycle.Syncing, func() error {
		return r.retry(ctx, "read sql root", r.cfg.OpTimeout, func(ctx context.Context) error {
			var err error
			sqlRoot, err = r.sql.Root(ctx)
			return err
		})
	})
	if err != nil {
		return 0, err
	}

	var startSeq uint64
	err = r.phase("filter", lifecycle.Syncing, func() error {
		var err error
		startSeq, err = r.startFilter(ctx, objs, commits, sqlRoot)
		return err
	})
	if err != nil {
		return 0, err
	}

	err = r.phase("compare", lifecycle.Warming, func() error {
		r.initialRepair(ctx)
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	r.stage.Set(lifecycle.Ready)
	r.log.Info("ready", "duration_ms", time.Since(t0).Milliseconds(), "feed_start_seq", startSeq)
	return startSeq, nil
}

// startFilter restores the filter from the latest snapshot if its root is
// the SQL root, else rebuilds it from a batched SQL scan.
func (r *Reconciler) startFilter(ctx context.Context, objs jetstream.ObjectStore, commits jetstream.Stream, sqlRoot merkle.Hash) (uint64, error) {
	f, meta, err := loadSnapshot(ctx, objs, sqlRoot)
	if err == nil {
		r.filter.set(f, meta.Root, meta.Seq)
		r.afterFilterChange()
		r.log.Info("filter restored from snapshot", "entries", meta.Entries, "feed_seq", meta.Seq, "root", meta.Root.String())
		return meta.Seq + 1, nil
	}
	if errors.Is(err, errNoSnapshot) {
		r.log.Info("filter snapshot not trusted, rebuilding from sql", "reason", err)
	} else {
		r.log.Warn("filter snapshot unreadable, rebuilding from sql", "err", err)
	}
	var startSeq uint64
	err = r.retry(ctx, "filter rebuild", 0, func(ctx context.Context) error {
		// The feed position is read before the scan: every commit after it
		// is replayed from the feed, every one before is in the scan.
		info, err := commits.Info(ctx)
		if err != nil {
			return err
		}
		n, err := r.sql.Count(ctx, store.Query{})
		if err != nil {
			return err
		}
		t0 := time.Now()
		f := cuckoo.New(filterCapacity(n))
		scanned, err := scanInto(ctx, r.sql, f, r.cfg.ScanBatch, r.progressLogger("filter rebuild", 5*time.Second))
		if err != nil {
			return err
		}
		r.filter.set(f, sqlRoot, info.State.LastSeq)
		r.m.filterRebuilds.Inc()
		r.afterFilterChange()
		r.log.Info("filter rebuilt from sql", "ids", scanned, "duration_ms", time.Since(t0).Milliseconds(),
			"feed_seq", info.State.LastSeq)
		startSeq = info.State.LastSeq + 1
		return nil
	})
	return startSeq, err
}

// initialRepair compares the roots and repairs only differing branches.
// Redis trouble is not fatal: the reconciler runs unsynced and the check
// loop repairs once Redis answers.
func (r *Reconciler) initialRepair(ctx context.Context) {
	sqlRoot, redisRoot, err := r.readRoots(ctx)
	if err != nil {
		r.redisFailed(err)
		return
	}
	if sqlRoot == redisRoot {
		r.setSync(sqlRoot, redisRoot)
		r.log.Info("redis root equals sql root", "root", sqlRoot.String())
		return
	}
	r.setSync(sqlRoot, redisRoot)
	var rep Report
	if _, err := r.checker.repair(ctx, "", 0, &rep); err != nil {
		if ctx.Err() == nil {
			r.redisFailed(err)
		}
		return
	}
	r.logRepair("initial repair", rep)
	if s, rr, err := r.readRoots(ctx); err == nil {
		r.setSync(s, rr)
	}
}

func (r *Reconciler) logRepair(msg string, rep Report) {
	r.log.Info(msg, "put", rep.Repaired.Put, "deleted", rep.Repaired.Deleted, "forced", rep.Repaired.Forced,
		"vanished", rep.Repaired.Vanished, "bulk_copied", rep.BulkCopied, "passes", rep.Passes,
		"node_reads_sql", rep.NodeReads.SQL, "node_reads_redis", rep.NodeReads.Redis)
}

// readRoots reads both roots within OpTimeout.
func (r *Reconciler) readRoots(ctx context.Context) (sqlRoot, redisRoot merkle.Hash, err error) {
	octx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	if sqlRoot, err = r.sql.Root(octx); err != nil {
		return sqlRoot, redisRoot, fmt.Errorf("reconciler: sql root: %w", err)
	}
	if redisRoot, err = r.cache.Tree().Root(octx); err != nil {
		return sqlRoot, redisRoot, err
	}
	return sqlRoot, redisRoot, nil
}

// setSync records the roots of a check and the in-sync metrics.
func (r *Reconciler) setSync(sqlRoot, redisRoot merkle.Hash) {
	in := sqlRoot == redisRoot
	now := r.cfg.Now()
	r.mu.Lock()
	r.sqlRoot, r.redisRoot, r.inSync = sqlRoot, redisRoot, in
	if in {
		r.outOfSyncSince = time.Time{}
	} else if r.outOfSyncSince.IsZero() {
		r.outOfSyncSince = now
	}
	since := r.outOfSyncSince
	r.mu.Unlock()
	r.m.rootsInSync.Set(b2f(in))
	if in {
		r.m.outOfSync.Set(0)
	} else {
		r.m.outOfSync.Set(now.Sub(since).Seconds())
	}
}
