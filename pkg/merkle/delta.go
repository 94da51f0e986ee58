package merkle

import (
	"context"
	"sort"
)

// Change is one id's leaf transition in a batch. A zero Old means the id had
// no leaf (absent or tombstoned); a zero New means it has none now.
type Change struct {
	ID  string
	Old Hash
	New Hash
}

// EdgeDelta is a lane-wise difference to add to one edge's hash.
type EdgeDelta struct {
	Edge
	Delta Hash
}

// Leaf sets (Live) or clears the leaf of a real node.
type Leaf struct {
	ID   string
	Hash Hash
	Live bool
}

// Update is everything a batch changes in a tree: edge deltas sorted by
// (Parent, Child), and the new leaves.
type Update struct {
	Edges  []EdgeDelta
	Leaves []Leaf
}

// Deltas turns a batch of leaf changes into per-edge deltas, summed per edge
// and sorted (a fixed lock order for stores that lock rows). Changes whose Old
// equals New contribute nothing.
func (c Config) Deltas(changes []Change) Update {
	acc := make(map[Edge]Hash, len(changes)*2)
	var u Update
	for _, ch := range changes {
		if ch.Old == ch.New {
			continue
		}
		d := ch.New.Sub(ch.Old)
		for _, e := range c.Path(ch.ID) {
			acc[e] = acc[e].Add(d)
		}
		u.Leaves = append(u.Leaves, Leaf{ID: ch.ID, Hash: ch.New, Live: !ch.New.IsZero()})
	}
	u.Edges = make([]EdgeDelta, 0, len(acc))
	for e, d := range acc {
		if d.IsZero() {
			continue
		}
		u.Edges = append(u.Edges, EdgeDelta{Edge: e, Delta: d})
	}
	sort.Slice(u.Edges, func(i, j int) bool {
		a, b := u.Edges[i], u.Edges[j]
		if a.Parent != b.Parent {
			return a.Parent < b.Parent
		}
		return a.Child < b.Child
	})
	sort.Slice(u.Leaves, func(i, j int) bool { return u.Leaves[i].ID < u.Leaves[j].ID })
	return u
}

// Entry is one child of a node with its subtree hash.
type Entry struct {
	Key  string
	Hash Hash
}

// Reader is the read side of a tree store, all the branch diff needs.
type Reader interface {
	// Root returns the root hash (zero for an empty tree).
	Root(ctx context.Context) (Hash, error)
	// Children returns the edges below parent whose hash is not zero,
	// sorted by Key.
	Children(ctx context.Context, parent string) ([]Entry, error)
	// Leaf returns the leaf hash of real node id, if it is a live item.
	Leaf(ctx context.Context, id string) (Hash, bool, error)
}

// Store is a tree that can be updated. Apply adds every edge delta and sets
// every leaf atomically.
type Store interface {
	Reader
	Apply(ctx context.Context, u Update) error
}
