package readpath

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/engine/reconciler"
)

var errReplayTimeout = errors.New("readpath: the snapshot did not catch up with the commit feed in time")

// run keeps a usable filter until ctx ends: it loads the latest snapshot
// whenever none is usable (with backoff, and at once when the object
// store announces a new one), and replaces a usable one by a newer
// snapshot once too many deletes went unapplied to it.
func (fc *filterCopy) run(ctx context.Context) {
	r := fc.r
	defer func() { fc.active.Swap(nil).stop() }()
	objs := fc.connect(ctx)
	if objs == nil {
		return
	}
	updates, stopWatch := fc.watch(ctx, objs)
	defer stopWatch()
	poll := time.NewTicker(r.cfg.FilterPoll)
	defer poll.Stop()
	wait := r.cfg.RetryMin
	var lastErr error
	for {
		var retry <-chan time.Time
		switch g := fc.active.Load(); {
		case g == nil || g.broken.Load():
			err := fc.replace(ctx, objs, false, 0)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				wait, lastErr = r.cfg.RetryMin, nil
				continue
			}
			if lastErr == nil || err.Error() != lastErr.Error() {
				r.log.Info("filter not trusted yet, reads go to storage", "reason", err.Error(), "retry_in", wait.String())
			}
			lastErr = err
			retry = time.After(wait)
			wait = min(2*wait, r.cfg.RetryMax)
		case float64(g.stale.Load()) > r.cfg.FilterReloadStale*float64(max(g.entries, 1)):
			if err := fc.replace(ctx, objs, true, g.snapSeq); ctx.Err() != nil {
				return
			} else if err != nil && !errors.Is(err, errNotNewer) {
				r.log.Warn("filter refresh from a newer snapshot failed, keeping the current one", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-fc.kick:
		case <-updates:
			wait = r.cfg.RetryMin
		case <-poll.C:
		case <-retry:
		}
	}
}

// replace loads a snapshot, waits until its replay has caught up with the
// feed, and makes it the active filter.
func (fc *filterCopy) replace(ctx context.Context, objs jetstream.ObjectStore, onlyNewer bool, than uint64) error {
	r := fc.r
	g, err := fc.load(ctx, objs, onlyNewer, than)
	if err != nil {
		fc.countLoad(err)
		return err
	}
	timeout := time.NewTimer(r.cfg.FilterReplayTimeout)
	defer timeout.Stop()
	for ready := false; !ready; {
		select {
		case <-g.ready:
			ready = true
		case <-fc.kick: // a gap, here or in the active filter; looked at below
			if g.broken.Load() {
				ready = true
			}
		case <-ctx.Done():
			g.stop()
			return ctx.Err()
		case <-timeout.C:
			g.stop()
			fc.countLoad(errReplayTimeout)
			return errReplayTimeout
		}
	}
	// Caught up with the feed as it was at load; now with the feed as it
	// is, so that the filter never becomes active behind a record that was
	// published before it did.
	for !g.broken.Load() {
		_, last, err := r.feedBounds(ctx)
		if err != nil {
			g.stop()
			fc.countLoad(err)
			return err
		}
		if raise(&g.target, last); g.applied.Load() >= last {
			break
		}
		select {
		case <-ctx.Done():
			g.stop()
			return ctx.Err()
		case <-timeout.C:
			g.stop()
			fc.countLoad(errReplayTimeout)
			return errReplayTimeout
		case <-time.After(10 * time.Millisecond):
		}
	}
	if g.broken.Load() {
		g.stop()
		fc.countLoad(errReplayBroken)
		return errReplayBroken
	}
	fc.active.Swap(g).stop()
	fc.countLoad(nil)
	r.log.Info("filter trusted", "entries", g.entries, "snapshot_feed_seq", g.snapSeq, "replayed_to", g.applied.Load())
	return nil
}

func (fc *filterCopy) countLoad(err error) {
	res := "error"
	switch {
	case err == nil:
		res = "ok"
	case errors.Is(err, errNoSnapshot):
		res = "none"
	case errors.Is(err, errFeedExpired), errors.Is(err, errFeedBehind), errors.Is(err, errReplayBroken):
		res = "untrusted"
	}
	fc.r.m.filterLoads.WithLabelValues(res).Inc()
}

// connect returns the FILTERS object store, retrying until it exists or
// ctx ends (nil).
func (fc *filterCopy) connect(ctx context.Context) jetstream.ObjectStore {
	r := fc.r
	wait := r.cfg.RetryMin
	for logged := false; ; {
		objs, err := r.js.ObjectStore(ctx, r.names.FiltersBucket())
		if err == nil {
			return objs
		}
		if !logged {
			r.log.Info("filter snapshots unavailable, reads go to storage", "bucket", r.names.FiltersBucket(), "err", err)
			logged = true
		}
		if !sleep(ctx, wait) {
			return nil
		}
		wait = min(2*wait, r.cfg.RetryMax)
	}
}

// watch kicks the returned channel when the snapshot object changes. If
// the watch cannot be set up, the loader relies on polling.
func (fc *filterCopy) watch(ctx context.Context, objs jetstream.ObjectStore) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w, err := objs.Watch(ctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return ch, func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case info, ok := <-w.Updates():
				if !ok {
					return
				}
				if info != nil && info.Name == reconciler.SnapshotObject {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return ch, func() {
		close(done)
		_ = w.Stop()
		wg.Wait()
	}
}
