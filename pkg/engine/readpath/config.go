package readpath

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a Reader. Zero fields take the defaults documented here.
type Config struct {
	// L1MaxBytes bounds the in-process cache: payload, id, content type
	// and state of every entry plus EntryOverhead bytes each. Default
	// 64 MiB; negative disables L1 (reads go to Redis and SQL).
	L1MaxBytes int64
	// L1MaxEntries bounds the number of L1 entries as well. Default 1<<20.
	L1MaxEntries int
	// L1MaxItemBytes: larger items are not cached in L1. Default an
	// eighth of a shard's budget (L1MaxBytes/L1Shards/8), so that one
	// item never empties a shard.
	L1MaxItemBytes int64
	// L1Shards is the number of independently locked L1 shards, each with
	// an equal part of the budgets. Default 16.
	L1Shards int
	// Watermarks bounds how many ids' last committed versions (seen on the
	// commit feed) are remembered, in commit order. Default 262144
	// (about 150 bytes plus the id each).
	Watermarks int
	// RedisGrace is how long after this process saw a commit Redis is
	// assumed to possibly still hold an older version of that id, once the
	// id's watermark has been forgotten (evicted). See doc.go. Default 10s.
	RedisGrace time.Duration
	// RedisTimeout bounds one Redis read; a slower Redis counts as down.
	// Default 250ms.
	RedisTimeout time.Duration
	// RedisBackoffMin and RedisBackoffMax bound how long reads skip Redis
	// after it failed (doubling while it keeps failing). Defaults 1s, 30s.
	RedisBackoffMin, RedisBackoffMax time.Duration
	// FillQueue bounds the Redis fills waiting for a worker; a fill that
	// finds it full is dropped (the reconciler fills Redis anyway).
	// Default 1024.
	FillQueue int
	// FillWorkers is the number of goroutines writing fills. Default 2.
	FillWorkers int
	// FillBatch is the most fills written in one PutMany. Default 128.
	FillBatch int
	// FillTimeout bounds one fill round trip. Default 2s.
	FillTimeout time.Duration
	// RecentFills is how many filled ids are remembered so that a delete
	// seen on the feed after a fill landed removes the filled copy.
	// Default 65536.
	RecentFills int
	// RetryMin and RetryMax bound the backoff of the background loops:
	// starting the L1 feed follower, and loading a filter snapshot while
	// none is trusted. Defaults 1s, 30s.
	RetryMin, RetryMax time.Duration
	// FilterPoll is how often the snapshot's metadata is polled besides
	// the object store watch. Default 30s.
	FilterPoll time.Duration
	// FilterReloadStale: a trusted filter is replaced by a newer snapshot
	// once the deletes it could not apply exceed this fraction of its
	// entries. Default 0.2.
	FilterReloadStale float64
	// FilterReplayTimeout bounds how long a newly loaded snapshot may take
	// to catch up with the commit feed before it is dropped. Default 5m.
	FilterReplayTimeout time.Duration
	// MaxSnapshotBytes: a larger snapshot object is not loaded. Default
	// 1 GiB.
	MaxSnapshotBytes int64
	// SnapshotReadTimeout bounds reading a snapshot object, plus one
	// second per 16 MiB of it. Default 10s. (A read cannot be interrupted:
	// Stop may wait for it, which matters only when the object is replaced
	// while being read and its chunks vanish.)
	SnapshotReadTimeout time.Duration
	// LagCheckInterval is how often the feed followers are compared with
	// the commit feed's last sequence; a follower that has not reached
	// what the previous check saw is lagging, and its tier is bypassed
	// until it catches up. Default 5s.
	LagCheckInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// EntryOverhead is what an L1 entry costs besides its bytes: the LRU list
// element and map slot, the entry struct and the string headers.
const EntryOverhead = 192

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.L1MaxBytes == 0 {
		c.L1MaxBytes = 64 << 20
	}
	if c.L1MaxEntries == 0 {
		c.L1MaxEntries = 1 << 20
	}
	if c.L1Shards == 0 {
		c.L1Shards = 16
	}
	if c.L1MaxItemBytes == 0 && c.L1MaxBytes > 0 {
		c.L1MaxItemBytes = max(c.L1MaxBytes/int64(c.L1Shards)/8, 1)
	}
	if c.Watermarks == 0 {
		c.Watermarks = 1 << 18
	}
	def(&c.RedisGrace, 10*time.Second)
	def(&c.RedisTimeout, 250*time.Millisecond)
	def(&c.RedisBackoffMin, time.Second)
	def(&c.RedisBackoffMax, 30*time.Second)
	if c.FillQueue == 0 {
		c.FillQueue = 1024
	}
	if c.FillWorkers == 0 {
		c.FillWorkers = 2
	}
	if c.FillBatch == 0 {
		c.FillBatch = 128
	}
	def(&c.FillTimeout, 2*time.Second)
	if c.RecentFills == 0 {
		c.RecentFills = 1 << 16
	}
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 30*time.Second)
	def(&c.FilterPoll, 30*time.Second)
	if c.FilterReloadStale == 0 {
		c.FilterReloadStale = 0.2
	}
	def(&c.FilterReplayTimeout, 5*time.Minute)
	if c.MaxSnapshotBytes == 0 {
		c.MaxSnapshotBytes = 1 << 30
	}
	def(&c.SnapshotReadTimeout, 10*time.Second)
	def(&c.LagCheckInterval, 5*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks c after applying defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.L1MaxEntries < 0 || c.L1Shards < 1 || c.L1Shards > 1024 {
		errs = append(errs, fmt.Errorf("readpath: L1MaxEntries %d must be positive and L1Shards %d in 1..1024", c.L1MaxEntries, c.L1Shards))
	}
	if c.L1MaxBytes > 0 && (c.L1MaxItemBytes < 1 || c.L1MaxItemBytes > c.L1MaxBytes/int64(c.L1Shards)) {
		errs = append(errs, fmt.Errorf("readpath: L1MaxItemBytes %d must be in 1..L1MaxBytes/L1Shards", c.L1MaxItemBytes))
	}
	if c.L1MaxBytes > 0 && c.L1MaxEntries < c.L1Shards {
		errs = append(errs, errors.New("readpath: L1MaxEntries must be at least L1Shards"))
	}
	if c.Watermarks < c.L1Shards {
		errs = append(errs, errors.New("readpath: Watermarks must be at least L1Shards"))
	}
	for _, n := range []int{c.FillQueue, c.FillWorkers, c.FillBatch, c.RecentFills} {
		if n < 1 {
			errs = append(errs, errors.New("readpath: FillQueue, FillWorkers, FillBatch and RecentFills must be positive"))
			break
		}
	}
	for _, d := range []time.Duration{c.RedisGrace, c.RedisTimeout, c.RedisBackoffMin, c.RedisBackoffMax, c.FillTimeout,
		c.RetryMin, c.RetryMax, c.FilterPoll, c.FilterReplayTimeout, c.SnapshotReadTimeout, c.LagCheckInterval} {
		if d <= 0 {
			errs = append(errs, errors.New("readpath: durations must be positive"))
			break
		}
	}
	if c.RedisBackoffMin > c.RedisBackoffMax || c.RetryMin > c.RetryMax {
		errs = append(errs, errors.New("readpath: backoff minimums must not exceed their maximums"))
	}
	if c.FilterReloadStale < 0 {
		errs = append(errs, errors.New("readpath: FilterReloadStale must not be negative"))
	}
	if c.MaxSnapshotBytes < 1 {
		errs = append(errs, errors.New("readpath: MaxSnapshotBytes must be positive"))
	}
	return errors.Join(errs...)
}
