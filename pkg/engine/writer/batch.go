package writer

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// DLQ reasons the writer adds to the decoder's (wal.DecodeWrite).
const (
	// ReasonRejected: SQL rejected the row itself (*store.RowError).
	ReasonRejected = "sql_rejected"
	// ReasonApplyFailed: the batch kept failing for MaxDeliver deliveries.
	ReasonApplyFailed = "apply_failed"
)

// errStopping reports a batch given up because the writer is stopping.
var errStopping = errors.New("writer: stopping")

// pending is a decoded message on its way to SQL.
type pending struct {
	m *wal.Msg
	w store.Write
}

func toStore(seq uint64, w wal.Write) store.Write {
	op := store.OpPut
	if w.Op == wal.OpDel {
		op = store.OpDelete
	}
	return store.Write{Seq: seq, ID: w.ID, Op: op, Version: w.Version, Payload: w.Payload,
		ContentType: w.ContentType, State: w.State, CacheTTL: w.CacheTTL, Route: w.Route, Origin: w.Origin}
}

// process takes one fetched batch to a settled state: every message ends
// acknowledged (committed), dead-lettered, or NakWithDelay'd.
func (w *Writer) process(ctx context.Context, msgs []*wal.Msg) {
	w.m.batchSize.Observe(float64(len(msgs)))
	h := newHeld(msgs)
	stop := h.keepAlive(w.cfg.InProgressEvery)
	defer stop()
	ps := make([]pending, 0, len(msgs))
	for _, m := range msgs {
		if m.Delivered > 1 {
			w.log.Debug("redelivered", "seq", m.Seq, "delivered", m.Delivered)
			w.m.redeliveries.Inc()
		}
		ww, err := m.Write(w.walc.MaxPayload)
		if err != nil {
			w.deadLetter(ctx, h, m, err)
			continue
		}
		ps = append(ps, pending{m: m, w: toStore(m.Seq, ww)})
	}
	if len(ps) == 0 {
		return
	}
	if err := w.applyAll(ctx, h, ps); err != nil {
		w.retryLater(ctx, h, ps, err)
	}
}

// applyAll commits ps, isolating rows SQL rejects: it returns nil once
// every message of ps is committed or dead-lettered, or the error that
// stopped it, leaving the unsettled messages in h.
func (w *Writer) applyAll(ctx context.Context, h *held, ps []pending) error {
	for len(ps) > 0 {
		res, err := w.applyGuarded(ctx, h, ps)
		var rowErr *store.RowError
		switch {
		case err == nil:
			w.committed(ctx, h, ps, res)
			return nil
		case !errors.As(err, &rowErr):
			return err
		case rowErr.Index >= 0 && rowErr.Index < len(ps):
			w.deadLetter(ctx, h, ps[rowErr.Index].m, wal.Permanent(ReasonRejected, rowErr))
			ps = slices.Delete(slices.Clone(ps), rowErr.Index, rowErr.Index+1)
		case len(ps) == 1:
			w.deadLetter(ctx, h, ps[0].m, wal.Permanent(ReasonRejected, rowErr))
			return nil
		default:
			// SQL did not name the row: bisect.
			mid := len(ps) / 2
			if err := w.applyAll(ctx, h, ps[:mid]); err != nil {
				return err
			}
			ps = ps[mid:]
		}
	}
	return nil
}

// applyGuarded is ApplyBatch behind the circuit breaker: while SQL is
// unavailable it holds the batch (the keep-alive extends it) and probes
// again after the breaker's backoff. It returns nil, a *store.RowError,
// another failure, or errStopping / the context's error.
func (w *Writer) applyGuarded(ctx context.Context, h *held, ps []pending) (store.Result, error) {
	writes := make([]store.Write, len(ps))
	for i, p := range ps {
		writes[i] = p.w
	}
	for {
		cctx, cancel := context.WithTimeout(ctx, w.cfg.CommitTimeout)
		start := time.Now()
		res, err := w.sink.ApplyBatch(cctx, writes)
		cancel()
		if err == nil {
			w.m.commitDuration.Observe(time.Since(start).Seconds())
			if w.breaker.open() {
				w.log.Info("sql available again: circuit closed")
			}
			w.breaker.success()
			return res, nil
		}
		if ctx.Err() != nil {
			return store.Result{}, context.Cause(ctx)
		}
		if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
			w.m.errors.WithLabelValues("sql_error").Inc()
			w.breaker.success() // SQL answered
			return store.Result{}, err
		}
		w.m.errors.WithLabelValues("sql_unavailable").Inc()
		wasOpen := w.breaker.open()
		d := w.breaker.failure()
		if !wasOpen {
			w.log.Warn("sql unavailable: circuit open, holding the batch", "err", err, "held", len(h.list()))
		}
		if !wait(ctx, w.stopping, d) {
			return store.Result{}, errStopping
		}
		w.breaker.probe()
	}
}

