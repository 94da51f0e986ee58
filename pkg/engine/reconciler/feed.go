package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/wal"
)

// feedBuffer decouples the NATS dispatcher from Redis round trips: the
// consume callback blocks once this many records wait, which throttles
// the ordered consumer's flow instead of growing memory.
const feedBuffer = 1024

// feedLoop follows the commit feed from startSeq and applies each batch of
// records: the filter first (it depends on nothing else), then Redis
// through the guarded scripts with values read from SQL. It returns when
// ctx ends.
func (r *Reconciler) feedLoop(ctx context.Context, startSeq uint64) error {
	var cc jetstream.ConsumeContext
	msgs := make(chan jetstream.Msg, feedBuffer)
	// No per-call timeout: the ordered consumer keeps ctx for its life
	// (it re-creates itself with it after a reset).
	err := r.retry(ctx, "commit feed consumer", 0, func(ctx context.Context) error {
		cons, err := r.js.OrderedConsumer(ctx, r.names.CommitsStream(), jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{r.names.CommitsSubject()},
			DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:    startSeq,
		})
		if err != nil {
			return err
		}
		cc, err = cons.Consume(func(m jetstream.Msg) {
			select {
			case msgs <- m:
			case <-ctx.Done():
			}
		})
		return err
	})
	if err != nil {
		return nil // ctx ended
	}
	defer func() {
		cc.Stop()
		<-cc.Closed()
	}()
	last := startSeq - 1
	batch := make([]jetstream.Msg, 0, r.cfg.FeedBatch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			batch = append(batch[:0], m)
		}
	drain:
		for len(batch) < r.cfg.FeedBatch {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		last = r.applyFeed(ctx, batch, last)
	}
}

// pending is what a batch of records asks of Redis for one id.
type pending struct {
	version uint64
	deleted bool
}

// applyFeed applies records in feed order and returns the last sequence
// seen. A sequence that skips ahead, or a record that cannot be decoded,
// is a gap: the filter stops being trusted until a rebuild.
func (r *Reconciler) applyFeed(ctx context.Context, msgs []jetstream.Msg, last uint64) uint64 {
	want := map[string]pending{}
	var stamps []time.Time
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		seq := md.Sequence.Stream
		if seq <= last {
			continue // redelivery after a consumer reset
		}
		if seq != last+1 {
			r.feedGap(fmt.Errorf("records %d..%d missing", last+1, seq-1))
		}
		last = seq
		rec, err := wal.DecodeCommit(m.Data())
		if err != nil {
			r.feedGap(fmt.Errorf("record %d: %w", seq, err))
			continue
		}
		root, err := merkle.ParseHash(rec.Root)
		if err != nil {
			r.feedGap(fmt.Errorf("record %d root: %w", seq, err))
			continue
		}
		changes := make([]filterChange, len(rec.Changes))
		for i, c := range rec.Changes {
			changes[i] = filterChange{ID: c.ID, Deleted: c.Deleted}
			p := want[c.ID]
			if c.Version >= p.version {
				want[c.ID] = pending{version: c.Version, deleted: c.Deleted}
			}
		}
		r.filter.apply(seq, root, changes)
		stamps = append(stamps, md.Timestamp)
		r.m.feedRecords.Inc()
	}
	r.afterFilterChange()
	if len(want) == 0 {
		return last
	}
	if err := r.writeThrough(ctx, want); err != nil {
		if ctx.Err() == nil {
			r.redisFailed(err)
		}
		return last
	}
	now := r.cfg.Now()
	for _, ts := range stamps {
		r.m.freshness.Observe(now.Sub(ts).Seconds())
	}
	if n := len(stamps); n > 0 {
		r.m.feedLag.Set(now.Sub(stamps[n-1]).Seconds())
	}
	return last
}

// writeThrough brings the ids of want to what SQL holds now: the fast
// path. The SQL read and the Redis write happen under writeMu (see
// Checker.mu).
func (r *Reconciler) writeThrough(ctx context.Context, want map[string]pending) error {
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	octx, cancel := context.WithTimeout(ctx, r.cfg.OpTimeout)
	defer cancel()
	items, err := r.sql.GetMany(octx, ids)
	if err != nil {
		return fmt.Errorf("reconciler: fast path sql read: %w", err)
	}
	var puts []rediscache.Entry
	var dels []rediscache.Tombstone
	for _, id := range ids {
		if it, ok := items[id]; ok {
			puts = append(puts, entryOf(it))
		} else {
			dels = append(dels, rediscache.Tombstone{ID: id, Version: want[id].version})
		}
	}
	if _, err := r.cache.DeleteMany(octx, dels); err != nil {
		return err
	}
	if _, err := r.cache.PutMany(octx, puts); err != nil {
		return err
	}
	r.redisOK()
	return nil
}

// feedGap revokes the filter's trust and asks for a rebuild.
func (r *Reconciler) feedGap(err error) {
	r.log.Warn("commit feed gap, filter untrusted until rebuilt", "err", err)
	r.filter.revoke()
	r.m.filterTrusted.Set(0)
	kick(r.rebuildKick)
}

// afterFilterChange updates the filter metrics and asks for a snapshot or
// a rebuild when one is due.
func (r *Reconciler) afterFilterChange() {
	st := r.filter.status()
	r.m.filterEntries.Set(float64(st.Entries))
	r.m.filterLoad.Set(st.LoadFactor)
	r.m.filterTrusted.Set(b2f(st.Trusted))
	if st.Changes >= r.cfg.SnapshotChanges {
		kick(r.snapKick)
	}
	stale := float64(st.Deletes) > r.cfg.RebuildStaleFraction*float64(st.Entries) && st.Deletes > 1000
	if !st.Rebuilding && (stale || st.Overflowed || !st.Trusted) {
		kick(r.rebuildKick)
	}
}

// redisFailed marks Redis unsynced after a failed write; the check loop
// repairs once it answers again.
func (r *Reconciler) redisFailed(err error) {
	r.m.redisWriteFails.Inc()
	r.mu.Lock()
	was := r.redisDown
	r.redisDown = true
	r.mu.Unlock()
	r.m.redisAvailable.Set(0)
	r.m.rootsInSync.Set(0)
	if !was {
		level := "redis write failed, left to repair"
		if errors.Is(err, rediscache.ErrUnavailable) {
			level = "redis unavailable, running unsynced"
		}
		r.log.Warn(level, "err", err)
	}
}

// redisOK clears the unavailable mark and asks for a repair pass.
func (r *Reconciler) redisOK() {
	r.mu.Lock()
	was := r.redisDown
	r.redisDown = false
	r.mu.Unlock()
	if was {
		r.m.redisAvailable.Set(1)
		r.log.Info("redis available again, repairing")
		kick(r.checkKick)
	}
}

// kick sends on a 1-buffered channel without blocking: a pending kick
// already asks for the same thing.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
