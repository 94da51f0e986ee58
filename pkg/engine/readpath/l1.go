package readpath

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
)

// entry is one cached live item. It is never modified once in the cache
// (a newer value replaces it), so readers may keep it after unlocking.
type entry struct {
	version     uint64
	leaf        merkle.Hash
	payload     []byte
	contentType string
	state       string
	// covers: the entry reflects every WAL write up to this sequence (the
	// writers' ack floor was at least this when it was read from SQL).
	covers uint64
	size   int64
}

// mark is the newest committed state of an id that the L1 feed follower
// has seen: the id's watermark.
type mark struct {
	version uint64
	leaf    merkle.Hash // zero when deleted or tie
	deleted bool
	// tie: two different puts were committed at version; which one won is
	// unknown here (the feed carries leaves, not payload sums), so only a
	// higher version is known to be at least as new.
	tie bool
	// feedSeq and at are when the last record touching the id was
	// applied: its feed sequence and the local time.
	feedSeq uint64
	at      time.Time
}

// coveredBy reports whether an item (version, leaf) is at least as new as
// the committed state m (last-writer-wins, DESIGN.md §1).
func (m mark) coveredBy(version uint64, leaf merkle.Hash) bool {
	switch {
	case version != m.version:
		return version > m.version
	default:
		return !m.deleted && !m.tie && leaf == m.leaf
	}
}

// merge returns what the id became given both committed states m and c:
// the newer one under last-writer-wins. Records of one id can arrive out
// of commit order (several writers), so an older c changes nothing but
// the position.
func (m mark) merge(c mark) mark {
	switch {
	case c.version > m.version:
		return c
	case c.version == m.version:
		switch {
		case m.deleted || c.deleted: // a tombstone beats a put of equal version
			m.deleted, m.tie, m.leaf = true, false, merkle.Hash{}
		case m.tie || c.tie || m.leaf != c.leaf:
			m.tie, m.leaf = true, merkle.Hash{}
		}
	}
	m.feedSeq, m.at = max(m.feedSeq, c.feedSeq), c.at
	return m
}

// fillToken is taken before a lower tier is read; the result may enter L1
// only if nothing the token cannot rule out happened meanwhile.
type fillToken struct {
	gen     uint64
	enabled bool
	// feedSeq: every commit record up to it was applied before the read.
	feedSeq uint64
	// floor: the writers' ack floor was at least this before the read.
	floor uint64
}

// l1 is the bounded in-process cache with per-id watermarks, kept from
// the commit feed. Sharded by id; each shard has its own lock, byte and
// entry budgets and watermark LRU.
type l1 struct {
	shards  []*shard
	seed    maphash.Seed
	cacheOn bool
	maxItem int64
	grace   time.Duration

	// enabled: the feed follower runs and keeps up; otherwise lookups miss
	// and nothing is inserted. gen changes whenever entries may have
	// missed an invalidation (a gap, a lagging follower); fills that began
	// before are refused.
	enabled atomic.Bool
	gen     atomic.Uint64
	// applied is the last commit feed sequence applied.
	applied atomic.Uint64
	// redisAfter (unix ns): Redis copies are not taken in before it. Set
	// RedisGrace ahead whenever commits may have gone unseen (the follower
	// starts, resumes, or skipped records): a Redis copy older than such a
	// commit would otherwise stay in L1 with nothing left to invalidate it.
	redisAfter atomic.Int64

	bytes, entries atomic.Int64
}

type shard struct {
	mu     sync.Mutex
	items  *simplelru.LRU[string, *entry]
	bytes  int64
	budget int64
	marks  *simplelru.LRU[string, mark]
	// forgotSeq and forgotAt describe the newest watermark evicted: the
	// shard no longer knows the ids whose last commit came before them.
	forgotSeq uint64
	forgotAt  time.Time
	parent    *l1
}

func newL1(c Config) *l1 {
	l := &l1{seed: maphash.MakeSeed(), cacheOn: c.L1MaxBytes > 0, maxItem: c.L1MaxItemBytes, grace: c.RedisGrace}
	n := c.L1Shards
	for range n {
		s := &shard{parent: l}
		if l.cacheOn {
			s.budget = c.L1MaxBytes / int64(n)
			s.items, _ = simplelru.NewLRU(max(c.L1MaxEntries/n, 1), s.onEvictItem)
		}
		s.marks, _ = simplelru.NewLRU(max(c.Watermarks/n, 1), s.onEvictMark)
		l.shards = append(l.shards, s)
	}
	return l
}

func (s *shard) onEvictItem(_ string, e *entry) {
	s.bytes -= e.size
	s.parent.bytes.Add(-e.size)
	s.parent.entries.Add(-1)
}

func (s *shard) onEvictMark(_ string, m mark) {
	s.forgotSeq = max(s.forgotSeq, m.feedSeq)
	if m.at.After(s.forgotAt) {
		s.forgotAt = m.at
	}
}

func (l *l1) shard(id string) *shard {
	return l.shards[maphash.String(l.seed, id)%uint64(len(l.shards))]
}

// begin takes a fill token before a lower tier is read.
func (l *l1) begin(floor uint64) fillToken {
	return fillToken{gen: l.gen.Load(), enabled: l.enabled.Load(), feedSeq: l.applied.Load(), floor: floor}
}

