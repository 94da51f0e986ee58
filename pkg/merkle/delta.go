package merkle

import (
	"cmp"
	"context"
	"slices"
	"strings"
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
// and sorted by (Parent, Child), a fixed lock order for stores that lock rows.
// Edges whose summed delta is zero are left out. Changes whose Old equals New
// contribute nothing.
//
// Several changes of one id in a batch must chain in batch order (each Old is
// the previous New); the edges then get the net delta and Leaves holds one
// entry per id, its last New. Leaves is sorted by ID.
//
// Deltas works on any set of changes: Build is Deltas from an empty tree.
func (c Config) Deltas(changes []Change) Update {
	acc := newAccumulator(c, len(changes))
	for _, ch := range changes {
		if ch.Old != ch.New {
			acc.add(ch.ID, ch.New.Sub(ch.Old), ch.New)
		}
	}
	return acc.update()
}

// accumulator sums deltas per edge. Edges are keyed by child key alone (a
// key has one parent); keys are built in a scratch buffer and looked up
// without allocating, so only new edges allocate.
type accumulator struct {
	c      Config
	w      int
	index  map[string]int // child key -> position in edges
	edges  []EdgeDelta
	leafAt []int // per edge into a changed id: its position in leaves, or -1
	leaves []Leaf
	buf    []byte
}

func newAccumulator(c Config, n int) *accumulator {
	return &accumulator{
		c:     c,
		w:     c.digitWidth(),
		index: make(map[string]int, n*2),
		edges: make([]EdgeDelta, 0, n*2),
	}
}

// at returns the position of the edge into key, adding it below parent if
// it is new. key is scratch memory: the lookup does not allocate.
func (a *accumulator) at(parent string, key []byte) int {
	if i, ok := a.index[string(key)]; ok {
		return i
	}
	return a.insert(parent, string(key))
}

// atKey is at for a key that is already a string (a real node, a slice of
// its id).
func (a *accumulator) atKey(parent, key string) int {
	if i, ok := a.index[key]; ok {
		return i
	}
	return a.insert(parent, key)
}

func (a *accumulator) insert(parent, key string) int {
	i := len(a.edges)
	a.index[key] = i
	a.edges = append(a.edges, EdgeDelta{Edge: Edge{Parent: parent, Child: key}})
	a.leafAt = append(a.leafAt, -1)
	return i
}

// add adds delta d on the path of id and records id's new leaf.
func (a *accumulator) add(id string, d, leaf Hash) {
	parent := ""
	i := -1
	for start := 0; start <= len(id); {
		end := strings.IndexByte(id[start:], '.')
		if end < 0 {
			end = len(id)
		} else {
			end += start
		}
		up := parent
		if a.c.Levels > 0 {
			a.buf = append(a.buf[:0], parent...)
			a.buf = append(a.buf, BucketSep)
			a.buf = a.c.appendDigits(a.buf, id[start:end])
			for l := 1; l <= a.c.Levels; l++ {
				j := a.at(up, a.buf[:len(parent)+1+l*a.w])
				a.edges[j].Delta = a.edges[j].Delta.Add(d)
				up = a.edges[j].Child
			}
		}
		i = a.atKey(up, id[:end])
		a.edges[i].Delta = a.edges[i].Delta.Add(d)
		parent = a.edges[i].Child
		start = end + 1
	}
	l := Leaf{ID: id, Hash: leaf, Live: !leaf.IsZero()}
	if a.leafAt[i] >= 0 {
		a.leaves[a.leafAt[i]] = l
		return
	}
	a.leafAt[i] = len(a.leaves)
	a.leaves = append(a.leaves, l)
}

// update returns the non-zero edges and the leaves, both sorted.
func (a *accumulator) update() Update {
	edges := a.edges[:0]
	for _, e := range a.edges {
		if !e.Delta.IsZero() {
			edges = append(edges, e)
		}
	}
	slices.SortFunc(edges, func(x, y EdgeDelta) int {
		if c := cmp.Compare(x.Parent, y.Parent); c != 0 {
			return c
		}
		return cmp.Compare(x.Child, y.Child)
	})
	slices.SortFunc(a.leaves, func(x, y Leaf) int { return cmp.Compare(x.ID, y.ID) })
	return Update{Edges: edges, Leaves: a.leaves}
}

// Entry is one child of a node with its subtree hash.
type Entry struct {
	Key  string
	Hash Hash
}

// Reader is the read side of a tree store, all the branch diff needs.
// merkletest.Exercise checks every implementation against this contract.
type Reader interface {
	// Root returns the root hash, the sum of the root's edges (zero for an
	// empty tree).
	Root(ctx context.Context) (Hash, error)
	// Children returns the edges below parent whose hash is not zero,
	// sorted by Key in byte order (Go string order; SQL needs COLLATE "C"
	// or a binary collation), each key once.
	Children(ctx context.Context, parent string) ([]Entry, error)
	// Leaf returns the leaf hash of real node id, if it is a live item.
	Leaf(ctx context.Context, id string) (Hash, bool, error)
}

// Store is a tree that can be updated. Apply adds every edge delta and sets
// or clears every leaf atomically: a reader sees all of an Update or none of
// it. Apply is safe for concurrent use, and because deltas commute,
// concurrent Applies of any Updates leave the same edges as applying them one
// after the other in any order (the leaves of one id must not be set by two
// concurrent Applies: that order is the caller's). An edge whose hash becomes
// zero may be deleted or kept; Children never returns it.
type Store interface {
	Reader
	Apply(ctx context.Context, u Update) error
}
