package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// commit publishes one batch and answers each of its writes exactly once.
func (c *Committer) commit(batch []*write) {
	c.m.observeGroup(len(batch))
	if len(batch) < max(c.cfg.MinBatchWrites, 2) || !c.batching.Load() {
		// An atomic batch of one buys nothing, and a small one costs the
		// server more than the same writes published plainly (see
		// Config.MinBatchWrites); the durability is the same.
		c.publishEach(batch)
		return
	}
	backoff := c.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		// Re-checked per batch: a reconnect may land on an older server.
		if reason := atomicUnsupported(c.nc.ConnectedServerVersion(), true); reason != "" {
			c.fallBack(reason)
			c.publishEach(batch)
			return
		}
		start := time.Now()
		ack, sent, err := c.publishAtomic(batch)
		c.m.observeBatch(time.Since(start))
		if err == nil {
			c.answerBatch(batch, ack)
			return
		}
		v := classify(err, sent)
		var apiErr *jetstream.APIError
		explicit := errors.As(err, &apiErr)
		switch {
		case errors.Is(err, jetstream.ErrInvalidJSAck) || errors.Is(err, jetstreamext.ErrInvalidBatchAck):
			// The server answered the commit like a plain publish: it
			// stored the messages one by one (a server without atomic
			// batches behind a 2.12+ one, or a downgrade). Stop batching.
			c.fallBack("the server did not answer with a batch ack: " + err.Error())
			c.answerAll(batch, Ack{}, c.toItemError(err, unknown))
			return
		case v == unknown:
			c.answerAll(batch, Ack{}, c.toItemError(err, unknown))
			return
		case v == transient && attempt < c.cfg.Retries:
			if !c.sleep(backoff) {
				c.answerAll(batch, Ack{}, c.toItemError(err, transient))
				return
			}
			backoff *= 2
			continue
		case !explicit:
			// No stream answered (no responders, connection down):
			// publishing the writes one by one would fail the same way.
			c.answerAll(batch, Ack{}, c.toItemError(err, transient))
			return
		case apiErr.ErrorCode == errCodeAtomicDisabled:
			c.fallBack("the stream refused an atomic batch: " + apiErr.Description)
		case apiErr.ErrorCode == errCodeBatchTooLarge:
			c.log.Warn("the server limits atomic batches below max_batch_writes; lower it",
				"max_batch_writes", c.cfg.MaxBatchWrites, "error", apiErr.Description)
		}
		// The server refused the whole batch before storing any of it
		// (stream full, a write it would not take, a staged message lost:
		// "incomplete"). Whichever write caused that, the others must not
		// pay for it: publish them one by one, each gets its own answer.
		c.m.split()
		c.publishEach(batch)
		return
	}
}

// publishAtomic sends batch as one JetStream atomic batch. sent reports
// whether the commit message left the client (before that, a failure
// cannot have stored anything: the server commits only on the commit
// message).
func (c *Committer) publishAtomic(batch []*write) (_ *jetstreamext.BatchAck, sent bool, _ error) {
	ctx, cancel := context.WithTimeout(c.abortCtx, c.cfg.AckTimeout)
	defer cancel()
	// No flow control: the first message is not acknowledged separately,
	// a batch costs one round trip. Errors of staged messages surface on
	// the commit.
	bp, err := jetstreamext.NewBatchPublisher(c.js, jetstreamext.BatchFlowControl{AckTimeout: c.cfg.AckTimeout})
	if err != nil {
		return nil, false, err
	}
	last := len(batch) - 1
	for _, w := range batch[:last] {
		if err := bp.AddMsg(w.copyMsg()); err != nil {
			return nil, false, err
		}
	}
	ack, err := bp.CommitMsg(ctx, batch[last].copyMsg())
	if err != nil {
		// Only a refused message proves the commit did not leave; a
		// closed connection may have closed after it left (nats.go then
		// reports ErrConnectionClosed for the pending request), so it
		// counts as sent: outcome unknown, never re-sent.
		return nil, !errors.Is(err, nats.ErrMaxPayload) && !errors.Is(err, nats.ErrBadSubject) &&
			!errors.Is(err, jetstreamext.ErrBatchClosed), err
	}
	return ack, true, nil
}

// answerBatch gives every write its own sequence. An atomic batch is
// stored contiguously (the server appends it as one unit: a single stream
// ingest loop for R1, one multi-entry raft proposal for replicated
// streams), in the order it was sent, so the ack's last sequence and count
// determine each one: write i of n has last-n+1+i.
func (c *Committer) answerBatch(batch []*write, ack *jetstreamext.BatchAck) {
	n := uint64(len(batch))
	if ack.BatchSize != n || ack.Sequence < n || ack.Stream != c.cfg.Stream {
		err := fmt.Errorf("batch ack for stream %q covers %d writes up to seq %d, sent %d to %q",
			ack.Stream, ack.BatchSize, ack.Sequence, n, c.cfg.Stream)
		c.answerAll(batch, Ack{}, c.toItemError(err, unknown))
		return
	}
	first := ack.Sequence - n + 1
	for i, w := range batch {
		w.done <- result{ack: Ack{Stream: ack.Stream, Seq: first + uint64(i)}}
	}
}

func (c *Committer) answerAll(batch []*write, ack Ack, err error) {
	for _, w := range batch {
		w.done <- result{ack: ack, err: err}
	}
}

// publishEach publishes writes one by one, pipelined and in order, and
// answers each with its own ack or error.
func (c *Committer) publishEach(batch []*write) {
	futures := make([]jetstream.PubAckFuture, len(batch))
	for i, w := range batch {
		f, err := c.js.PublishMsgAsync(w.copyMsg())
		if err != nil {
			w.done <- result{err: c.toItemError(err, classify(err, false))}
			continue
		}
		futures[i] = f
	}
	for i, w := range batch {
		if futures[i] == nil {
			continue
		}
		ack, err := c.await(c.abortCtx, futures[i])
		w.done <- result{ack: ack, err: err}
	}
}

// publishDirect publishes one write from the caller's goroutine.
func (c *Committer) publishDirect(ctx context.Context, w *write) (Ack, error) {
	f, err := c.js.PublishMsgAsync(w.copyMsg())
	if err != nil {
		return Ack{}, c.toItemError(err, classify(err, false))
	}
	c.m.single()
	return c.await(ctx, f)
}

// await waits for one write's ack. The async publisher times out after
// AckTimeout and fails pending acks on a disconnect.
func (c *Committer) await(ctx context.Context, f jetstream.PubAckFuture) (Ack, error) {
	select {
	case pa := <-f.Ok():
		return Ack{Stream: pa.Stream, Seq: pa.Sequence, Duplicate: pa.Duplicate}, nil
	case err := <-f.Err():
		return Ack{}, c.toItemError(err, classify(err, true))
	case <-ctx.Done():
		return Ack{}, c.toItemError(context.Cause(ctx), unknown)
	case <-c.abortCtx.Done():
		return Ack{}, c.toItemError(context.Cause(c.abortCtx), unknown)
	}
}

// fallBack switches to per-message publishing for good, logging once.
func (c *Committer) fallBack(reason string) {
	if c.batching.CompareAndSwap(true, false) {
		c.log.Warn("atomic batches unavailable, publishing every write on its own", "reason", reason,
			"server_version", c.nc.ConnectedServerVersion())
		c.m.setBatching(false)
	}
}

// sleep waits d unless the Committer is aborted.
func (c *Committer) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.abortCtx.Done():
		return false
	}
}
