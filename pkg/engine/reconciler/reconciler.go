package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/wal"
)

// StageName is the reconciler's lifecycle stage.
const StageName = "reconciler"

var (
	// errStopping is the cause of a clean shutdown: snapshot, release.
	errStopping = errors.New("reconciler: stopping")
	// errKilled ends the process as a crash would: no final snapshot, no
	// release (tests of the standby's takeover).
	errKilled = errors.New("reconciler: killed")
)

// Reconciler keeps Redis equal to SQL and publishes filter snapshots while
// it holds the leader lease; other instances stand by (doc.go).
type Reconciler struct {
	cfg     Config
	names   wal.Names
	js      jetstream.JetStream
	sql     SQL
	cache   *rediscache.Cache
	stage   *lifecycle.Stage
	log     *slog.Logger
	m       *metrics
	checker *Checker
	filter  filterState
	// writeMu is the Checker's mu: every SQL-read-then-Redis-write step.
	writeMu sync.Mutex
	// onFatal is called when the reconciler cannot go on (fx: shut down).
	onFatal func(error)

	checkKick, snapKick, rebuildKick chan struct{}

	mu             sync.Mutex // guards the fields below
	cancel         context.CancelCauseFunc
	done           chan struct{}
	leader         bool
	redisDown      bool
	inSync         bool
	sqlRoot        merkle.Hash
	redisRoot      merkle.Hash
	outOfSyncSince time.Time
	objects        jetstream.ObjectStore
}

// New returns an unstarted reconciler. tracker and reg are the process's;
// onFatal may be nil.
func New(cfg Config, names wal.Names, js jetstream.JetStream, sql SQL, cache *rediscache.Cache,
	tracker *lifecycle.Tracker, reg prometheus.Registerer, log *slog.Logger, onFatal func(error)) (*Reconciler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if names.Prefix() == "" {
		return nil, errors.New("reconciler: wal names are not set")
	}
	cfg = cfg.WithDefaults()
	if onFatal == nil {
		onFatal = func(error) {}
	}
	r := &Reconciler{
		cfg: cfg, names: names, js: js, sql: sql, cache: cache,
		stage: tracker.Stage(StageName), log: log.With("stage", StageName, "instance", cfg.Instance),
		m: newMetrics(reg), onFatal: onFatal,
		checkKick: make(chan struct{}, 1), snapKick: make(chan struct{}, 1), rebuildKick: make(chan struct{}, 1),
	}
	r.checker = newChecker(sql, cache, cfg, r.m, &r.writeMu)
	return r, nil
}

// Start runs the reconciler in a goroutine it owns until Stop. It does not
// block: the lease and the start-up phases run in the background, visible
// in the lifecycle state.
func (r *Reconciler) Start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		return errors.New("reconciler: already started")
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.run(ctx, r.done)
	return nil
}

// Stop shuts down cleanly: the loops stop, a leader publishes a last
// snapshot and releases the lease. It waits for that or for ctx.
func (r *Reconciler) Stop(ctx context.Context) error {
	r.stage.Set(lifecycle.ShuttingDown)
	return r.stop(ctx, errStopping)
}

// kill stops as a crash would, keeping the lease until it lapses.
func (r *Reconciler) kill(ctx context.Context) error { return r.stop(ctx, errKilled) }

func (r *Reconciler) stop(ctx context.Context, cause error) error {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel(cause)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("reconciler: stop: %w", ctx.Err())
	}
}

// run alternates standby and leader terms until ctx ends.
func (r *Reconciler) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	defer func() {
		if errors.Is(context.Cause(ctx), errStopping) {
			r.stage.Set(lifecycle.ShuttingDown) // a phase may have moved it meanwhile
		}
	}()
	for ctx.Err() == nil {
		err := r.term(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, errLeaseLost) {
			r.log.Error("reconciler stopped", "err", err)
			r.onFatal(err)
			return
		}
	}
}

