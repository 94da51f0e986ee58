package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// errLeaseLost ends a term: the lease was taken over, or could not be
// renewed before it would lapse.
var errLeaseLost = errors.New("reconciler: lease lost")

// LeaseValue is the JSON value of the lease key.
type LeaseValue struct {
	Holder  string    `json:"holder"`
	Since   time.Time `json:"since"`
	Renewed time.Time `json:"renewed"`
}

// lease is the leader lease: one key in the LEASES KV bucket, whose TTL
// (the bucket's MaxAge) is the lease period. It is created only if absent
// (Create), renewed only at the revision this holder last wrote (Update),
// and released only at that revision (Delete with LastRevision), so two
// holders can never both believe they hold it for longer than the margin
// below.
type lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	period time.Duration
	now    func() time.Time

	rev     uint64
	since   time.Time
	renewed time.Time
}

func newLease(ctx context.Context, kv jetstream.KeyValue, key, holder string, now func() time.Time) (*lease, error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconciler: lease bucket status: %w", err)
	}
	if st.TTL() <= 0 {
		return nil, fmt.Errorf("reconciler: lease bucket %s has no TTL", kv.Bucket())
	}
	return &lease{kv: kv, key: key, holder: holder, period: st.TTL(), now: now}, nil
}

func (l *lease) value() []byte {
	b, _ := json.Marshal(LeaseValue{Holder: l.holder, Since: l.since, Renewed: l.renewed})
	return b
}

// tryAcquire creates the key if it is absent (expired, released or never
// written) and reports whether this holder now has it.
func (l *lease) tryAcquire(ctx context.Context) (bool, error) {
	now := l.now()
	l.since, l.renewed = now, now
	rev, err := l.kv.Create(ctx, l.key, l.value())
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reconciler: lease create: %w", err)
	}
	l.rev = rev
	return true, nil
}

// acquire blocks until this holder has the lease, trying at once, on every
// delete of the key (a clean release, seen by a watch) and every period/4
// (an expiry gives no notification). Errors other than ctx's are retried.
func (l *lease) acquire(ctx context.Context, onErr func(error)) error {
	w, err := l.kv.Watch(ctx, l.key, jetstream.UpdatesOnly())
	var updates <-chan jetstream.KeyValueEntry
	if err == nil {
		defer func() { _ = w.Stop() }()
		updates = w.Updates()
	} else {
		onErr(fmt.Errorf("reconciler: lease watch (polling only): %w", err))
	}
	tick := time.NewTicker(l.period / 4)
	defer tick.Stop()
	for {
		ok, err := l.tryAcquire(ctx)
		if ok {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		case e, open := <-updates:
			if !open {
				updates = nil
			} else if e != nil && e.Operation() == jetstream.KeyValuePut {
				continue // someone renewed: wait for the next event
			}
		}
	}
}

// hold renews the lease every period/3 until ctx ends (nil) or the lease is
// lost (errLeaseLost): the key was changed by another holder, or renewals
// failed for 2/3 of a period, after which another instance may soon take
// over.
func (l *lease) hold(ctx context.Context, onErr func(error)) error {
	tick := time.NewTicker(l.period / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := l.now()
		prev := l.renewed
		l.renewed = now
		rev, err := l.kv.Update(ctx, l.key, l.value(), l.rev)
		switch {
		case err == nil:
			l.rev = rev
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
			// Wrong last sequence: the key expired or another holder wrote it.
			return fmt.Errorf("%w: %w", errLeaseLost, err)
		default:
			l.renewed = prev
			onErr(fmt.Errorf("reconciler: lease renew: %w", err))
			if now.Sub(prev) > 2*l.period/3 {
				return fmt.Errorf("%w: no renewal for %s", errLeaseLost, now.Sub(prev))
			}
		}
	}
}

// release deletes the key if it is still this holder's revision.
func (l *lease) release(ctx context.Context) error {
	err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("reconciler: lease release: %w", err)
	}
	return nil
}

// CurrentLeader returns the lease holder, if the lease is held.
func CurrentLeader(ctx context.Context, kv jetstream.KeyValue, key string) (LeaseValue, bool, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return LeaseValue{}, false, nil
	}
	if err != nil {
		return LeaseValue{}, false, fmt.Errorf("reconciler: read lease: %w", err)
	}
	var v LeaseValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return LeaseValue{}, false, fmt.Errorf("reconciler: lease value: %w", err)
	}
	return v, true, nil
}
