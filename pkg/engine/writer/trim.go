package writer

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// walTrimmer is the state of trimWAL, owned by the pending loop.
type walTrimmer struct {
	stream  jetstream.Stream
	trimmed uint64    // the ack floor last purged up to
	failing bool      // the last purge failed (logged once per streak)
	retryAt time.Time // after a failure, no purge before this
}

// trimRetry spaces purges after a failure: a purge the writer's NATS user
// may not send waits for its timeout, which would stall the pending loop.
const trimRetry = time.Minute

// trimWAL purges the WAL up to floor, the writers consumer's ack floor.
// Every message there is committed to SQL (or dead-lettered), so the WAL
// keeps only what is not in SQL yet. Without it the WAL (limits retention)
// keeps every message forever: it grows without bound, and with DiscardNew
// limits a WAL that filled once refuses writes for good, however far the
// writers have drained it.
//
// Every writer trims; a purge up to a floor is idempotent and the floor
// only grows, so no purge removes a message a writer still needs. A purge
// leaves the stream's last sequence and its de-duplication window as they
// are. The writer's NATS user needs $JS.API.STREAM.PURGE.<P>_WAL.
func (w *Writer) trimWAL(ctx context.Context, floor uint64) {
	t := &w.trim
	if floor <= t.trimmed || w.now().Before(t.retryAt) {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if t.stream == nil {
		t.stream, err = w.js.Stream(pctx, w.names.WALStream())
	}
	if err == nil {
		err = t.stream.Purge(pctx, jetstream.WithPurgeSequence(floor+1))
	}
	if err != nil {
		if !t.failing && ctx.Err() == nil {
			w.log.Warn("writer cannot trim the WAL to the ack floor", "err", err, "ack_floor", floor)
		}
		t.failing = true
		t.retryAt = w.now().Add(trimRetry)
		return
	}
	if t.failing {
		w.log.Info("writer trims the WAL again", "ack_floor", floor)
	}
	t.failing = false
	t.trimmed = floor
}
