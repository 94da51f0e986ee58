package merkle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/syncline/syncline/pkg/item"
)

// Difference is one id whose leaf differs between the two trees of a Diff,
// or that is live on one side only.
type Difference struct {
	ID string
	// A and B are the id's leaves in a and b; Zero where it has none
	// (absent or tombstoned).
	A, B Hash
}

// ReadStats counts the reads a Diff made on one side.
type ReadStats struct {
	Roots    int // Root calls
	Children int // Children calls
	Leaves   int // Leaf calls
	Entries  int // entries returned by all Children calls
}

// NodeReads is the number of calls made on the store: Roots + Children +
// Leaves.
func (s ReadStats) NodeReads() int { return s.Roots + s.Children + s.Leaves }

// DiffResult is the outcome of a Diff.
type DiffResult struct {
	// Differences are sorted by ID.
	Differences []Difference
	// Truncated reports that the diff stopped at its limit with differing
	// branches left unread. With consistent stores (see Diff), it is true
	// exactly when more differences exist than were reported.
	Truncated bool
	// A and B count the reads made on each side.
	A, B ReadStats
}

// IDs returns the differing ids, sorted.
func (r DiffResult) IDs() []string {
	ids := make([]string, len(r.Differences))
	for i, d := range r.Differences {
		ids[i] = d.ID
	}
	return ids
}

// DiffOption tunes a Diff.
type DiffOption func(*diffOptions)

type diffOptions struct {
	limit  int
	prefix string
}

// WithLimit stops the diff once n differences are found; a further
// difference sets DiffResult.Truncated. n = 0 means no limit.
func WithLimit(n int) DiffOption { return func(o *diffOptions) { o.limit = n } }

// WithPrefix diffs only the subtree of real node prefix: the id prefix itself
// and every id below it ("a.b" covers "a.b" and "a.b.c", not "a.bc"). The
// empty prefix is the whole tree.
func WithPrefix(prefix string) DiffOption { return func(o *diffOptions) { o.prefix = prefix } }

// errStop unwinds the walk once the limit is exceeded.
var errStop = errors.New("merkle: diff limit reached")

// Diff compares trees a and b, built with the same Config, branch by branch
// and returns the ids whose leaves differ or exist on one side only.
//
// From the root (or the WithPrefix node), it compares node hashes and
// descends only into edges whose hashes differ or exist on one side only:
// it lists the node's children on each side and merge-joins them by key. At a
// real node it reads the leaf on each side where the node exists, reports the
// id when the leaves differ, and lists the children only when the children's
// sum (node hash - leaf) differs too. A subtree that exists on one side only
// is read on that side only, and every leaf in it is reported. From a prefix
// P, whose hash is not stored on its own, Diff reads Leaf(P) and Children(P)
// on both sides first.
//
// Diff assumes each store is consistent (every edge holds its child's leaf
// plus the sum of the child's edges) and trusts their hashes: it cannot see
// a difference that the hashes do not show, nor explain one that comes from
// an inconsistent store.
//
// # Cost
//
// Only nodes whose hashes differ are read, and each lies on the path of a
// differing id. Let D be the differing ids, d_i the segments of id i, p the
// segments of the prefix (0 for the root), L = Config.Levels, F =
// Config.Fanout, W the most children any listed node of the last bucket
// level has (of a real node when L = 0; about c/F^L for a node with c
// children, hash buckets being nearly even), and
//
//	n = 1 + Σ_{i∈D} (d_i - p)
//
// Then on each side
//
//	NodeReads   <= (L+2) · n
//	EntriesRead <= (L·F + W) · n
//
// so for k differing ids of at most d segments from the root, both sides
// together make at most 2·(L+2)·(1 + k·d) calls and read at most
// 2·(L·F + W)·(1 + k·d) entries, whatever the number of items. Per segment of
// a path that is one Leaf read and L+1 listings: the real node's F buckets
// and L-1 bucket levels of at most F entries, then the last bucket level of
// at most W (at L = 0, the real node's own W children). It is L+2 calls, not
// L+1, because the leaf of a real node is not an edge: it is read apart from
// the node's children. Reads of shared path prefixes happen once, so real
// diffs stay well below the bound. With WithLimit, count one more id in D: the walk may list the
// children of the last reported id before it meets the difference that
// stops it.
func Diff(ctx context.Context, a, b Reader, opts ...DiffOption) (DiffResult, error) {
	var o diffOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.limit < 0 {
		return DiffResult{}, fmt.Errorf("merkle: diff limit %d is negative", o.limit)
	}
	if err := item.ValidatePrefix(o.prefix); err != nil {
		return DiffResult{}, fmt.Errorf("merkle: diff prefix: %w", err)
	}
	w := &walk{ctx: ctx, limit: o.limit}
	w.sides[0] = side{r: a, name: "a"}
	w.sides[1] = side{r: b, name: "b"}
	err := w.start(o.prefix)
	if errors.Is(err, errStop) {
		err = nil
	}
	res := DiffResult{Truncated: w.truncated, A: w.sides[0].stats, B: w.sides[1].stats}
	if err != nil {
		return res, err
	}
	slices.SortFunc(w.found, func(x, y Difference) int { return cmp.Compare(x.ID, y.ID) })
	res.Differences = w.found
	return res, nil
}

// NodeHash returns the subtree hash of any key of r's tree: Root for "",
// the sum of the children for a bucket, and leaf + the sum of the children
// for a real node. It is the hash stored on the edge into key; a reconciler
// uses it to re-read a branch before repairing it.
func NodeHash(ctx context.Context, r Reader, key string) (Hash, error) {
	if key == "" {
		h, err := r.Root(ctx)
		if err != nil {
			return Zero, fmt.Errorf("merkle: reading root: %w", err)
		}
		return h, nil
	}
	var h Hash
	if !IsBucket(key) {
		l, ok, err := r.Leaf(ctx, key)
		if err != nil {
			return Zero, fmt.Errorf("merkle: reading leaf %q: %w", key, err)
		}
		if ok {
			h = l
		}
	}
	kids, err := r.Children(ctx, key)
	if err != nil {
		return Zero, fmt.Errorf("merkle: reading children of %q: %w", key, err)
	}
	return h.Add(Sum(kids)), nil
}

// Sum is the sum of the entries' hashes.
func Sum(entries []Entry) Hash {
	var h Hash
	for _, e := range entries {
		h = h.Add(e.Hash)
	}
	return h
}
