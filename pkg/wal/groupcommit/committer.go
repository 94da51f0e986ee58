package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/syncline/syncline/pkg/item"
)

// Ack is the stream's acknowledgement of one write.
type Ack struct {
	// Stream that stored the write.
	Stream string
	// Seq is the write's own stream sequence (its WAL position).
	Seq uint64
	// Duplicate is true when the write carried a Nats-Msg-Id the stream had
	// already stored within its duplicate window; Seq is then the sequence
	// of the original write and nothing new was stored.
	Duplicate bool
}

// Committer publishes WAL writes to one stream, grouping concurrent writes
// into JetStream atomic batches. It is safe for concurrent use. Build it
// with New, then Start; Stop drains it.
type Committer struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	m   *metrics
	now func() time.Time

	// Set by Start, read-only afterwards.
	subjects   []string
	maxMsgSize int // the stream's max_msg_size; <= 0 means none

	// batching is true while atomic batches are usable (ModeBatch, server
	// >= 2.12, stream allows atomic publish). It only ever goes false.
	batching atomic.Bool
	state    atomic.Int32

	in       chan *write   // Publish -> dispatcher
	finished chan int      // batch sender -> dispatcher: a group of this size is answered
	stopping chan struct{} // closed by Stop
	done     chan struct{} // closed when the dispatcher has returned
	senders  sync.WaitGroup
	stopOnce sync.Once

	// Writes published straight from Publish (not through the
	// dispatcher); Stop waits for them. closed is set under directMu so
	// that no direct.Add can follow Stop's direct.Wait.
	directMu sync.Mutex
	closed   bool
	direct   sync.WaitGroup

	// abortCtx is the Committer's own context for its publishes, cancelled
	// with a cause when Stop's ctx ends before the drain finished (the
	// in-flight publishes then give up: outcome unknown) and when Stop
	// returns.
	abortCtx context.Context
	abortFn  context.CancelCauseFunc
}

func (c *Committer) abort() { c.abortFn(ErrStopped) }

const (
	stateNew int32 = iota
	stateRunning
	stateStopped
)

