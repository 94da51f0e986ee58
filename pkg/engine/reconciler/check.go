package reconciler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
)

// Checker compares Redis with SQL branch by branch and repairs Redis. The
// running reconciler uses one, and serves it on <P>.admin.verify and
// <P>.admin.repair. A CLI may build its own with NewChecker: Verify only
// reads; Repair writes through the same guarded scripts, but outside the
// leader's ordering (see doc.go), so a delete racing it can be undone until
// the leader's next pass; prefer the admin subject while a leader runs.
type Checker struct {
	sql   SQL
	cache *rediscache.Cache
	cfg   Config
	m     *metrics
	// mu serialises each "read SQL, then write Redis" step (the fast path's
	// and the repair's), so that the reconciler's own Redis writes land in
	// the order of its SQL reads. Tombstones are not in Redis, so the
	// version guard alone could not stop a repair computed from an older
	// SQL read from resurrecting an item the fast path just deleted.
	mu *sync.Mutex
}

// NewChecker returns a standalone Checker (its metrics go nowhere).
func NewChecker(sql SQL, cache *rediscache.Cache, cfg Config) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newChecker(sql, cache, cfg.WithDefaults(), newMetrics(prometheus.NewRegistry()), &sync.Mutex{}), nil
}

func newChecker(sql SQL, cache *rediscache.Cache, cfg Config, m *metrics, mu *sync.Mutex) *Checker {
	return &Checker{sql: sql, cache: cache, cfg: cfg, m: m, mu: mu}
}

// Report is the outcome of Verify or Repair.
type Report struct {
	// Prefix is the id prefix checked ("" = everything).
	Prefix string `json:"prefix"`
	// Deep reports that Redis values were recomputed too.
	Deep bool `json:"deep"`
	// SQLRoot and RedisRoot are the whole trees' roots at the end.
	SQLRoot   merkle.Hash `json:"-"`
	RedisRoot merkle.Hash `json:"-"`
	// InSync: Verify found no difference; Repair left none.
	InSync bool `json:"in_sync"`
	// Differences lists the first differing ids (Verify) or repaired ids
	// (Repair), at most Config.MaxReportedDifferences.
	Differences []string `json:"differences"`
	// DifferenceCount counts every differing id found.
	DifferenceCount int `json:"difference_count"`
	// Truncated: Verify stopped at Config.RepairLimit differences.
	Truncated bool `json:"truncated"`
	// Repaired counts Repair's writes.
	Repaired RepairCounts `json:"repaired"`
	// NodeReads counts merkle node reads of the branch diffs, per side;
	// EntriesRead the child entries those reads returned.
	NodeReads   NodeReads `json:"node_reads"`
	EntriesRead NodeReads `json:"entries_read"`
	// Passes is the number of diff passes.
	Passes int `json:"passes"`
	// DeepChecked and DeepMismatches count the items a deep check read and
	// those whose value disagreed with their leaf or with SQL.
	DeepChecked    int `json:"deep_checked"`
	DeepMismatches int `json:"deep_mismatches"`
	// BulkCopied counts items copied by a full copy into an empty Redis.
	BulkCopied int           `json:"bulk_copied"`
	Duration   time.Duration `json:"duration_ns"`
}

// RepairCounts counts repair outcomes.
type RepairCounts struct {
	// Put: items written to Redis; Deleted: items removed from Redis.
	Put     int `json:"put"`
	Deleted int `json:"deleted"`
	// Forced: items Redis held at a version SQL does not (newer, or a
	// losing tie), removed and rewritten from SQL.
	Forced int `json:"forced"`
	// Vanished: differences gone at the re-read (in flight), left alone.
	Vanished int `json:"vanished"`
}

// NodeReads counts merkle node reads (Root, Children, Leaf calls).
type NodeReads struct {
	SQL   int `json:"sql"`
	Redis int `json:"redis"`
}

func (c *Checker) note(r *Report, ids []string) {
	r.DifferenceCount += len(ids)
	for _, id := range ids {
		if len(r.Differences) >= c.cfg.MaxReportedDifferences {
			return
		}
		r.Differences = append(r.Differences, id)
	}
}

func (c *Checker) roots(ctx context.Context, r *Report) error {
	var err error
	if r.SQLRoot, err = c.sql.Root(ctx); err != nil {
		return fmt.Errorf("reconciler: sql root: %w", err)
	}
	if r.RedisRoot, err = c.cache.Tree().Root(ctx); err != nil {
		return fmt.Errorf("reconciler: redis root: %w", err)
	}
	return nil
}

