package readpath

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
)

// breaker makes reads skip Redis for a while after it failed, so that a
// Redis that is down costs one timeout per backoff period, not per read.
type breaker struct {
	min, max time.Duration
	until    atomic.Int64 // unix nanoseconds; reads skip Redis before it
	mu       sync.Mutex
	backoff  time.Duration
}

func (b *breaker) allow(now time.Time) bool { return now.UnixNano() >= b.until.Load() }

func (b *breaker) fail(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backoff = min(max(2*b.backoff, b.min), b.max)
	b.until.Store(now.Add(b.backoff).UnixNano())
}

func (b *breaker) ok() {
	if b.until.Load() == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backoff = 0
	b.until.Store(0)
}

// fillJob is a Redis write of the read path: a fill (put) after an SQL
// hit, or the undo (del) of a fill that a later delete made stale.
type fillJob struct {
	put  rediscache.Entry
	leaf merkle.Hash
	del  rediscache.Tombstone
}

// filler writes Redis fills in the background. Redis's own guard makes a
// fill harmless against newer values; the only hazard is a fill computed
// from an SQL read that a delete overtook, since tombstones are not in
// Redis (rediscache doc, "Guarded writes"). So a fill is remembered in
// recent before it is written and checked against the watermarks after;
// a delete on the feed checks recent after updating the watermarks: one
// of the two sides sees the other and removes the copy (see doc.go).
type filler struct {
	r     *Reader
	queue chan fillJob
	mu    sync.Mutex
	// recent holds id -> version of fills written lately.
	recent *simplelru.LRU[string, uint64]
	// pending counts jobs queued or being written.
	pending atomic.Int64
}

func newFiller(r *Reader) *filler {
	f := &filler{r: r, queue: make(chan fillJob, r.cfg.FillQueue)}
	f.recent, _ = simplelru.NewLRU[string, uint64](r.cfg.RecentFills, nil)
	return f
}

// enqueue asks for a fill of an item read from SQL, with what is left of
// its cache TTL (an item past its TTL is not filled: Redis drops it by
// design). A full queue drops the fill.
func (f *filler) enqueue(it store.Item, now time.Time) {
	var ttl time.Duration
	if it.CacheTTL > 0 {
		if ttl = it.CacheTTL - now.Sub(it.UpdatedAt); ttl <= 0 {
			f.r.m.fills.WithLabelValues("skipped").Inc()
			return
		}
	}
	if !f.r.redisB.allow(now) {
		f.r.m.fills.WithLabelValues("skipped").Inc()
		return
	}
	job := fillJob{put: rediscache.Entry{ID: it.ID, Version: it.Version, Payload: it.Payload, ContentType: it.ContentType,
		State: it.State, TTL: ttl, Durable: it.Route == item.RouteDurable}, leaf: it.Leaf} // durable: a ghost, never the value (docs/query.md)
	f.pending.Add(1)
	select {
	case f.queue <- job:
	default:
		f.pending.Add(-1)
		f.r.m.fills.WithLabelValues("dropped").Inc()
	}
}

// onDelete runs on the feed follower after the watermark of id recorded a
// delete at version: a copy this process filled at or below it goes.
func (f *filler) onDelete(id string, version uint64) {
	f.mu.Lock()
	v, ok := f.recent.Peek(id)
	if ok && v <= version {
		f.recent.Remove(id)
	}
	f.mu.Unlock()
	if !ok || v > version {
		return
	}
	f.pending.Add(1)
	select {
	case f.queue <- fillJob{del: rediscache.Tombstone{ID: id, Version: version}}:
	default:
		f.pending.Add(-1)
		f.r.m.fills.WithLabelValues("dropped").Inc() // the reconciler's diff removes it
	}
}

// work writes queued jobs in batches until ctx ends.
func (f *filler) work(ctx context.Context) {
	batch := make([]fillJob, 0, f.r.cfg.FillBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-f.queue:
			batch = append(batch[:0], j)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case j := <-f.queue:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		f.write(ctx, batch)
		f.pending.Add(-int64(len(batch)))
	}
}

func (f *filler) write(ctx context.Context, batch []fillJob) {
	var puts []rediscache.Entry
	var dels []rediscache.Tombstone
	f.mu.Lock()
	for _, j := range batch {
		if j.del.ID != "" {
			dels = append(dels, j.del)
			continue
		}
		if f.r.l1.superseded(j.put.ID, j.put.Version, j.leaf) {
			f.r.m.fills.WithLabelValues("skipped").Inc() // superseded: the reconciler writes the newer one
			continue
		}
		f.recent.Add(j.put.ID, j.put.Version)
		puts = append(puts, j.put)
	}
	f.mu.Unlock()
	if len(puts) > 0 {
		wctx, cancel := context.WithTimeout(ctx, f.r.cfg.FillTimeout)
		applied, err := f.r.redis.PutMany(wctx, puts)
		cancel()
		if err != nil {
			f.failed(ctx, err, len(puts))
			return
		}
		for _, a := range applied {
			if a {
				f.r.m.fills.WithLabelValues("applied").Inc()
			} else {
				f.r.m.fills.WithLabelValues("unchanged").Inc()
			}
		}
		// A delete the feed delivered while the fill was on its way.
		for _, p := range puts {
			if v, ok := f.r.l1.markDeleted(p.ID); ok && v >= p.Version {
				dels = append(dels, rediscache.Tombstone{ID: p.ID, Version: v})
			}
		}
	}
	if len(dels) > 0 {
		wctx, cancel := context.WithTimeout(ctx, f.r.cfg.FillTimeout)
		removed, err := f.r.redis.DeleteMany(wctx, dels)
		cancel()
		if err != nil {
			f.failed(ctx, err, len(dels))
			return
		}
		for _, ok := range removed {
			if ok {
				f.r.m.fills.WithLabelValues("deleted").Inc()
			}
		}
	}
}

func (f *filler) failed(ctx context.Context, err error, n int) {
	if ctx.Err() != nil {
		return
	}
	if errors.Is(err, rediscache.ErrUnavailable) {
		f.r.redisB.fail(f.r.cfg.Now())
	}
	f.r.m.fills.WithLabelValues("error").Add(float64(n))
}
