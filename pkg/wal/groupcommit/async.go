package groupcommit

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Async adapts a Committer to the asynchronous wal.AckFunc style that
// ingest's Appender seam uses: each write waits for its group's ack on a
// goroutine of its own, at most MaxInFlight at once, all owned by the
// adapter (Wait returns when every callback has run).
type Async struct {
	c       *Committer
	timeout time.Duration
	slots   chan struct{}
	wg      sync.WaitGroup
}

// NewAsync wraps c. timeout bounds each write (0: the Committer's
// AckTimeout plus a second); maxInFlight bounds the writes waiting at once
// (0: 4096). A full window refuses the write as unavailable, which ingest
// answers with 503 and Retry-After: back-pressure, not a queue without end.
func NewAsync(c *Committer, timeout time.Duration, maxInFlight int) *Async {
	if timeout <= 0 {
		timeout = c.cfg.AckTimeout + time.Second
	}
	if maxInFlight <= 0 {
		maxInFlight = 4096
	}
	return &Async{c: c, timeout: timeout, slots: make(chan struct{}, maxInFlight)}
}

// PublishMsgAsync implements ingest's Appender: done is called exactly
// once unless an error is returned.
func (a *Async) PublishMsgAsync(m *nats.Msg, done wal.AckFunc) error {
	select {
	case a.slots <- struct{}{}:
	default:
		return &item.Error{Code: item.CodeUnavailable, Message: "too many writes waiting for the WAL", RetryAfterSeconds: 1}
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() { <-a.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
		defer cancel()
		ack, err := a.c.Publish(ctx, m)
		done(wal.Ack{Seq: ack.Seq, Duplicate: ack.Duplicate}, err)
	}()
	return nil
}

// Wait blocks until every accepted write has been answered.
func (a *Async) Wait() { a.wg.Wait() }
