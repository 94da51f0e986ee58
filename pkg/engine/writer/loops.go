package writer

import (
	"context"
	"time"
)

// GC deletes the tombstones older than the retention, in chunks, and
// returns how many it deleted.
func (w *Writer) GC(ctx context.Context) (int, error) {
	cutoff := w.now().Add(-w.cfg.TombstoneRetention)
	total := 0
	for {
		n, err := w.sink.GCTombstones(ctx, cutoff, w.cfg.GCBatch)
		total += n
		w.m.gc.Add(float64(n))
		if err != nil || n < w.cfg.GCBatch {
			return total, err
		}
	}
}

func (w *Writer) gcLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := w.GC(ctx); err != nil && ctx.Err() == nil {
				w.m.errors.WithLabelValues("gc").Inc()
				w.log.Warn("tombstone gc failed", "err", err, "deleted", n)
			}
		}
	}
}

// pendingLoop refreshes syncline_wal_pending from the consumer's info.
func (w *Writer) pendingLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.PendingInterval)
	defer t.Stop()
	for {
		w.refreshPending(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Writer) refreshPending(ctx context.Context) {
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := w.info.Info(ictx)
	if err != nil {
		return
	}
	w.m.pending.Set(float64(info.NumPending) + float64(info.NumAckPending))
	w.trimWAL(ctx, info.AckFloor.Stream)
	if s, err := w.js.Stream(ictx, w.names.DLQStream()); err == nil {
		if si, err := s.Info(ictx); err == nil {
			w.m.dlqMessages.Set(float64(si.State.Msgs))
		}
	}
}