// New builds a Committer on nc for cfg.Stream. log receives the fallback
// and configuration notices (nil discards them); reg, if not nil, gets the
// syncline_wal_groupcommit_* metrics. New does no I/O.
func New(nc *nats.Conn, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Committer, error) {
	if nc == nil {
		return nil, errors.New("groupcommit: nil NATS connection")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
	)
	if err != nil {
		return nil, fmt.Errorf("groupcommit: jetstream: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	abortCtx, abort := context.WithCancelCause(context.Background())
	return &Committer{
		cfg:      cfg,
		nc:       nc,
		js:       js,
		log:      log.With("component", "groupcommit", "stream", cfg.Stream),
		m:        m,
		now:      time.Now,
		in:       make(chan *write),
		finished: make(chan int),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		abortCtx: abortCtx,
		abortFn:  abort,
	}, nil
}

// Start reads the stream's configuration, checks it against the
// durability setting, chooses batch or per-message publishing and starts
// the dispatcher. It fails if the stream does not exist.
func (c *Committer) Start(ctx context.Context) error {
	if !c.state.CompareAndSwap(stateNew, stateRunning) {
		return errors.New("groupcommit: already started")
	}
	ok := false
	defer func() {
		if !ok {
			c.state.Store(stateStopped)
			close(c.done)
		}
	}()
	s, err := c.js.Stream(ctx, c.cfg.Stream)
	if err != nil {
		return fmt.Errorf("groupcommit: stream %s: %w", c.cfg.Stream, err)
	}
	sc := s.CachedInfo().Config
	if len(sc.Subjects) == 0 {
		return fmt.Errorf("groupcommit: stream %s has no subjects", c.cfg.Stream)
	}
	c.subjects = sc.Subjects
	c.maxMsgSize = int(sc.MaxMsgSize)
	switch c.cfg.Durability {
	case DurabilityReplicated:
		if sc.Replicas < 3 {
			return fmt.Errorf("groupcommit: durability %q needs a stream with at least 3 replicas, %s has %d (use %q on a single node)",
				DurabilityReplicated, c.cfg.Stream, sc.Replicas, DurabilityFsync)
		}
	case DurabilityFsync:
		if sc.Storage != jetstream.FileStorage {
			return fmt.Errorf("groupcommit: durability %q needs file storage, %s uses %s", DurabilityFsync, c.cfg.Stream, sc.Storage)
		}
		c.log.Info("durability fsync assumes the server syncs before every ack (sync_interval: always)",
			"replicas", sc.Replicas)
	}
	if c.cfg.Mode == ModeBatch {
		v := c.nc.ConnectedServerVersion()
		if reason := atomicUnsupported(v, sc.AllowAtomicPublish); reason != "" {
			c.log.Warn("atomic batches unavailable, publishing every write on its own", "reason", reason,
				"server_version", v)
		} else {
			c.batching.Store(true)
		}
	}
	c.m.setBatching(c.batching.Load())
	go c.dispatch()
	ok = true
	return nil
}

// Stop stops taking writes, publishes the ones already queued and waits
// for every ack. If ctx ends first, the remaining publishes are abandoned
// (their writers get ErrOutcomeUnknown) and ctx's error is returned. Stop
// releases the Committer's subscription on the connection; it does not
// close the connection.
func (c *Committer) Stop(ctx context.Context) error {
	prev := c.state.Swap(stateStopped)
	c.directMu.Lock()
	c.closed = true
	c.directMu.Unlock()
	if prev == stateNew {
		c.abort()
		return nil
	}
	c.stopOnce.Do(func() { close(c.stopping) })
	drained := make(chan struct{})
	go func() {
		<-c.done
		c.direct.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		c.abort()
		<-drained
		err = fmt.Errorf("groupcommit: stop: %w", context.Cause(ctx))
	}
	c.abort()
	c.js.CleanupPublisher()
	return err
}

// Batching reports whether writes are currently grouped into atomic
// batches (false in ModePerMessage and after a fallback).
func (c *Committer) Batching() bool { return c.batching.Load() }

// Publish appends msg to the stream and returns once the stream stored it,
// with the write's own sequence. msg is the WAL message as encoded
// (subject, headers, payload). Publish does not modify msg; it may still
// read msg.Data after returning ErrOutcomeUnknown (a publish in flight),
// so do not reuse the payload buffer then.
//
// A msg with a Nats-Msg-Id (or any other Nats-* header) is published on
// its own, so that JetStream's de-duplication answers it without touching
// other writes; the others are grouped. Errors are *item.Error:
// payload_too_large, unavailable (with RetryAfterSeconds) or internal. An
// error means the write was not stored, unless
// errors.Is(err, ErrOutcomeUnknown).
func (c *Committer) Publish(ctx context.Context, msg *nats.Msg) (Ack, error) {
	switch c.state.Load() {
	case stateNew:
		return Ack{}, c.unavailable("the WAL publisher is not started", ErrNotStarted)
	case stateStopped:
		return Ack{}, c.unavailable("the WAL publisher is stopping", ErrStopped)
	}
	if err := ctx.Err(); err != nil {
		return Ack{}, c.unavailable("gave up before the write was sent", context.Cause(ctx))
	}
	w, err := c.admit(msg)
	if err != nil {
		c.m.answered(Ack{}, err)
		return Ack{}, err
	}
	if w.solo || !c.batching.Load() {
		c.directMu.Lock()
		if c.closed {
			c.directMu.Unlock()
			return Ack{}, c.unavailable("the WAL publisher is stopping", ErrStopped)
		}
		c.direct.Add(1)
		c.directMu.Unlock()
		defer c.direct.Done()
		ack, err := c.publishDirect(ctx, w)
		c.m.answered(ack, err)
		return ack, err
	}
	select {
	case c.in <- w:
	case <-c.stopping:
		return Ack{}, c.unavailable("the WAL publisher is stopping", ErrStopped)
	case <-ctx.Done():
		return Ack{}, c.unavailable("gave up before the write was sent", context.Cause(ctx))
	}
	select {
	case r := <-w.done:
		c.m.answered(r.ack, r.err)
		return r.ack, r.err
	case <-ctx.Done():
		if w.state.CompareAndSwap(writeQueued, writeAbandoned) {
			return Ack{}, c.unavailable("gave up before the write was sent", context.Cause(ctx))
		}
		err := c.toItemError(context.Cause(ctx), unknown)
		c.m.answered(Ack{}, err)
		return Ack{}, err
	}
}

// admit validates msg and wraps it in a write.
func (c *Committer) admit(msg *nats.Msg) (*write, error) {
	if msg == nil || msg.Subject == "" {
		return nil, item.Errorf(item.CodeInternal, "groupcommit: a WAL message needs a subject")
	}
	if msg.Reply != "" {
		return nil, item.Errorf(item.CodeInternal, "groupcommit: a WAL message must not carry a reply subject")
	}
	if !c.bound(msg.Subject) {
		return nil, item.Errorf(item.CodeInternal, "groupcommit: subject %q is not a subject of stream %s", msg.Subject, c.cfg.Stream)
	}
	hdr := headerLen(msg.Header)
	size := hdr + len(msg.Data)
	limit := int(c.nc.MaxPayload())
	if c.maxMsgSize > 0 && c.maxMsgSize < limit {
		limit = c.maxMsgSize
	}
	if size > limit {
		return nil, &item.Error{Code: item.CodePayloadTooLarge,
			Message: fmt.Sprintf("the WAL message is %d bytes, the limit is %d", size, limit)}
	}
	batched := size + batchHeaderOverhead
	if hdr == 0 {
		batched += emptyHeaderLen
	}
	w := &write{
		msg:  &nats.Msg{Subject: msg.Subject, Header: cloneHeader(msg.Header, 0), Data: msg.Data},
		size: batched,
		// A write with JetStream headers (Nats-Msg-Id, Nats-Expected-*,
		// ...) must be judged alone; one that fits only without the batch
		// headers can still go alone.
		solo: hasJetStreamHeader(msg.Header) || batched > limit || batched > c.cfg.MaxBatchBytes,
		done: make(chan result, 1),
	}
	return w, nil
}

func (c *Committer) bound(subject string) bool {
	for _, f := range c.subjects {
		if subjectMatches(subject, f) {
			return true
		}
	}
	return false
}