// diff runs one branch diff of prefix, limited to RepairLimit differences.
func (c *Checker) diff(ctx context.Context, prefix string, r *Report) (merkle.DiffResult, error) {
	res, err := merkle.Diff(ctx, c.sql.Tree(), c.cache.Tree(),
		merkle.WithPrefix(prefix), merkle.WithLimit(c.cfg.RepairLimit))
	r.Passes++
	r.NodeReads.SQL += res.A.NodeReads()
	r.NodeReads.Redis += res.B.NodeReads()
	r.EntriesRead.SQL += res.A.Entries
	r.EntriesRead.Redis += res.B.Entries
	c.m.nodeReads.WithLabelValues("sql").Add(float64(res.A.NodeReads()))
	c.m.nodeReads.WithLabelValues("redis").Add(float64(res.B.NodeReads()))
	if err != nil {
		return res, fmt.Errorf("reconciler: diff: %w", err)
	}
	return res, nil
}

// Verify compares SQL and Redis under prefix without writing. Differences
// are re-read once and those that vanish (in flight) are not reported.
// With deep, every Redis item under prefix is also read and its leaf
// recomputed from its value.
func (c *Checker) Verify(ctx context.Context, prefix string, deep bool) (Report, error) {
	start := time.Now()
	r := Report{Prefix: prefix, Deep: deep}
	if err := item.ValidatePrefix(prefix); err != nil {
		return r, fmt.Errorf("reconciler: verify: %w", err)
	}
	res, err := c.diff(ctx, prefix, &r)
	if err != nil {
		return r, err
	}
	r.Truncated = res.Truncated
	persist, _, err := c.persisting(ctx, res.IDs())
	if err != nil {
		return r, err
	}
	c.note(&r, persist)
	if deep {
		if err := c.deep(ctx, prefix, false, 0, &r); err != nil {
			return r, err
		}
	}
	if err := c.roots(ctx, &r); err != nil {
		return r, err
	}
	r.InSync = r.DifferenceCount == 0 && r.DeepMismatches == 0 && !r.Truncated
	r.Duration = time.Since(start)
	return r, nil
}

// Repair brings Redis under prefix to SQL: branch-diff passes of at most
// RepairLimit differences until none is left, each difference re-read
// right before it is repaired. An empty Redis (root zero) is filled by a
// batched copy of SQL instead of a diff. With deep, Redis items whose
// values disagree with their leaf or SQL are rewritten too.
func (c *Checker) Repair(ctx context.Context, prefix string, deep bool) (Report, error) {
	start := time.Now()
	r := Report{Prefix: prefix, Deep: deep}
	if err := item.ValidatePrefix(prefix); err != nil {
		return r, fmt.Errorf("reconciler: repair: %w", err)
	}
	clean, err := c.repair(ctx, prefix, 0, &r)
	if err != nil {
		return r, err
	}
	if deep {
		if err := c.deep(ctx, prefix, true, 0, &r); err != nil {
			return r, err
		}
	}
	if err := c.roots(ctx, &r); err != nil {
		return r, err
	}
	r.InSync = clean && (prefix != "" || r.SQLRoot == r.RedisRoot)
	r.Duration = time.Since(start)
	return r, nil
}

// maxPasses stops a repair that makes no headway (every difference
// vanishing at its re-read because the fast path keeps changing them).
const maxPasses = 64

// repair runs diff passes until one finds no difference (clean) or one
// finds only differences in flight, or maxPasses.
func (c *Checker) repair(ctx context.Context, prefix string, settle time.Duration, r *Report) (clean bool, err error) {
	if prefix == "" {
		if err := c.roots(ctx, r); err != nil {
			return false, err
		}
		if r.RedisRoot.IsZero() && !r.SQLRoot.IsZero() {
			if err := c.copyAll(ctx, r); err != nil {
				return false, err
			}
		}
	}
	for range maxPasses {
		res, err := c.diff(ctx, prefix, r)
		if err != nil {
			return false, err
		}
		ids := res.IDs()
		if len(ids) == 0 {
			return true, nil
		}
		if settle > 0 {
			if err := sleep(ctx, settle); err != nil {
				return false, err
			}
		}
		fixed, err := c.fix(ctx, ids, &r.Repaired)
		if err != nil {
			return false, err
		}
		c.note(r, fixed)
		if !res.Truncated && len(fixed) == 0 {
			return false, nil
		}
	}
	return false, nil
}

