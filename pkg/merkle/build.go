package merkle

// Build returns the Update that turns an empty tree into the tree of leaves
// (id -> leaf hash; Zero leaves are skipped as absent). Stores use it to
// rebuild their tree from scratch: clear every edge and leaf, then Apply
// Build(all live items) in one transaction.
//
// Build holds every edge in memory (about one per item plus the buckets). A
// store that cannot can rebuild in chunks instead: hashes add, so applying
// Deltas with Old = Zero for each chunk of ids to the cleared tree gives the
// same edges.
func (c Config) Build(leaves map[string]Hash) Update {
	changes := make([]Change, 0, len(leaves))
	for id, h := range leaves {
		changes = append(changes, Change{ID: id, New: h})
	}
	return c.Deltas(changes)
}

// RootOf is the root hash of a tree holding leaves, whatever its Config: the
// lane-wise sum of every leaf.
func RootOf(leaves map[string]Hash) Hash {
	var r Hash
	for _, h := range leaves {
		r = r.Add(h)
	}
	return r
}