// committed acknowledges the committed messages, then publishes the commit
// record(s).
//
// The commit feed is published before the acknowledgements, and a
// redelivered write that SQL already holds is announced again (from the
// row it finds): a writer that died between its commit and its feed record
// leaves the WAL messages unacknowledged, so the next delivery repairs the
// feed. Readers' filters rely on this: a commit missing from the feed
// would make them answer "absent" for a stored id. When the feed cannot be
// written, the messages are retried rather than acknowledged.
func (w *Writer) committed(ctx context.Context, h *held, ps []pending, res store.Result) {
	changed := len(res.Changes)
	res.Changes = append(res.Changes, w.reannounce(ctx, ps, res)...)
	if err := w.publish(ctx, res); err != nil {
		w.retryLater(ctx, h, ps, err)
		return
	}
	debug := w.log.Enabled(ctx, slog.LevelDebug)
	for _, p := range ps {
		if debug {
			w.log.Debug("committed", "seq", p.m.Seq, "id", p.w.ID, "version", p.w.EffectiveVersion(), "trace_id", wal.TraceID(p.m.Header()))
		}
		if err := w.consumer.Settle(ctx, p.m, nil); err != nil {
			w.log.Debug("ack failed; the message will be redelivered as a no-op", "seq", p.m.Seq, "err", err)
		}
		h.done(p.m)
	}
	w.m.rows.WithLabelValues("changed").Add(float64(changed))
	w.m.rows.WithLabelValues("unchanged").Add(float64(len(ps) - changed))
}

// reannounce returns changes describing the current SQL rows of
// redelivered writes that this commit did not change.
func (w *Writer) reannounce(ctx context.Context, ps []pending, res store.Result) []store.Change {
	if !slices.ContainsFunc(ps, func(p pending) bool { return p.m.Delivered > 1 }) {
		return nil // the common case: first deliveries only
	}
	changed := make(map[string]bool, len(res.Changes))
	for _, c := range res.Changes {
		changed[c.ID] = true
	}
	var ids []string
	byID := map[string]pending{}
	for _, p := range ps {
		if p.m.Delivered > 1 && !changed[p.w.ID] {
			if _, dup := byID[p.w.ID]; !dup {
				ids = append(ids, p.w.ID)
			}
			byID[p.w.ID] = p
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := w.sink.GetMany(ctx, ids)
	if err != nil {
		w.log.Warn("cannot re-read redelivered writes; their feed records are not repeated", "err", err, "ids", len(ids))
		return nil
	}
	out := make([]store.Change, 0, len(ids))
	for _, id := range ids {
		p := byID[id]
		if it, ok := rows[id]; ok {
			c := store.Change{ID: id, Version: it.Version, Leaf: it.Leaf, State: it.State,
				ContentType: it.ContentType, CacheTTL: it.CacheTTL, Seq: p.m.Seq, Route: it.Route, PayloadSum: sumOf(it.Payload)}
			if it.Version == p.w.EffectiveVersion() {
				c.Origin = p.w.Origin // the row is this write: keep its origin (replication loop guard)
			}
			out = append(out, c)
			continue
		}
		// Absent or a tombstone: announce the delete (consumers guard by
		// version, and filters never remove ids).
		out = append(out, store.Change{ID: id, Version: p.w.EffectiveVersion(), Deleted: true, Seq: p.m.Seq})
	}
	return out
}

// deadLetter copies m to the DLQ under verdict's reason and terminates it.
func (w *Writer) deadLetter(ctx context.Context, h *held, m *wal.Msg, verdict error) {
	reason := wal.SanitizeReason(wal.ReasonOf(verdict))
	w.m.dlq.WithLabelValues(reason).Inc()
	w.log.Warn("dead-lettering a WAL message", "seq", m.Seq, "reason", reason, "trace_id", wal.TraceID(m.Header()), "err", verdict)
	if err := w.consumer.Settle(context.WithoutCancel(ctx), m, verdict); err != nil {
		w.m.errors.WithLabelValues("dlq_copy").Inc()
		w.log.Warn("dead-letter copy failed; the message will be redelivered", "seq", m.Seq, "err", err)
	}
	h.done(m)
}

// retryLater settles what is still held after a failed batch: when the
// writer stops, a short NakWithDelay hands the messages to another writer.
// Otherwise each is retried with a backoff growing with its deliveries;
// at MaxDeliver a message is applied alone, so that only a message that
// fails by itself is dead-lettered, not its innocent batch mates.
func (w *Writer) retryLater(ctx context.Context, h *held, ps []pending, cause error) {
	stopping := errors.Is(cause, errStopping) || ctx.Err() != nil
	if !stopping {
		w.log.Warn("batch failed; retrying later", "err", cause, "messages", len(h.list()))
	}
	sctx := context.WithoutCancel(ctx)
	writes := make(map[*wal.Msg]store.Write, len(ps))
	for _, p := range ps {
		writes[p.m] = p.w
	}
	for _, m := range h.list() {
		switch {
		case stopping:
			_ = w.consumer.Settle(sctx, m, wal.RetryAfter(w.cfg.BreakerMin, cause))
			h.done(m)
		case int(m.Delivered) >= w.cfg.MaxDeliver:
			err := w.applyAll(ctx, h, []pending{{m: m, w: writes[m]}})
			switch {
			case err == nil: // committed or dead-lettered as a rejected row
			case errors.Is(err, errStopping) || ctx.Err() != nil:
				_ = w.consumer.Settle(sctx, m, wal.RetryAfter(w.cfg.BreakerMin, err))
				h.done(m)
			default:
				w.deadLetter(sctx, h, m, wal.Permanent(ReasonApplyFailed, err))
			}
		default:
			_ = w.consumer.Settle(sctx, m, wal.RetryAfter(w.retryDelay(m.Delivered), cause))
			h.done(m)
		}
	}
}

// retryDelay is RetryMin doubled per earlier delivery, up to RetryMax.
func (w *Writer) retryDelay(delivered uint64) time.Duration {
	d := w.cfg.RetryMin
	for i := uint64(1); i < delivered && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, w.cfg.RetryMax)
}
