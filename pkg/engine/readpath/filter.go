package readpath

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/cuckoo"
	"github.com/syncline/syncline/pkg/engine/reconciler"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/wal"
)

// filterGen is one loaded snapshot and the feed replayed onto it. It is
// usable (its "absent" believed) while the replay has had no gap and has
// reached target: at first the feed's last sequence when the snapshot was
// loaded, then whatever the lag check raises it to.
type filterGen struct {
	f       *cuckoo.Filter
	trust   cuckoo.Trust
	snapSeq uint64
	entries uint64 // at load
	target  atomic.Uint64
	applied atomic.Uint64
	broken  atomic.Bool
	// stale counts deletes it did not apply (insert-only, doc.go).
	stale     atomic.Uint64
	ready     chan struct{} // closed once applied >= the initial target
	readyOnce sync.Once
	follower  *wal.CommitFollower
}

func (g *filterGen) usable() bool {
	return g != nil && !g.broken.Load() && g.applied.Load() >= g.target.Load()
}

func (g *filterGen) markReady() { g.readyOnce.Do(func() { close(g.ready) }) }

func (g *filterGen) stop() {
	if g != nil && g.follower != nil {
		g.follower.Stop()
	}
}

// filterCopy is this process's copy of the reconciler's filter.
type filterCopy struct {
	r      *Reader
	active atomic.Pointer[filterGen]
	// kick wakes the loader: a gap, a newer snapshot.
	kick chan struct{}
}

// lookup reports whether id is definitely absent; ok is false when no
// usable filter can say.
func (fc *filterCopy) lookup(id string) (absent, ok bool) {
	g := fc.active.Load()
	if !g.usable() {
		return false, false
	}
	return !g.f.Lookup([]byte(id)), true
}

func (fc *filterCopy) usable() bool { return fc.active.Load().usable() }

func (fc *filterCopy) entries() uint64 {
	if g := fc.active.Load(); g != nil {
		return g.f.Count()
	}
	return 0
}

// raiseTarget: the feed had reached seq one lag interval ago; a filter
// that has not applied it yet lags and is not believed until it has.
func (fc *filterCopy) raiseTarget(seq uint64) {
	if g := fc.active.Load(); g != nil {
		raise(&g.target, seq)
	}
}

func (fc *filterCopy) wake() {
	select {
	case fc.kick <- struct{}{}:
	default:
	}
}

// Reasons a snapshot is not loaded.
var (
	errNoSnapshot   = errors.New("readpath: no filter snapshot")
	errNotNewer     = errors.New("readpath: no newer filter snapshot")
	errFeedExpired  = errors.New("readpath: the commit feed no longer holds the records after the snapshot")
	errFeedBehind   = errors.New("readpath: the commit feed is behind the snapshot (recreated stream?)")
	errReplayBroken = errors.New("readpath: gap while replaying the commit feed onto the snapshot")
)