// term is one standby period followed by one leadership.
func (r *Reconciler) term(ctx context.Context) error {
	var kv jetstream.KeyValue
	var l *lease
	err := r.retry(ctx, "lease bucket", r.cfg.OpTimeout, func(ctx context.Context) error {
		var err error
		if kv, err = r.js.KeyValue(ctx, r.names.LeasesBucket()); err != nil {
			return err
		}
		l, err = newLease(ctx, kv, r.cfg.LeaseKey, r.cfg.Instance, r.cfg.Now)
		return err
	})
	if err != nil {
		return nil
	}
	// A standby is ready: healthy, and able to take over within a period.
	r.stage.Set(lifecycle.Ready)
	r.log.Info("standing by for the lease", "lease_period", l.period.String())
	logErr := func(err error) { r.log.Warn("lease", "err", err) }
	if err := l.acquire(ctx, logErr); err != nil {
		return nil
	}
	r.setLeader(true)
	r.log.Info("lease acquired, leading", "lease_period", l.period.String())

	tctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := l.hold(tctx, logErr); err != nil {
			cancel(err)
		}
	}()
	err = r.lead(tctx)
	cause := context.Cause(tctx)
	cancel(nil)
	wg.Wait()
	r.setLeader(false)

	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errStopping) {
			rctx, rcancel := context.WithTimeout(context.Background(), r.cfg.OpTimeout)
			defer rcancel()
			if err := l.release(rctx); err != nil {
				r.log.Warn("lease release", "err", err)
			} else {
				r.log.Info("lease released")
			}
		}
		return nil
	}
	if errors.Is(cause, errLeaseLost) {
		r.log.Warn("stepped down", "err", cause)
		return errLeaseLost
	}
	return err
}

func (r *Reconciler) setLeader(b bool) {
	r.mu.Lock()
	r.leader = b
	r.mu.Unlock()
	r.m.leader.Set(b2f(b))
}

// retry calls fn until it succeeds or ctx ends, backing off between
// failures; it returns ctx's cause in the latter case. Each call gets
// timeout (0 = none).
func (r *Reconciler) retry(ctx context.Context, what string, timeout time.Duration, fn func(ctx context.Context) error) error {
	d := r.cfg.BackoffMin
	for {
		octx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			octx, cancel = context.WithTimeout(ctx, timeout)
		}
		err := fn(octx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		r.log.Warn(what+" failed, retrying", "err", err, "retry_in", d)
		if err := sleep(ctx, d); err != nil {
			return err
		}
		d = min(2*d, r.cfg.BackoffMax)
	}
}

// Status is a point-in-time view for `syncline status` and tests.
type Status struct {
	Leader         bool
	InSync         bool
	SQLRoot        merkle.Hash
	RedisRoot      merkle.Hash
	RedisAvailable bool
	FilterTrusted  bool
	FilterEntries  uint64
	FilterSeq      uint64
	State          lifecycle.State
}

// Status returns the current status.
func (r *Reconciler) Status() Status {
	fs := r.filter.status()
	r.mu.Lock()
	defer r.mu.Unlock()
	return Status{Leader: r.leader, InSync: r.inSync, SQLRoot: r.sqlRoot, RedisRoot: r.redisRoot,
		RedisAvailable: !r.redisDown, FilterTrusted: fs.Trusted, FilterEntries: fs.Entries,
		FilterSeq: fs.Seq, State: r.stage.State()}
}

// MayContain answers from the filter: present is false only for an id that
// is certainly not live; trusted is false when the filter cannot answer.
func (r *Reconciler) MayContain(id string) (present, trusted bool) { return r.filter.lookup(id) }

// Verify compares SQL and Redis under prefix without writing (Checker.Verify).
func (r *Reconciler) Verify(ctx context.Context, prefix string, deep bool) (Report, error) {
	return r.checker.Verify(ctx, prefix, deep)
}

// Repair runs the branch-diff repair under prefix now (Checker.Repair).
func (r *Reconciler) Repair(ctx context.Context, prefix string, deep bool) (Report, error) {
	return r.checker.Repair(ctx, prefix, deep)
}
