package merkle

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// side is one tree of a diff with its read counters.
type side struct {
	r     Reader
	name  string
	stats ReadStats
}

func (s *side) root(ctx context.Context) (Hash, error) {
	s.stats.Roots++
	h, err := s.r.Root(ctx)
	if err != nil {
		return Zero, fmt.Errorf("merkle: diff: reading root of %s: %w", s.name, err)
	}
	return h, nil
}

func (s *side) leaf(ctx context.Context, id string) (Hash, error) {
	s.stats.Leaves++
	h, ok, err := s.r.Leaf(ctx, id)
	if err != nil {
		return Zero, fmt.Errorf("merkle: diff: reading leaf %q of %s: %w", id, s.name, err)
	}
	if !ok {
		return Zero, nil
	}
	return h, nil
}

func byKey(x, y Entry) int { return cmp.Compare(x.Key, y.Key) }

func (s *side) children(ctx context.Context, key string) ([]Entry, error) {
	s.stats.Children++
	es, err := s.r.Children(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("merkle: diff: reading children of %q of %s: %w", key, s.name, err)
	}
	s.stats.Entries += len(es)
	if !slices.IsSortedFunc(es, byKey) {
		// The contract asks for sorted children; tolerating a store that
		// breaks it costs this linear check.
		es = slices.Clone(es)
		slices.SortFunc(es, byKey)
	}
	return es, nil
}

// walk is the state of one Diff: a depth-first descent over the nodes whose
// hashes differ, in key order.
type walk struct {
	ctx       context.Context
	sides     [2]side
	limit     int
	found     []Difference
	truncated bool
}

// start compares the start node: the root by its hash, a prefix by its leaf
// and children.
func (w *walk) start(prefix string) error {
	if prefix == "" {
		ha, err := w.sides[0].root(w.ctx)
		if err != nil {
			return err
		}
		hb, err := w.sides[1].root(w.ctx)
		if err != nil {
			return err
		}
		return w.node("", [2]Hash{ha, hb})
	}
	var leaves [2]Hash
	var kids [2][]Entry
	for i := range w.sides {
		var err error
		if leaves[i], err = w.sides[i].leaf(w.ctx, prefix); err != nil {
			return err
		}
		if kids[i], err = w.sides[i].children(w.ctx, prefix); err != nil {
			return err
		}
	}
	if leaves[0] != leaves[1] {
		if err := w.report(prefix, leaves); err != nil {
			return err
		}
	}
	return w.join(kids)
}

// node visits key, whose subtree hashes on the two sides are h (Zero where
// the node does not exist).
func (w *walk) node(key string, h [2]Hash) error {
	if h[0] == h[1] {
		return nil
	}
	if w.full() {
		w.truncated = true
		return errStop
	}
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("merkle: diff: %w", err)
	}
	sums := h // hash of the children's sum on each side
	if key != "" && !IsBucket(key) {
		var leaves [2]Hash
		for i := range w.sides {
			if h[i].IsZero() {
				continue
			}
			l, err := w.sides[i].leaf(w.ctx, key)
			if err != nil {
				return err
			}
			leaves[i] = l
			sums[i] = h[i].Sub(l)
		}
		if leaves[0] != leaves[1] {
			if err := w.report(key, leaves); err != nil {
				return err
			}
		}
		if sums[0] == sums[1] {
			return nil
		}
	}
	var kids [2][]Entry
	for i := range w.sides {
		if sums[i].IsZero() {
			continue
		}
		var err error
		if kids[i], err = w.sides[i].children(w.ctx, key); err != nil {
			return err
		}
	}
	return w.join(kids)
}

// join merges two sorted child lists by key and visits every child whose
// hash differs or that exists on one side only.
func (w *walk) join(kids [2][]Entry) error {
	a, b := kids[0], kids[1]
	for len(a) > 0 || len(b) > 0 {
		var key string
		var h [2]Hash
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0].Key < b[0].Key):
			key, h[0] = a[0].Key, a[0].Hash
			a = a[1:]
		case len(a) == 0 || b[0].Key < a[0].Key:
			key, h[1] = b[0].Key, b[0].Hash
			b = b[1:]
		default:
			key, h = a[0].Key, [2]Hash{a[0].Hash, b[0].Hash}
			a, b = a[1:], b[1:]
		}
		if err := w.node(key, h); err != nil {
			return err
		}
	}
	return nil
}

func (w *walk) full() bool { return w.limit > 0 && len(w.found) >= w.limit }

// report records a differing id, or stops the walk when the limit is full.
func (w *walk) report(id string, leaves [2]Hash) error {
	if w.full() {
		w.truncated = true
		return errStop
	}
	w.found = append(w.found, Difference{ID: id, A: leaves[0], B: leaves[1]})
	return nil
}