// lookup returns the cached entry (nil if none, or L1 is off) and whether
// the id's watermark says it is live.
func (l *l1) lookup(id string) (e *entry, live bool) {
	s := l.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.marks.Peek(id); ok {
		live = !m.deleted
	}
	if l.cacheOn && l.enabled.Load() {
		e, _ = s.items.Get(id)
	}
	return e, live
}

// fresh reports whether a Redis copy (version, leaf) of id may be served:
// it is not older than the id's watermark, and, if the watermark was
// forgotten, no watermark of the shard was forgotten within the grace
// period (the id may have been committed then and Redis not caught up).
func (l *l1) fresh(id string, version uint64, leaf merkle.Hash, now time.Time) bool {
	s := l.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.marks.Peek(id); ok {
		return m.coveredBy(version, leaf)
	}
	return s.forgotAt.IsZero() || now.Sub(s.forgotAt) >= l.grace
}

// insert caches a live item read from a lower tier after tok was taken.
// It refuses one that may be older than a commit the feed delivered: the
// id's watermark is newer, or (fromSQL) a watermark was forgotten that
// the read may not include, or (from Redis) fresh says no. It reports
// whether the entry was cached.
func (l *l1) insert(tok fillToken, id string, it ingest.Item, leaf merkle.Hash, covers uint64, fromSQL bool, now time.Time) bool {
	if !l.cacheOn || !tok.enabled {
		return false
	}
	size := int64(len(id)+len(it.Payload)+len(it.State)) + EntryOverhead
	if size > l.maxItem {
		return false
	}
	e := &entry{version: it.Version, leaf: leaf, payload: it.Payload, contentType: internType(it.ContentType),
		state: it.State, covers: covers, size: size}
	s := l.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !l.enabled.Load() || l.gen.Load() != tok.gen {
		return false
	}
	if m, ok := s.marks.Peek(id); ok {
		if !m.coveredBy(e.version, e.leaf) {
			return false
		}
	} else if fromSQL {
		if s.forgotSeq > tok.feedSeq {
			return false
		}
	} else if !s.forgotAt.IsZero() && now.Sub(s.forgotAt) < l.grace {
		return false
	}
	if !fromSQL && now.UnixNano() < l.redisAfter.Load() {
		return false
	}
	if old, ok := s.items.Peek(id); ok {
		if old.version == e.version && old.leaf == e.leaf {
			if old.covers >= e.covers {
				return true
			}
		} else if old.version > e.version {
			return false
		}
		s.items.Remove(id)
	}
	s.items.Add(id, e)
	s.bytes += size
	l.bytes.Add(size)
	l.entries.Add(1)
	for s.bytes > s.budget {
		if _, _, ok := s.items.RemoveOldest(); !ok {
			break
		}
	}
	return true
}

// apply records one committed change seen on the feed at feedSeq and
// drops the cached entry if the change makes it stale. It reports whether
// an entry was dropped.
func (l *l1) apply(feedSeq uint64, at time.Time, id string, version uint64, leaf merkle.Hash, deleted bool) bool {
	c := mark{version: version, leaf: leaf, deleted: deleted, feedSeq: feedSeq, at: at}
	s := l.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.marks.Peek(id); ok {
		c = m.merge(c)
	}
	s.marks.Add(id, c)
	if !l.cacheOn {
		return false
	}
	if e, ok := s.items.Peek(id); ok && !c.coveredBy(e.version, e.leaf) {
		s.items.Remove(id)
		return true
	}
	return false
}

// superseded reports whether the id's watermark shows a committed state
// newer than (version, leaf).
func (l *l1) superseded(id string, version uint64, leaf merkle.Hash) bool {
	s := l.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks.Peek(id)
	return ok && !m.coveredBy(version, leaf)
}

// markDeleted reports the version at which the watermark says id was
// deleted, if it does.
func (l *l1) markDeleted(id string) (uint64, bool) {
	s := l.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.marks.Peek(id)
	if !ok || !m.deleted {
		return 0, false
	}
	return m.version, true
}

// holdRedis refuses Redis copies for RedisGrace from now.
func (l *l1) holdRedis(now time.Time) { l.redisAfter.Store(now.Add(l.grace).UnixNano()) }

// disable stops serving and filling L1 and drops every entry (they may
// have missed invalidations). Watermarks stay: they are lower bounds.
func (l *l1) disable() {
	l.enabled.Store(false)
	l.gen.Add(1)
	if !l.cacheOn {
		return
	}
	for _, s := range l.shards {
		s.mu.Lock()
		s.items.Purge()
		s.mu.Unlock()
	}
}

// purge drops every entry and refuses fills that began before, but keeps
// L1 enabled (after a feed gap: the follower goes on from the next record).
func (l *l1) purge() {
	l.gen.Add(1)
	if !l.cacheOn {
		return
	}
	for _, s := range l.shards {
		s.mu.Lock()
		s.items.Purge()
		s.mu.Unlock()
	}
}

func internType(ct string) string {
	switch ct {
	case item.ContentTypeJSON:
		return item.ContentTypeJSON
	case item.ContentTypeBinary:
		return item.ContentTypeBinary
	}
	return ct
}
