package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
)

// checkLoop compares the roots every RootCheckInterval (or when kicked,
// e.g. Redis answering again) and repairs differing branches.
func (r *Reconciler) checkLoop(ctx context.Context) error {
	t := time.NewTicker(r.cfg.RootCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.checkKick:
		}
		r.checkOnce(ctx)
	}
}

func (r *Reconciler) checkOnce(ctx context.Context) {
	sqlRoot, redisRoot, err := r.readRoots(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		r.m.passes.WithLabelValues("error").Inc()
		if errors.Is(err, rediscache.ErrUnavailable) {
			r.redisFailed(err)
		} else {
			r.log.Warn("root check failed", "err", err)
		}
		return
	}
	r.redisOK()
	r.setSync(sqlRoot, redisRoot)
	if sqlRoot == redisRoot {
		r.m.passes.WithLabelValues("in_sync").Inc()
		return
	}
	var rep Report
	if _, err := r.checker.repair(ctx, "", r.cfg.RepairSettle, &rep); err != nil {
		if ctx.Err() != nil {
			return
		}
		r.m.passes.WithLabelValues("error").Inc()
		if errors.Is(err, rediscache.ErrUnavailable) {
			r.redisFailed(err)
		} else {
			r.log.Warn("repair failed", "err", err)
		}
		return
	}
	r.m.passes.WithLabelValues("repaired").Inc()
	if n := rep.Repaired; n.Put+n.Deleted+n.Forced+rep.BulkCopied > 0 {
		r.logRepair("repaired", rep)
	}
	if s, rr, err := r.readRoots(ctx); err == nil {
		r.setSync(s, rr)
	}
}

// snapshotLoop publishes a filter snapshot every SnapshotInterval, or when
// SnapshotChanges changes have accumulated.
func (r *Reconciler) snapshotLoop(ctx context.Context) error {
	t := time.NewTicker(r.cfg.SnapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.snapKick:
		}
		octx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
		r.snapshot(octx)
		cancel()
	}
}

// snapshot publishes the filter if it is trusted.
func (r *Reconciler) snapshot(ctx context.Context) {
	data, st, ok, err := r.filter.encode()
	if err != nil {
		r.m.snapshots.WithLabelValues("error").Inc()
		r.log.Warn("filter snapshot encode", "err", err)
		return
	}
	if !ok {
		return
	}
	r.mu.Lock()
	objs := r.objects
	r.mu.Unlock()
	meta := SnapshotMeta{Root: st.Root, Entries: st.Entries, Seq: st.Seq}
	if err := publishSnapshot(ctx, objs, data, meta); err != nil {
		r.m.snapshots.WithLabelValues("error").Inc()
		r.log.Warn("filter snapshot", "err", err)
		return
	}
	r.m.snapshots.WithLabelValues("ok").Inc()
	r.log.Debug("filter snapshot published", "entries", meta.Entries, "feed_seq", meta.Seq,
		"root", meta.Root.String(), "bytes", len(data))
}

// rebuildLoop rebuilds the filter from SQL in the background when it is
// untrusted (a feed gap), overflowed, or holds too many deleted ids.
func (r *Reconciler) rebuildLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.rebuildKick:
		}
		if err := r.rebuildFilter(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("filter rebuild failed, retrying", "err", err)
			if sleep(ctx, r.cfg.BackoffMax) == nil {
				kick(r.rebuildKick)
			}
		}
	}
}

func (r *Reconciler) rebuildFilter(ctx context.Context) error {
	t0 := time.Now()
	n, err := r.sql.Count(ctx, store.Query{})
	if err != nil {
		return err
	}
	st := r.filter.status()
	capacity := filterCapacity(n)
	if st.Overflowed {
		capacity = max(capacity, uint(2*st.Entries))
	}
	f := r.filter.beginRebuild(capacity)
	if f == nil {
		return nil
	}
	scanned, err := scanInto(ctx, r.sql, f, r.cfg.ScanBatch, r.progressLogger("filter rebuild", 5*time.Second))
	if err != nil {
		r.filter.abortRebuild(f)
		return err
	}
	r.filter.finishRebuild(f)
	r.m.filterRebuilds.Inc()
	r.afterFilterChange()
	r.log.Info("filter rebuilt from sql", "ids", scanned, "duration_ms", time.Since(t0).Milliseconds(),
		"was_trusted", st.Trusted, "stale_deletes", st.Deletes)
	return nil
}

// deepLoop runs a rate-limited deep verify and repair every
// DeepVerifyInterval.
func (r *Reconciler) deepLoop(ctx context.Context) error {
	if r.cfg.DeepVerifyInterval < 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(r.cfg.DeepVerifyInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		t0 := time.Now()
		var rep Report
		err := r.checker.deep(ctx, "", true, r.cfg.DeepVerifyRate, &rep)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("deep verify failed", "err", err, "checked", rep.DeepChecked)
			continue
		}
		r.log.Info("deep verify done", "checked", rep.DeepChecked, "mismatches", rep.DeepMismatches,
			"forced", rep.Repaired.Forced, "duration_ms", time.Since(t0).Milliseconds())
	}
}