// persisting re-reads ids on both sides and returns those that still
// differ, with the SQL items among them.
func (c *Checker) persisting(ctx context.Context, ids []string) ([]string, map[string]store.Item, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	items, err := c.sql.GetMany(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("reconciler: re-read sql: %w", err)
	}
	stamps, err := c.cache.Stamps(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("reconciler: re-read redis: %w", err)
	}
	var out []string
	for _, id := range ids {
		var want, have merkle.Hash
		if it, ok := items[id]; ok {
			want = it.Leaf
		}
		if st, ok := stamps[id]; ok {
			have = st.Leaf
		}
		if want != have {
			out = append(out, id)
		}
	}
	return out, items, nil
}

// fix re-reads ids on both sides and repairs those that still differ,
// holding mu across the read and the write. It returns the ids repaired.
func (c *Checker) fix(ctx context.Context, ids []string, n *RepairCounts) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	items, err := c.sql.GetMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reconciler: re-read sql: %w", err)
	}
	stamps, err := c.cache.Stamps(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reconciler: re-read redis: %w", err)
	}
	var puts []rediscache.Entry
	var dels []rediscache.Tombstone
	var fixed []string
	for _, id := range ids {
		it, live := items[id]
		st, cached := stamps[id]
		if it.Leaf == st.Leaf && live == cached {
			n.Vanished++
			c.m.repairs.WithLabelValues("vanished").Inc()
			continue
		}
		fixed = append(fixed, id)
		if live {
			puts = append(puts, entryOf(it))
		} else {
			dels = append(dels, rediscache.Tombstone{ID: id, Version: max(st.Version, 1)})
		}
	}
	removed, err := c.cache.DeleteMany(ctx, dels)
	if err != nil {
		return nil, fmt.Errorf("reconciler: repair: %w", err)
	}
	n.Deleted += count(removed)
	c.m.repairs.WithLabelValues("delete").Add(float64(count(removed)))
	applied, err := c.cache.PutMany(ctx, puts)
	if err != nil {
		return nil, fmt.Errorf("reconciler: repair: %w", err)
	}
	n.Put += count(applied)
	c.m.repairs.WithLabelValues("put").Add(float64(count(applied)))
	// A put that lost holds a version SQL does not have (newer, or a
	// losing tie): SQL is the truth, so remove it and write SQL's.
	var forced []rediscache.Entry
	var tombs []rediscache.Tombstone
	for i, ok := range applied {
		if !ok {
			forced = append(forced, puts[i])
			tombs = append(tombs, rediscache.Tombstone{ID: puts[i].ID, Version: max(stamps[puts[i].ID].Version, puts[i].Version)})
		}
	}
	if len(forced) == 0 {
		return fixed, nil
	}
	if _, err := c.cache.DeleteMany(ctx, tombs); err != nil {
		return nil, fmt.Errorf("reconciler: forced repair: %w", err)
	}
	applied, err = c.cache.PutMany(ctx, forced)
	if err != nil {
		return nil, fmt.Errorf("reconciler: forced repair: %w", err)
	}
	n.Forced += count(applied)
	c.m.repairs.WithLabelValues("forced").Add(float64(count(applied)))
	return fixed, nil
}

// copyAll fills an empty Redis from a batched SQL scan.
func (c *Checker) copyAll(ctx context.Context, r *Report) error {
	after := ""
	for {
		n, last, err := c.copyBatch(ctx, after)
		if err != nil {
			return err
		}
		r.BulkCopied += n
		if last == "" {
			return nil
		}
		after = last
	}
}

// copyBatch copies one page of SQL after id after; last is "" at the end.
func (c *Checker) copyBatch(ctx context.Context, after string) (n int, last string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows, err := c.sql.Scan(ctx, after, c.cfg.ScanBatch)
	if err != nil {
		return 0, "", fmt.Errorf("reconciler: copy: %w", err)
	}
	puts := make([]rediscache.Entry, 0, len(rows))
	for _, it := range rows {
		if !it.Deleted {
			puts = append(puts, entryOf(it))
		}
	}
	applied, err := c.cache.PutMany(ctx, puts)
	if err != nil {
		return 0, "", fmt.Errorf("reconciler: copy: %w", err)
	}
	n = count(applied)
	c.m.repairs.WithLabelValues("put").Add(float64(n))
	if len(rows) < c.cfg.ScanBatch {
		return n, "", nil
	}
	return n, rows[len(rows)-1].ID, nil
}

func entryOf(it store.Item) rediscache.Entry {
	return rediscache.Entry{ID: it.ID, Version: it.Version, Payload: it.Payload,
		ContentType: it.ContentType, State: it.State, TTL: it.CacheTTL, Durable: it.Route == item.RouteDurable}
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
