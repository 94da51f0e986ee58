package readpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// sqlTier is SQL (L3) as the read path uses it; storepg and storesqlite
// satisfy it.
type sqlTier interface {
	Get(ctx context.Context, id string) (store.Item, error)
}

// redisTier is Redis (L2) as the read path uses it; *rediscache.Cache
// satisfies it.
type redisTier interface {
	Get(ctx context.Context, id string) (rediscache.Entry, bool, error)
	PutMany(ctx context.Context, entries []rediscache.Entry) ([]bool, error)
	DeleteMany(ctx context.Context, tombs []rediscache.Tombstone) ([]bool, error)
}

// Params are a Reader's dependencies.
type Params struct {
	// SQL is the ground truth (L3). Required.
	SQL sqlTier
	// Redis is L2; nil when the pipeline runs without Redis.
	Redis redisTier
	// JetStream carries the commit feed and the filter snapshots; nil
	// disables L1 and the filter (they are only correct when fed).
	JetStream jetstream.JetStream
	// Names derives the COMMITS stream and FILTERS bucket; required with
	// JetStream.
	Names  wal.Names
	Config Config
	// Registerer receives the metrics. Required.
	Registerer prometheus.Registerer
	// Log receives state changes (filter trust, feed gaps). Default: none.
	Log *slog.Logger
}

// Reader answers ingest's reads: L1 (this process's cache), the filter
// (a trusted "absent"), L2 (Redis), then L3 (SQL), filling L1 and Redis on
// the way back. See doc.go for the rules. Start runs its background loops
// (feed followers, snapshot loader, Redis fills); without them it still
// answers every read from Redis and SQL.
type Reader struct {
	sql    sqlTier
	redis  redisTier
	js     jetstream.JetStream
	names  wal.Names
	cfg    Config
	log    *slog.Logger
	m      *metrics
	l1     *l1
	l1feed feedState
	filter *filterCopy
	fills  *filler
	redisB breaker
	// floor is the highest minSeq a Get was called with: the caller had
	// waited for the writers' ack floor to reach it, so any SQL read that
	// starts later includes every WAL write up to it.
	floor atomic.Uint64

	mu     sync.Mutex
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

// New builds a Reader; it does no I/O.
func New(p Params) (*Reader, error) {
	if p.SQL == nil || p.Registerer == nil {
		return nil, errors.New("readpath: SQL and Registerer are required")
	}
	if p.JetStream != nil && p.Names.Prefix() == "" {
		return nil, errors.New("readpath: Names are required with JetStream")
	}
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	cfg := p.Config.WithDefaults()
	r := &Reader{sql: p.SQL, redis: p.Redis, js: p.JetStream, names: p.Names, cfg: cfg, log: p.Log, l1: newL1(cfg)}
	r.redisB = breaker{min: cfg.RedisBackoffMin, max: cfg.RedisBackoffMax}
	r.l1feed.l1, r.l1feed.now = r.l1, cfg.Now
	r.filter = &filterCopy{r: r, kick: make(chan struct{}, 1)}
	m, err := newMetrics(p.Registerer, r)
	if err != nil {
		return nil, err
	}
	r.m = m
	if r.redis != nil {
		r.fills = newFiller(r)
	}
	return r, nil
}

// errStopped is the cause of the loops' context after Stop.
var errStopped = errors.New("readpath: stopped")

// Start launches the background loops and returns at once; they connect
// (retrying) on their own. Reads before they run skip L1 and the filter.
func (r *Reader) Start(_ context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return errors.New("readpath: already started")
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	r.cancel = cancel
	if r.js != nil {
		r.wg.Add(3)
		go func() { defer r.wg.Done(); r.runL1Feed(ctx) }()
		go func() { defer r.wg.Done(); r.filter.run(ctx) }()
		go func() { defer r.wg.Done(); r.lagLoop(ctx) }()
	}
	if r.fills != nil {
		for range r.cfg.FillWorkers {
			r.wg.Add(1)
			go func() { defer r.wg.Done(); r.fills.work(ctx) }()
		}
	}
	return nil
}

// Stop ends the loops (pending Redis fills are dropped) and waits for
// them, or for ctx.
func (r *Reader) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel := r.cancel
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel(errStopped)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("readpath: stop: %w", ctx.Err())
	}
}

