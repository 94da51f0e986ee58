package reconciler

import (
	"context"
	"fmt"
	"time"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
)

// deep reads every Redis item under prefix, recomputes its leaf from its
// version and payload, and compares it with the stored leaf (what the tree
// counts) and with SQL's leaf. The tree diff cannot see a value corrupted
// under an intact leaf; this can. With repair, mismatches that persist at
// a re-read are removed and rewritten from SQL. rate > 0 bounds the items
// read per second.
func (c *Checker) deep(ctx context.Context, prefix string, repair bool, rate int, r *Report) error {
	start := time.Now()
	_, err := c.cache.ScanItems(ctx, prefix, func(batch []rediscache.Entry) error {
		r.DeepChecked += len(batch)
		c.m.deepVerified.Add(float64(len(batch)))
		ids := make([]string, len(batch))
		for i, e := range batch {
			ids[i] = e.ID
		}
		items, err := c.sql.GetMany(ctx, ids)
		if err != nil {
			return fmt.Errorf("reconciler: deep: %w", err)
		}
		var suspects []string
		for _, e := range batch {
			if mismatch(e, items) {
				suspects = append(suspects, e.ID)
			}
		}
		if len(suspects) > 0 {
			bad, err := c.deepFix(ctx, suspects, repair, &r.Repaired)
			if err != nil {
				return err
			}
			r.DeepMismatches += len(bad)
			c.m.deepMismatches.Add(float64(len(bad)))
			c.note(r, bad)
		}
		if rate > 0 {
			// Pace to rate items per second since the start.
			due := start.Add(time.Duration(float64(r.DeepChecked) / float64(rate) * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				return sleep(ctx, wait)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.deepMissing(ctx, prefix, repair, r)
}

// deepMissing walks SQL's live items under prefix and looks for those
// Redis neither holds nor counts as expired (no item, no ghost): an item key
// deleted behind Syncline's back. The Redis tree still counts such an
// item's leaf, so the branch diff sees nothing; ScanItems cannot see it
// either. With repair, the leaf the tree still counts is subtracted from
// the id's path and the item is written again from SQL.
func (c *Checker) deepMissing(ctx context.Context, prefix string, repair bool, r *Report) error {
	const page = 512
	after := ""
	for {
		items, err := c.sql.List(ctx, store.Query{Prefix: prefix}, after, page)
		if err != nil {
			return fmt.Errorf("reconciler: deep scan sql: %w", err)
		}
		if len(items) == 0 {
			return nil
		}
		after = items[len(items)-1].ID
		ids := make([]string, 0, len(items))
		for _, it := range items {
			if it.Route != item.RouteDurable {
				ids = append(ids, it.ID)
			}
		}
		stamps, err := c.cache.Stamps(ctx, ids)
		if err != nil {
			return fmt.Errorf("reconciler: deep stamps: %w", err)
		}
		var missing []string
		for _, id := range ids {
			if _, ok := stamps[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			bad, err := c.restoreMissing(ctx, missing, repair, &r.Repaired)
			if err != nil {
				return err
			}
			r.DeepMismatches += len(bad)
			c.m.deepMismatches.Add(float64(len(bad)))
			c.note(r, bad)
		}
		if len(items) < page {
			return nil
		}
	}
}

// restoreMissing re-checks ids under mu and, with repair, removes the leaf
// the Redis tree still counts for each and writes the SQL item again.
func (c *Checker) restoreMissing(ctx context.Context, ids []string, repair bool, n *RepairCounts) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamps, err := c.cache.Stamps(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reconciler: deep re-read redis: %w", err)
	}
	items, err := c.sql.GetMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reconciler: deep re-read sql: %w", err)
	}
	var bad []string
	var puts []rediscache.Entry
	tree := c.cache.Tree()
	cfg := c.cache.Config().Tree
	for _, id := range ids {
		it, live := items[id]
		if _, ok := stamps[id]; ok || !live {
			n.Vanished++
			continue
		}
		bad = append(bad, id)
		if !repair {
			continue
		}
		counted, err := countedLeaf(ctx, tree, cfg, id)
		if err != nil {
			return nil, err
		}
		if !counted.IsZero() {
			var u merkle.Update
			for _, e := range cfg.Path(id) {
				u.Edges = append(u.Edges, merkle.EdgeDelta{Edge: e, Delta: merkle.Zero.Sub(counted)})
			}
			if err := tree.Apply(ctx, u); err != nil {
				return nil, fmt.Errorf("reconciler: deep repair: %w", err)
			}
		}
		puts = append(puts, entryOf(it))
	}
	if len(puts) > 0 {
		if _, err := c.cache.PutMany(ctx, puts); err != nil {
			return nil, fmt.Errorf("reconciler: deep repair: %w", err)
		}
		n.Forced += len(puts)
		c.m.repairs.WithLabelValues("forced").Add(float64(len(puts)))
	}
	return bad, nil
}

// countedLeaf is the leaf the tree counts for real node id: the hash on
// the edge into id minus the sum of id's own edges.
func countedLeaf(ctx context.Context, tree merkle.Reader, cfg merkle.Config, id string) (merkle.Hash, error) {
	path := cfg.Path(id)
	last := path[len(path)-1]
	siblings, err := tree.Children(ctx, last.Parent)
	if err != nil {
		return merkle.Hash{}, fmt.Errorf("reconciler: deep read tree: %w", err)
	}
	var edge merkle.Hash
	for _, e := range siblings {
		if e.Key == id {
			edge = e.Hash
			break
		}
	}
	kids, err := tree.Children(ctx, id)
	if err != nil {
		return merkle.Hash{}, fmt.Errorf("reconciler: deep read tree: %w", err)
	}
	return edge.Sub(merkle.Sum(kids)), nil
}

// mismatch reports whether Redis item e disagrees with its own leaf or
// with SQL.
func mismatch(e rediscache.Entry, sql map[string]store.Item) bool {
	if e.CacheOnly {
		return false // route cache: outside the tree and SQL by design
	}
	got := merkle.LeafOf(e.ID, e.Version, e.Payload)
	return got != e.Leaf || got != sql[e.ID].Leaf
}

// deepFix re-reads suspects on both sides under mu and returns those that
// still mismatch; with repair it rewrites them from SQL (or removes them).
func (c *Checker) deepFix(ctx context.Context, ids []string, repair bool, n *RepairCounts) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	items, err := c.sql.GetMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reconciler: deep re-read sql: %w", err)
	}
	es, err := c.cache.GetMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reconciler: deep re-read redis: %w", err)
	}
	var bad []string
	var tombs []rediscache.Tombstone
	var puts []rediscache.Entry
	for _, e := range es {
		if e.ID == "" || !mismatch(e, items) {
			n.Vanished++
			continue
		}
		bad = append(bad, e.ID)
		it, live := items[e.ID]
		tombs = append(tombs, rediscache.Tombstone{ID: e.ID, Version: max(e.Version, it.Version, 1)})
		if live {
			puts = append(puts, entryOf(it))
		}
	}
	if !repair || len(bad) == 0 {
		return bad, nil
	}
	// The delete subtracts the stored leaf (what the tree counts), so the
	// tree stays consistent whatever the value was.
	if _, err := c.cache.DeleteMany(ctx, tombs); err != nil {
		return nil, fmt.Errorf("reconciler: deep repair: %w", err)
	}
	applied, err := c.cache.PutMany(ctx, puts)
	if err != nil {
		return nil, fmt.Errorf("reconciler: deep repair: %w", err)
	}
	n.Forced += len(tombs)
	c.m.repairs.WithLabelValues("forced").Add(float64(len(tombs)))
	_ = applied
	return bad, nil
}
