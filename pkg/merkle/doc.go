// Package merkle is Syncline's path-based merkle tree over item ids: leaf
// hashing, the tree's shape (dot hierarchy plus hash buckets under every real
// node), batch deltas, the Store seam, the in-memory reference store, and the
// branch diff. It imports no driver; the SQL and Redis stores live in their
// adapters and run merkletest.Exercise.
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
// Golden vectors (hash_test.go): LeafOf("tenant.orders.4711", 42,
// `{"total":12.5}`) = 0edb2de9299c9d5efe0927401f348512edae3a86aa062f0493ef741cf31e8a99
// and LeafOf("a", 1, "") = 435f2bf2edb40f7e27e51a7496ba502288a7749bf8221eefad05bda1bb1d915f;
// their sum is 513a59db1651addc25ef41b4b5eed5347556af21a2294df340f531beae3c1bf9.
//
// # Shape
//
// Real nodes are the id's dot-prefixes ("" is the root). Between a real node
// P and its child segment s sit Config.Levels bucket nodes named
// P + ">" + digits, the digits being the first base-Fanout digits of
// fmix64(FNV-1a-64(s)) (MurmurHash3's finalizer, so ids that differ only in
// their last characters still spread), as lowercase hex (one character per digit for Fanout 16, two
// for 256): with DefaultConfig, "tenant.orders.4711" has the path
//
//	"" -> ">e" -> ">e1" -> "tenant" -> "tenant>3" -> "tenant>32" ->
//	"tenant.orders" -> "tenant.orders>9" -> "tenant.orders>9e" ->
//	"tenant.orders.4711"
//
// A wide node such as "user" with millions of uuids therefore lists at most
// Fanout buckets per step, and the last bucket level holds about
// children/Fanout^Levels entries. The shape depends only on the ids, never on
// counts, so independent stores agree on it without coordination. Each level
// costs a writer one more edge per segment: a lone write touches
// segments*(Levels+1) edges; a batch touches the union of its paths.
//
// # Storage
//
// A store keeps edges (parent, child) -> hash of child's subtree, plus the
// leaf of each live real node. The hash of a real node N is leaf(N) + the sum
// of N's edges; the root hash is the sum of the root's edges. The contract
// every Store keeps (Reader, Store) is checked by merkletest.Exercise:
// Children sorted in byte order with zero edges absent, Apply atomic and
// commuting under concurrency. A store is rebuilt from scratch with
// Config.Build; RootOf gives the root of any leaf set without a tree.
//
// # Branch diff
//
// Diff compares two trees from the root (or from a real node, WithPrefix),
// descends only into edges whose hashes differ, and reports the ids whose
// leaves differ, with a read cost bounded by the number of differences
// times their depth, independent of the number of items (see Diff for the
// exact bound). NodeHash re-reads one branch, for a repair that must check
// a difference still holds.
package merkle
