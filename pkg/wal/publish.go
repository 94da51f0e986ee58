package wal

import (
	"context"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Ack is the WAL's acknowledgement of one write.
type Ack struct {
	// Seq is the write's WAL sequence; for a duplicate (same Nats-Msg-Id
	// within the duplicate window) it is the original write's sequence.
	Seq uint64
	// Duplicate is true when JetStream de-duplicated the write.
	Duplicate bool
}

// AckFunc receives the outcome of an asynchronous publish: an Ack, or an
// error that is an *item.Error (CodeUnavailable with RetryAfterSeconds,
// CodePayloadTooLarge, CodeInternal). It runs on the connection's ack
// goroutine and must not block.
type AckFunc func(Ack, error)

// Publisher appends writes to the WAL asynchronously with a bounded number
// in flight (Config.PublishMaxPending). When the window is full a publish
// waits up to Config.PublishStallWait for a slot and is then refused as
// unavailable, so a stalled WAL pushes back on callers instead of queueing
// without bound.
//
// A Publisher owns a JetStream context of its own (its async window is
// per context). Close waits for the writes in flight.
type Publisher struct {
	cfg   Config
	names Names
	js    jetstream.JetStream

	pubOpts []jetstream.PublishOpt

	mu      sync.Mutex
	pending map[*nats.Msg]AckFunc
	closed  bool
	idle    chan struct{} // closed when pending drains while closing
}

// NewPublisher returns a Publisher on nc for the WAL described by cfg.
func NewPublisher(nc *nats.Conn, cfg Config) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	p := &Publisher{cfg: cfg, names: cfg.Names(), pending: make(map[*nats.Msg]AckFunc),
		pubOpts: []jetstream.PublishOpt{jetstream.WithStallWait(cfg.PublishStallWait), jetstream.WithRetryAttempts(0)}}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(cfg.PublishMaxPending),
		jetstream.WithPublishAsyncTimeout(cfg.PublishTimeout),
		jetstream.WithPublishAsyncAckHandler(p.onAck),
		jetstream.WithPublishAsyncErrHandler(p.onErr),
	)
	if err != nil {
		return nil, fmt.Errorf("wal: publisher jetstream: %w", err)
	}
	p.js = js
	return p, nil
}

// Names returns the names the Publisher publishes under.
func (p *Publisher) Names() Names { return p.names }

// PublishAsync encodes w and sends it to the WAL; done is called exactly
// once with the outcome, unless PublishAsync itself returns an error (then
// done is never called). w is not validated here: callers validate
// untrusted input first (ingest does; see Write.Validate).
func (p *Publisher) PublishAsync(w Write, done AckFunc) error {
	return p.PublishMsgAsync(w.Encode(p.names), done)
}

// PublishMsgAsync is PublishAsync for an already encoded WAL message. The
// message must not be reused until done runs.
func (p *Publisher) PublishMsgAsync(m *nats.Msg, done AckFunc) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return p.cfg.TranslatePublishError(ErrClosed)
	}
	p.pending[m] = done
	p.mu.Unlock()
	if _, err := p.js.PublishMsgAsync(m, p.pubOpts...); err != nil {
		p.take(m)
		return p.cfg.TranslatePublishError(err)
	}
	return nil
}

// Publish appends w and waits for its acknowledgement or ctx.
func (p *Publisher) Publish(ctx context.Context, w Write) (Ack, error) {
	type result struct {
		ack Ack
		err error
	}
	ch := make(chan result, 1) // buffered: the ack callback never blocks
	if err := p.PublishAsync(w, func(a Ack, err error) { ch <- result{a, err} }); err != nil {
		return Ack{}, err
	}
	select {
	case r := <-ch:
		return r.ack, r.err
	case <-ctx.Done():
		return Ack{}, p.cfg.TranslatePublishError(ctx.Err())
	}
}

// InFlight returns the number of writes awaiting their acknowledgement.
func (p *Publisher) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// Close refuses new writes and waits until every write in flight has had
// its callback called, or ctx ends. The connection stays open: its owner
// drains it.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	if len(p.pending) == 0 {
		p.mu.Unlock()
		return nil
	}
	if p.idle == nil {
		p.idle = make(chan struct{})
	}
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wal: publisher close: %d writes still in flight: %w", p.InFlight(), ctx.Err())
	}
}

func (p *Publisher) onAck(_ jetstream.JetStream, m *nats.Msg, pa *jetstream.PubAck) {
	if done := p.take(m); done != nil {
		done(Ack{Seq: pa.Sequence, Duplicate: pa.Duplicate}, nil)
	}
}

func (p *Publisher) onErr(_ jetstream.JetStream, m *nats.Msg, err error) {
	if done := p.take(m); done != nil {
		done(Ack{}, p.cfg.TranslatePublishError(err))
	}
}

// take removes and returns m's callback.
func (p *Publisher) take(m *nats.Msg) AckFunc {
	p.mu.Lock()
	defer p.mu.Unlock()
	done, ok := p.pending[m]
	if !ok {
		return nil
	}
	delete(p.pending, m)
	if p.closed && len(p.pending) == 0 && p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
	return done
}
