// Package rediscache is Redis as Syncline's hot read tier (L2): the item
// layout of DESIGN.md §3, the version-guarded scripts that are the only way
// items are written, and the Redis merkle tree that those scripts keep in
// step with the items (docs/internals.md, "Merkle scheme").
//
// # Keys
//
// With prefix P (default "sync:"):
//
//	P item:<id>       hash  version       decimal, 1..2^63-1
//	                        payload       the bytes, exact
//	                        content_type  application/json | application/octet-stream
//	                        state         the caller's tag (absent if none)
//	                        leaf          32 bytes, the item's merkle leaf
//	                        sum           32 bytes, SHA-256(payload): the
//	                                      equal-version tie-break
//	                        ttl           the cache TTL in seconds it was
//	                                      written with (absent if none)
//	P ghost:<id>      hash  version, sum, leaf of an item written with a
//	                        cache TTL (no TTL itself; see below)
//	P merkle:<parent> hash  one per parent node ("" is the root, so the
//	                        root's key is "P merkle:"); field = child key,
//	                        value = the child subtree's 32-byte hash; a
//	                        missing field is the zero hash and a field that
//	                        reaches zero is deleted
//	P meta            hash  merkle_config: the tree shape ("f16l2"),
//	                        checked by CheckConfig
//
// Readers in other languages need only the item hash.
//
// # Guarded writes
//
// Items are written and deleted only by two Lua scripts (EVALSHA, loaded on
// first NOSCRIPT), each call carrying a batch of Config.ChunkSize items
// (one round trip). Within a call the items are guarded one after the
// other, and the merkle deltas of the whole batch are summed per edge, so
// an edge shared by many items (the root's, a busy parent's) is read and
// written once. A call runs atomically and blocks Redis while it runs
// (roughly 10-30 µs per item on an idle server): ChunkSize trades
// throughput against the latency other Redis clients see.
// The put script applies an item only if it wins under last-writer-wins
// (DESIGN.md §1): a higher version wins; at an equal version the greater
// SHA-256(payload) wins; an identical write is a no-op. The delete script
// removes an item whose version is at most the tombstone's (a tombstone
// beats a put of equal version). Versions are compared as decimal strings
// (a double cannot hold 2^63-1); hashes byte by byte.
//
// In the same script, so that no reader ever sees one without the other,
// each applied write adds d = newLeaf - oldLeaf (lane-wise mod 2^32; a delete's
// newLeaf is zero) to every edge on the id's path, which the caller
// computes with merkle.Config.Path and passes as keys and fields. The tree
// therefore always describes exactly the set of (id, version, payload)
// written, whatever the order and concurrency of the writers, and the root
// is the sum of the root's edges.
//
// A guard compares with what Redis holds. Tombstones are not in Redis
// (DESIGN.md §1), so after a delete a stale put of a lower version applies
// again. The reconciler, Redis's only writer, serialises its SQL reads with
// its Redis writes so that its own writes land in SQL order; a write from a
// deposed leader can still resurrect an item, and the next branch diff
// removes it.
//
// # Cache TTL
//
// An item written with a TTL (Sync-Cache-TTL) has its item key EXPIREd;
// SQL keeps it. When the key expires Redis drops the hash, leaf included,
// while the merkle edges still count it. Had the leaf gone with it, the
// trees would disagree forever: the diff would find the leaf missing, and a
// repair would add the leaf to the edges a second time. So every TTL write
// also keeps a ghost, P ghost:<id> = {version, sum, leaf}, without TTL
// (about 100 bytes plus the id). The Redis tree describes what was written,
// not what is still cached: Leaf reads the ghost when the item has expired,
// the scripts take the old version and leaf from the ghost, an expired item
// compares equal to SQL in the branch diff, and reads fall through to SQL.
// A newer version re-populates the item (with its own TTL, if any); a
// write without TTL removes the ghost; a delete removes both. The deep
// verify checks only items still present.
//
// The same holds for Redis evicting TTL keys under memory pressure with a
// volatile-* maxmemory-policy. Policies that may evict keys without a TTL
// (allkeys-*) would remove merkle hashes and ghosts: configure noeviction or
// volatile-lru/volatile-ttl for Syncline's database.
//
// # Routes (docs/query.md)
//
// A durable item (Entry.Durable: route durable, SQL only) is written as its
// ghost alone: the tree counts its leaf, reads miss, the deep verify never
// sees it. A cache-only value (PutCacheOnly, route cache) is an item hash
// without leaf, with field route = "cache" and an EXPIRE, written without
// tree deltas; an item hash without leaf therefore means "not counted",
// and the tree scripts take the id's stamp from its ghost. When a
// cache-only value replaces a counted item, the item's stamp moves to the
// ghost first. Reads report it as Entry.CacheOnly.
//
// # Errors
//
// Connection trouble and timeouts are translated to ErrUnavailable
// (*UnavailableError); the caller's cancellation stays a context error.
// Every write is idempotent and guarded, so a caller may retry a batch
// whose outcome is unknown.
//
// # Cluster
//
// A script touches the item, its ghost and its path's edge hashes. On Redis
// Cluster they must share a slot: use a hash-tagged prefix such as
// "{sync}:", which places the whole pipeline on one shard.
package rediscache