// load reads the latest snapshot, checks that the commit feed still holds
// every record after it, and starts replaying them from the snapshot's
// sequence + 1. With onlyNewer, a snapshot whose sequence is not above
// than is not loaded (errNotNewer).
func (fc *filterCopy) load(ctx context.Context, objs jetstream.ObjectStore, onlyNewer bool, than uint64) (*filterGen, error) {
	r := fc.r
	data, meta, err := fc.read(ctx, objs, onlyNewer, than)
	if err != nil {
		return nil, err
	}
	f, err := cuckoo.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("readpath: snapshot: %w", err)
	}
	if f.Count() != meta.Entries {
		return nil, fmt.Errorf("readpath: snapshot holds %d ids, its metadata says %d", f.Count(), meta.Entries)
	}
	fctx, cancel := context.WithTimeout(ctx, r.cfg.SnapshotReadTimeout)
	defer cancel()
	first, last, err := r.feedBounds(fctx)
	if err != nil {
		return nil, err
	}
	switch {
	case last < meta.Seq:
		return nil, errFeedBehind
	case last > meta.Seq && first > meta.Seq+1:
		return nil, errFeedExpired
	}
	g := &filterGen{f: f, snapSeq: meta.Seq, entries: meta.Entries, ready: make(chan struct{})}
	g.trust.Set(meta.Root, meta.Seq)
	g.applied.Store(meta.Seq)
	g.target.Store(last)
	if last <= meta.Seq {
		g.markReady()
	}
	// The follower keeps ctx (not fctx) for its life.
	g.follower, err = wal.FollowCommits(ctx, r.js, r.names, meta.Seq+1, wal.FollowHandlers{
		OnRecord: func(seq uint64, rec wal.CommitRecord) { fc.onRecord(g, seq, rec) },
		OnGap:    func(gap wal.Gap) { fc.onGap(g, gap) },
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// read returns the snapshot's bytes and the metadata of exactly the
// version read.
func (fc *filterCopy) read(ctx context.Context, objs jetstream.ObjectStore, onlyNewer bool, than uint64) ([]byte, reconciler.SnapshotMeta, error) {
	r := fc.r
	var none reconciler.SnapshotMeta
	ictx, cancel := context.WithTimeout(ctx, r.cfg.SnapshotReadTimeout)
	defer cancel()
	info, err := objs.GetInfo(ictx, reconciler.SnapshotObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, none, errNoSnapshot
	}
	if err != nil {
		return nil, none, fmt.Errorf("readpath: snapshot info: %w", err)
	}
	if meta, err := reconciler.ParseSnapshotMeta(info.Metadata); err == nil && onlyNewer && meta.Seq <= than {
		return nil, none, errNotNewer
	}
	if int64(info.Size) > r.cfg.MaxSnapshotBytes {
		return nil, none, fmt.Errorf("readpath: snapshot of %d bytes exceeds MaxSnapshotBytes %d", info.Size, r.cfg.MaxSnapshotBytes)
	}
	// The deadline bounds a read whose chunks were purged by a newer
	// snapshot: it would otherwise wait for them until the deadline.
	rctx, cancel2 := context.WithTimeout(ctx, r.cfg.SnapshotReadTimeout+time.Duration(info.Size>>24)*time.Second)
	defer cancel2()
	res, err := objs.Get(rctx, reconciler.SnapshotObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, none, errNoSnapshot
	}
	if err != nil {
		return nil, none, fmt.Errorf("readpath: snapshot read: %w", err)
	}
	defer res.Close()
	info, err = res.Info()
	if err != nil {
		return nil, none, fmt.Errorf("readpath: snapshot read: %w", err)
	}
	meta, err := reconciler.ParseSnapshotMeta(info.Metadata)
	if err != nil {
		return nil, none, err
	}
	if int64(info.Size) > r.cfg.MaxSnapshotBytes {
		return nil, none, fmt.Errorf("readpath: snapshot of %d bytes exceeds MaxSnapshotBytes %d", info.Size, r.cfg.MaxSnapshotBytes)
	}
	data, err := io.ReadAll(io.LimitReader(res, r.cfg.MaxSnapshotBytes+1))
	if err != nil {
		return nil, none, fmt.Errorf("readpath: snapshot read: %w", err)
	}
	return data, meta, nil
}

// onRecord applies one record to g, insert-only: a change that makes an
// id live inserts it unless the filter already reports it; a delete is
// only counted (doc.go, "Filter").
func (fc *filterCopy) onRecord(g *filterGen, seq uint64, rec wal.CommitRecord) {
	root, _ := merkle.ParseHash(rec.Root) // DecodeCommit validated it
	trusted := g.trust.Apply(seq, root, func() {
		for _, c := range rec.Changes {
			if c.Deleted {
				g.stale.Add(1)
				fc.r.m.staleDeletes.Inc()
				continue
			}
			b := []byte(c.ID)
			if !g.f.Lookup(b) {
				_ = g.f.Insert(b) // ErrOverflow: the id is held all the same
			}
		}
	})
	if !trusted {
		fc.onGap(g, wal.Gap{After: g.applied.Load(), Next: seq})
		return
	}
	raise(&g.applied, seq)
	if seq >= g.target.Load() {
		g.markReady()
	}
}

func (fc *filterCopy) onGap(g *filterGen, gap wal.Gap) {
	if g.broken.Swap(true) {
		return
	}
	g.trust.Revoke()
	fc.r.m.gaps.WithLabelValues(followerFl).Inc()
	fc.r.log.Warn("commit feed gap, filter untrusted until a snapshot is replayed again",
		"after", gap.After, "next", gap.Next, "err", gap.Err)
	fc.wake()
}
