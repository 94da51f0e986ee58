package wal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is one WAL message delivered to a writer, with its position and the
// acknowledgement calls it allows. Writers acknowledge individually, after
// the SQL commit, never with AckAll: with several writers AckAll would
// acknowledge other writers' uncommitted messages.
type Msg struct {
	raw jetstream.Msg
	// Seq is the message's WAL (stream) sequence.
	Seq uint64
	// Delivered is how many times it has been delivered, 1 the first time.
	Delivered uint64
	// Pending is how many messages were still waiting behind it.
	Pending uint64
	// Time is when the WAL stored it.
	Time time.Time
}

// NewMsg wraps a message delivered by the writers' consumer.
func NewMsg(m jetstream.Msg) (*Msg, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, fmt.Errorf("wal: message metadata: %w", err)
	}
	return &Msg{raw: m, Seq: md.Sequence.Stream, Delivered: md.NumDelivered, Pending: md.NumPending, Time: md.Timestamp}, nil
}

// Raw returns the JetStream message.
func (m *Msg) Raw() jetstream.Msg { return m.raw }

// Subject returns the WAL subject the message was stored on.
func (m *Msg) Subject() string { return m.raw.Subject() }

// Header returns the message headers.
func (m *Msg) Header() nats.Header { return m.raw.Headers() }

// Data returns the payload.
func (m *Msg) Data() []byte { return m.raw.Data() }

// Write decodes and validates the message (see DecodeWrite).
func (m *Msg) Write(maxPayload int) (Write, error) {
	return decodeWrite(m.raw.Headers(), m.raw.Data(), maxPayload)
}

// Ack acknowledges the message: call it only once the write is committed.
func (m *Msg) Ack() error { return m.raw.Ack() }

// DoubleAck acknowledges and waits for the server to confirm.
func (m *Msg) DoubleAck(ctx context.Context) error { return m.raw.DoubleAck(ctx) }

// NakWithDelay asks for redelivery after d.
func (m *Msg) NakWithDelay(d time.Duration) error { return m.raw.NakWithDelay(d) }

// InProgress resets the ack timer of a message still being worked on.
func (m *Msg) InProgress() error { return m.raw.InProgress() }

// Term stops redelivery for good; reason shows in the server's advisory.
// Prefer Consumer.Settle with a PermanentError, which also copies the
// message to the DLQ.
func (m *Msg) Term(reason string) error { return m.raw.TermWithReason(reason) }

// Consumer is the writers' side of the WAL: batch fetches from the durable
// pull consumer and the one place where a handler's verdict becomes an
// acknowledgement (Settle).
type Consumer struct {
	js    jetstream.JetStream
	cons  jetstream.Consumer
	names Names
	// DefaultRetry is the NakWithDelay used for errors that are neither
	// RetryAfterError nor PermanentError. Default 1s.
	defaultRetry time.Duration
}

// NewConsumer binds to the provisioned writers consumer.
func NewConsumer(ctx context.Context, js jetstream.JetStream, cfg Config) (*Consumer, error) {
	cfg = cfg.WithDefaults()
	n := cfg.Names()
	cons, err := js.Consumer(ctx, n.WALStream(), ConsumerName)
	if err != nil {
		return nil, fmt.Errorf("wal: consumer %s on %s: %w", ConsumerName, n.WALStream(), err)
	}
	return &Consumer{js: js, cons: cons, names: n, defaultRetry: cfg.RetryAfter}, nil
}

// Fetch pulls up to maxMsgs messages and maxBytes bytes (0: no byte limit)
// and returns what arrived when either limit is reached or maxWait has
// passed; an empty batch is not an error. ctx cancels the wait.
func (c *Consumer) Fetch(ctx context.Context, maxMsgs, maxBytes int, maxWait time.Duration) ([]*Msg, error) {
	if maxMsgs < 1 {
		return nil, errors.New("wal: fetch: maxMsgs < 1")
	}
	wctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	opts := []jetstream.FetchOpt{jetstream.FetchContext(wctx)}
	if maxBytes > 0 {
		opts = append(opts, jetstream.FetchMaxBytes(maxBytes))
	}
	batch, err := c.cons.Fetch(maxMsgs, opts...)
	if err != nil {
		return nil, fmt.Errorf("wal: fetch: %w", err)
	}
	out := make([]*Msg, 0, maxMsgs)
	for m := range batch.Messages() {
		wm, err := NewMsg(m)
		if err != nil {
			// Not a JetStream delivery: nothing to ack; skip it.
			continue
		}
		out = append(out, wm)
	}
	if err := batch.Error(); err != nil && !isFetchEnd(err) && ctx.Err() == nil {
		return out, fmt.Errorf("wal: fetch: %w", err)
	}
	return out, nil
}

func isFetchEnd(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, context.Canceled)
}

// Settle turns a handler's verdict on m into its acknowledgement: nil ->
// Ack; *RetryAfterError -> NakWithDelay(Delay); *PermanentError -> copy
// to the DLQ under its Reason, then TermWithReason (if the copy fails the
// message is redelivered later instead: it is never dropped without a
// copy); any other error -> NakWithDelay(default retry). A bare Nak is
// never used. The returned error is the acknowledgement's own failure.
func (c *Consumer) Settle(ctx context.Context, m *Msg, verdict error) error {
	if verdict == nil {
		return m.Ack()
	}
	var perm *PermanentError
	if errors.As(verdict, &perm) {
		if _, err := CopyToDLQ(ctx, c.js, c.names, m, perm.Reason); err != nil {
			if nerr := m.NakWithDelay(c.defaultRetry); nerr != nil {
				return errors.Join(err, nerr)
			}
			return err
		}
		return m.Term(SanitizeReason(perm.Reason) + ": " + clip(perm.Error()))
	}
	delay := c.defaultRetry
	var ra *RetryAfterError
	if errors.As(verdict, &ra) && ra.Delay > 0 {
		delay = ra.Delay
	}
	return m.NakWithDelay(delay)
}

// Handler processes one WAL message and returns its verdict (see Settle).
type Handler func(ctx context.Context, m *Msg) error

// Run fetches batches and settles each message with h's verdict until ctx
// ends. It is the simple, one-message-at-a-time loop; batch writers use
// Fetch and Settle directly.
func (c *Consumer) Run(ctx context.Context, batch int, maxWait time.Duration, h Handler) error {
	for ctx.Err() == nil {
		msgs, err := c.Fetch(ctx, batch, 0, maxWait)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := c.Settle(ctx, m, h(ctx, m)); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
	return context.Cause(ctx)
}
