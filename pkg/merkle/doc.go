// Package merkle is Syncline's path-based merkle tree over item ids: leaf
// hashing, the tree's shape (dot hierarchy plus hash buckets under every real
// node), batch deltas, the Store seam, and the branch diff.
//
// # Hashes
//
// A leaf is SHA-256("syncline/leaf/v1" || u32be(len(id)) || id ||
// u64be(version) || SHA-256(payload)). A node's hash is the lane-wise sum
// mod 2^32 of the leaves beneath it (8 lanes of 32 bits, little-endian),
// in the spirit of AdHash. The sum is commutative and invertible, so a
// writer adds newLeaf-oldLeaf to every edge on an id's path without reading
// siblings, and concurrent writers' deltas commute. It detects accidental
// divergence; it is not designed to resist an adversary who chooses ids and
// payloads to forge collisions (additive hashes of 256 bits are weak against
// generalized-birthday attacks), which is not Syncline's threat model.
//
// # Shape
//
// Real nodes are the id's dot-prefixes ("" is the root). Between a real node
// P and its child segment s sit Config.Levels bucket nodes named
// P + ">" + digits, the digits being the first base-Fanout digits of
// FNV-1a-64(s). A wide node such as "user" with millions of uuids therefore
// lists at most Fanout buckets per step, and the last bucket level holds about
// children/Fanout^Levels entries. The shape depends only on the ids, never on
// counts, so independent stores agree on it without coordination.
//
// # Storage
//
// A store keeps edges (parent, child) -> hash of child's subtree, plus the
// leaf of each live real node. The hash of a real node N is leaf(N) + the sum
// of N's edges; the root hash is the sum of the root's edges.
package merkle