// Get implements ingest.Reader. With minSeq > 0 the caller must already
// have waited for the writers' ack floor to reach minSeq (ingest does);
// the answer then comes only from a tier known to include that write
// (doc.go, "Read-your-writes"). The returned payload may be shared with
// the cache: callers must not modify it.
func (r *Reader) Get(ctx context.Context, id string, minSeq uint64) (ingest.Item, error) {
	if minSeq > 0 {
		raise(&r.floor, minSeq)
	}
	e, live := r.l1.lookup(id)
	if e != nil {
		if minSeq == 0 || e.covers >= minSeq {
			r.m.request(opGet, sourceL1)
			return e.item(id), nil
		}
		r.m.fell(reasonL1MinSeq)
	}
	if minSeq == 0 && !live && r.filterAbsent(id) {
		r.m.request(opGet, sourceFilter)
		return ingest.Item{}, notFound()
	}
	tok := r.l1.begin(r.floor.Load())
	if minSeq == 0 {
		if it, ok := r.fromRedis(ctx, opGet, tok, id); ok {
			return it, nil
		}
	} else if r.redis != nil {
		r.m.fell(reasonL2MinSeq)
	}
	return r.fromSQL(ctx, opGet, tok, id, minSeq)
}

// Exists implements ingest.Reader: a trusted filter answers "absent"
// without storage; otherwise the tiers answer as for Get with minSeq 0.
func (r *Reader) Exists(ctx context.Context, id string) (bool, error) {
	e, live := r.l1.lookup(id)
	if e != nil {
		r.m.request(opExists, sourceL1)
		return true, nil
	}
	if !live && r.filterAbsent(id) {
		r.m.request(opExists, sourceFilter)
		return false, nil
	}
	tok := r.l1.begin(r.floor.Load())
	if _, ok := r.fromRedis(ctx, opExists, tok, id); ok {
		return true, nil
	}
	_, err := r.fromSQL(ctx, opExists, tok, id, 0)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, item.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// filterAbsent reports whether a trusted, caught-up filter rules id out.
// An id whose watermark says live is never ruled out (the filter may lag
// the L1 follower by a few records).
func (r *Reader) filterAbsent(id string) bool {
	absent, ok := r.filter.lookup(id)
	switch {
	case !ok:
		r.m.fell(reasonFilterUntrusted)
	case !absent:
		r.m.fell(reasonFilterPositive)
	}
	return ok && absent
}

// fromRedis reads L2. It answers only with a copy that is not older than
// a commit this process has seen; every failure falls through to SQL.
func (r *Reader) fromRedis(ctx context.Context, o op, tok fillToken, id string) (ingest.Item, bool) {
	if r.redis == nil {
		return ingest.Item{}, false
	}
	now := r.cfg.Now()
	if !r.redisB.allow(now) {
		r.m.fell(reasonL2Down)
		return ingest.Item{}, false
	}
	rctx, cancel := context.WithTimeout(ctx, r.cfg.RedisTimeout)
	e, found, err := r.redis.Get(rctx, id)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, rediscache.ErrUnavailable) {
			r.redisB.fail(r.cfg.Now())
		}
		r.m.fell(reasonL2Error)
		return ingest.Item{}, false
	}
	r.redisB.ok()
	if !found {
		r.m.fell(reasonL2Miss)
		return ingest.Item{}, false
	}
	if !r.l1.fresh(id, e.Version, e.Leaf, now) {
		r.m.fell(reasonL2Stale)
		return ingest.Item{}, false
	}
	it := ingest.Item{ID: id, Version: e.Version, Payload: e.Payload, ContentType: e.ContentType, State: e.State, Source: "l2"}
	r.l1.insert(tok, id, it, e.Leaf, 0, false, now)
	r.m.request(o, sourceL2)
	return it, true
}

// fromSQL reads L3, the truth, and fills L1 and Redis with a hit.
func (r *Reader) fromSQL(ctx context.Context, o op, tok fillToken, id string, minSeq uint64) (ingest.Item, error) {
	si, err := r.sql.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		r.m.request(o, sourceMiss)
		return ingest.Item{}, notFound()
	}
	if err != nil {
		return ingest.Item{}, translate(err)
	}
	it := ingest.Item{ID: id, Version: si.Version, Payload: si.Payload, ContentType: si.ContentType, State: si.State, Source: "l3"}
	now := r.cfg.Now()
	r.l1.insert(tok, id, it, si.Leaf, max(minSeq, tok.floor), true, now)
	if r.fills != nil {
		r.fills.enqueue(si, now)
	}
	r.m.request(o, sourceL3)
	return it, nil
}

func (e *entry) item(id string) ingest.Item {
	return ingest.Item{ID: id, Version: e.version, Payload: e.payload, ContentType: e.contentType, State: e.state, Source: "l1"}
}

func notFound() error { return &item.Error{Code: item.CodeNotFound, Message: "no such item"} }

// translate maps SQL errors to the client API's.
func translate(err error) error {
	switch {
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &item.Error{Code: item.CodeUnavailable, Message: "SQL is unavailable", RetryAfterSeconds: 1, Err: err}
	default:
		return err
	}
}

// raise sets a to max(a, v).
func raise(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
