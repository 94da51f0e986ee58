package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// batchSink is what the writer needs from SQL; storepg and storesqlite
// satisfy it.
type batchSink interface {
	ApplyBatch(ctx context.Context, writes []store.Write) (store.Result, error)
	GCTombstones(ctx context.Context, olderThan time.Time, limit int) (int, error)
	// GetMany reads the current rows of redelivered writes, so that their
	// commit can be announced again (feed.go).
	GetMany(ctx context.Context, ids []string) (map[string]store.Item, error)
}

// Params are a Writer's dependencies.
type Params struct {
	JetStream jetstream.JetStream
	// WAL names the streams and consumer and bounds payloads.
	WAL    wal.Config
	Store  batchSink
	Config Config
	// Registerer receives the writer's metrics.
	Registerer prometheus.Registerer
	// Stage reports the lifecycle state; nil means untracked.
	Stage *lifecycle.Stage
	Log   *slog.Logger
	// Now is the clock of tombstone retention. Default time.Now.
	Now func() time.Time
}

// Writer drains the WAL into SQL. Start runs it; Stop ends it.
type Writer struct {
	js    jetstream.JetStream
	walc  wal.Config
	names wal.Names
	sink  batchSink
	cfg   Config
	m     *metrics
	stage *lifecycle.Stage
	log   *slog.Logger
	now   func() time.Time

	consumer *wal.Consumer
	info     jetstream.Consumer
	breaker  breaker
	trim     walTrimmer // the pending loop's

	stageMu sync.Mutex

	mu       sync.Mutex
	cancel   context.CancelCauseFunc // ends fetching and the loops
	abort    context.CancelCauseFunc // ends in-flight work (Stop's deadline)
	stopping chan struct{}
	wg       sync.WaitGroup
}

// errStopped is the cause of a writer's context after Stop.
var errStopped = errors.New("writer: stopped")

// New builds a writer; it does no I/O.
func New(p Params) (*Writer, error) {
	if p.JetStream == nil || p.Store == nil || p.Registerer == nil {
		return nil, errors.New("writer: JetStream, Store and Registerer are required")
	}
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	if err := p.WAL.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(p.Registerer)
	if err != nil {
		return nil, fmt.Errorf("writer: metrics: %w", err)
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	walc := p.WAL.WithDefaults()
	cfg := p.Config.WithDefaults()
	w := &Writer{
		js: p.JetStream, walc: walc, names: walc.Names(), sink: p.Store, cfg: cfg, m: m,
		stage: p.Stage, log: p.Log, now: p.Now,
	}
	w.breaker = breaker{min: cfg.BreakerMin, max: cfg.BreakerMax, gauge: m.circuit}
	return w, nil
}

// setStage moves the stage forward; once shutting down it stays there.
func (w *Writer) setStage(s lifecycle.State) {
	w.stageMu.Lock()
	defer w.stageMu.Unlock()
	if w.stage == nil {
		return
	}
	if cur := w.stage.State(); cur == s || cur == lifecycle.ShuttingDown {
		return
	}
	w.stage.Set(s)
}

// Start launches the writer's loops and returns at once; they bind the
// consumer (retrying while JetStream is unavailable) and then drain it.
func (w *Writer) Start(_ context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return errors.New("writer: already started")
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	work, abort := context.WithCancelCause(context.Background())
	w.cancel, w.abort, w.stopping = cancel, abort, make(chan struct{})
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := w.bind(ctx); err != nil {
			return // stopped while connecting
		}
		w.wg.Add(2 + w.cfg.Concurrency)
		go func() { defer w.wg.Done(); w.gcLoop(ctx) }()
		go func() { defer w.wg.Done(); w.pendingLoop(ctx) }()
		for range w.cfg.Concurrency {
			go func() { defer w.wg.Done(); w.run(ctx, work) }()
		}
	}()
	return nil
}

// Stop stops fetching, lets the batch in hand finish (commit and ack, or
// NakWithDelay when SQL is down) until ctx ends, then aborts it, and waits
// for every goroutine.
func (w *Writer) Stop(ctx context.Context) error {
	w.mu.Lock()
	cancel, abort, stopping := w.cancel, w.abort, w.stopping
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	w.setStage(lifecycle.ShuttingDown)
	select {
	case <-stopping:
	default:
		close(stopping)
	}
	cancel(errStopped)
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		abort(errStopped)
		return nil
	case <-ctx.Done():
		abort(errStopped)
		<-done
		return ctx.Err()
	}
}

// bind looks the consumer up, retrying with the breaker's backoff.
func (w *Writer) bind(ctx context.Context) error {
	delay := w.cfg.BreakerMin
	for {
		c, err := wal.NewConsumer(ctx, w.js, w.walc)
		if err == nil {
			var info jetstream.Consumer
			info, err = w.js.Consumer(ctx, w.names.WALStream(), w.names.Consumer())
			if err == nil {
				w.consumer, w.info = c, info
				w.setStage(lifecycle.Draining)
				return nil
			}
		}
		w.log.Warn("writer cannot bind the WAL consumer", "err", err, "retry_in", delay)
		if !sleep(ctx, delay) {
			return context.Cause(ctx)
		}
		delay = min(2*delay, w.cfg.BreakerMax)
	}
}

// run is one fetch loop: ctx ends fetching, work ends in-flight batches.
// While the breaker is open (another loop holds a batch during an outage),
// it fetches nothing.
func (w *Writer) run(ctx, work context.Context) {
	delay := w.cfg.BreakerMin
	for ctx.Err() == nil {
		if w.breaker.open() {
			sleep(ctx, w.cfg.BreakerMin)
			continue
		}
		msgs, err := w.fetch()
		if err != nil && len(msgs) == 0 {
			if ctx.Err() != nil {
				return
			}
			w.m.errors.WithLabelValues("fetch").Inc()
			w.log.Warn("writer fetch failed", "err", err, "retry_in", delay)
			sleep(ctx, delay)
			delay = min(2*delay, w.cfg.BreakerMax)
			continue
		}
		delay = w.cfg.BreakerMin
		if len(msgs) < w.cfg.BatchSize {
			w.setStage(lifecycle.Running) // caught up with the WAL
		}
		if len(msgs) > 0 {
			w.process(work, msgs)
		}
	}
}

// fetch pulls one batch. It gives the server the wait as the pull's expiry
// and waits a second longer itself (jetstream.FetchMaxWait), so that every
// message the server sends before expiring the pull is received: with the
// client giving up first (FetchContext), messages in flight at that moment
// would be delivered yet never processed, and so redelivered after AckWait.
// A fetch is not interrupted by Stop; it ends within FetchWait + 1s.
func (w *Writer) fetch() ([]*wal.Msg, error) {
	batch, err := w.info.Fetch(w.cfg.BatchSize, jetstream.FetchMaxBytes(w.cfg.BatchBytes),
		jetstream.FetchMaxWait(w.cfg.FetchWait))
	if err != nil {
		return nil, fmt.Errorf("writer: fetch: %w", err)
	}
	out := make([]*wal.Msg, 0, w.cfg.BatchSize)
	for m := range batch.Messages() {
		wm, err := wal.NewMsg(m)
		if err != nil {
			continue // not a JetStream delivery: nothing to settle
		}
		out = append(out, wm)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) &&
		!errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return out, fmt.Errorf("writer: fetch: %w", err)
	}
	return out, nil
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
