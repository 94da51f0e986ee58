package readpath

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/wal"
)

// feedState decides whether L1 serves: only while its feed follower runs
// and keeps up. Leaving that state purges L1.
type feedState struct {
	l1      *l1
	now     func() time.Time
	mu      sync.Mutex
	running bool
	lagging bool
	target  uint64 // the follower must apply this sequence to stop lagging
}

func (s *feedState) setRunning(running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = running
	s.update()
}

// check runs every lag interval: seen is the feed's last sequence one
// interval ago. A follower that has not applied it yet is lagging.
func (s *feedState) check(seen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	if s.l1.applied.Load() < seen {
		s.lagging, s.target = true, max(s.target, seen)
	} else if s.lagging && s.l1.applied.Load() >= s.target {
		s.lagging = false
	}
	s.update()
}

// applied runs after the follower applied a record.
func (s *feedState) applied(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lagging && seq >= s.target {
		s.lagging = false
		s.update()
	}
}

func (s *feedState) update() {
	on := s.running && !s.lagging
	switch {
	case on && !s.l1.enabled.Load():
		s.l1.holdRedis(s.now())
		s.l1.enabled.Store(true)
	case !on && s.l1.enabled.Load():
		s.l1.disable()
	}
}

// runL1Feed follows the commit feed from its current end for L1
// invalidation and the watermarks, until ctx ends.
func (r *Reader) runL1Feed(ctx context.Context) {
	var f *wal.CommitFollower
	wait := r.cfg.RetryMin
	for {
		var err error
		if f, err = r.startL1Follower(ctx); err == nil {
			break
		}
		r.log.Warn("commit feed unavailable, L1 off", "err", err, "retry_in", wait.String())
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, r.cfg.RetryMax)
	}
	<-ctx.Done()
	f.Stop()
	r.l1feed.setRunning(false)
}

func (r *Reader) startL1Follower(ctx context.Context) (*wal.CommitFollower, error) {
	_, last, err := r.feedBounds(ctx)
	if err != nil {
		return nil, err
	}
	// L1 is empty: every record up to last was committed to SQL before any
	// read that L1 will take a fill token for.
	raise(&r.l1.applied, last)
	f, err := wal.FollowCommits(ctx, r.js, r.names, last+1, wal.FollowHandlers{
		OnRecord: r.onL1Record,
		OnGap:    r.onL1Gap,
	})
	if err != nil {
		return nil, err
	}
	r.l1feed.setRunning(true)
	return f, nil
}

func (r *Reader) onL1Record(seq uint64, rec wal.CommitRecord) {
	now := r.cfg.Now()
	for _, c := range rec.Changes {
		var leaf merkle.Hash
		if !c.Deleted {
			leaf, _ = merkle.ParseHash(c.Leaf) // DecodeCommit validated it
		}
		if r.l1.apply(seq, now, c.ID, c.Version, leaf, c.Deleted) {
			r.m.invalidations.Inc()
		}
		if c.Deleted && r.fills != nil {
			r.fills.onDelete(c.ID, c.Version)
		}
	}
	raise(&r.l1.applied, seq)
	r.l1feed.applied(seq)
}

// onL1Gap: records were missed, so cached entries may be stale. L1 is
// purged and goes on from the next record.
func (r *Reader) onL1Gap(g wal.Gap) {
	r.m.gaps.WithLabelValues(followerL1).Inc()
	r.log.Warn("commit feed gap, L1 purged", "after", g.After, "next", g.Next, "err", g.Err)
	r.l1.purge()
	r.l1.holdRedis(r.cfg.Now())
	if g.Err != nil { // the record at Next was consumed without being applied
		raise(&r.l1.applied, g.Next)
		r.l1feed.applied(g.Next)
	}
}

// lagLoop compares the followers with the feed every LagCheckInterval.
func (r *Reader) lagLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.LagCheckInterval)
	defer t.Stop()
	var prev uint64
	have := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, r.cfg.LagCheckInterval)
		_, last, err := r.feedBounds(cctx)
		cancel()
		if err != nil {
			continue
		}
		if have {
			r.l1feed.check(prev)
			r.filter.raiseTarget(prev)
		}
		prev, have = last, true
	}
}

// feedBounds returns the commit feed's first and last sequence.
func (r *Reader) feedBounds(ctx context.Context) (first, last uint64, err error) {
	st, err := r.js.Stream(ctx, r.names.CommitsStream())
	if err != nil {
		return 0, 0, fmt.Errorf("readpath: commit feed: %w", err)
	}
	s := st.CachedInfo().State
	return s.FirstSeq, s.LastSeq, nil
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
