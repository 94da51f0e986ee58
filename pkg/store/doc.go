// Package store is Syncline's SQL storage seam: the storage model (Write,
// Item, Change), the last-writer-wins rule every adapter applies, the errors
// adapters translate driver errors into, and the Backend interface that the
// PostgreSQL (storepg) and SQLite (storesqlite) adapters implement and that
// storetest.Exercise checks.
//
// Core code (the writer, the reconciler) imports this package and never a
// driver; adapters translate pgx and SQLite errors at their boundary into
// ErrUnavailable (retry later: connection refused, timeouts, serialization
// failures, deadlocks, a busy database) or *RowError (one row is rejected
// deterministically; retrying will not help).
//
// # Last writer wins
//
// An incoming write beats the stored row when (Wins):
//
//   - its version is higher, or
//   - versions are equal and the incoming write is a tombstone while the
//     stored row is not, or
//   - versions are equal, both are puts, and SHA-256(incoming payload) is
//     bytewise greater than SHA-256(stored payload).
//
// Anything else, including the same write twice, is a no-op, so applying
// writes in any order and any number of times converges on the same table.
// A write with Version 0 takes its WAL sequence (Seq) as its version. A
// delete is stored as a tombstone (deleted, empty payload, no leaf) even when
// the id was absent, so that a late, older put cannot resurrect the item; it
// is garbage-collected by GCTombstones after the retention.
//
// route is 'durable' for an item kept out of Redis (docs/query.md), NULL
// for the default route; it is the winning put's, and a tombstone has none.
//
// Within one batch only the winner per id is kept; the rows are then applied
// in id order (a fixed lock order).
//
// # Tables
//
// Both adapters create, through embedded goose migrations:
//
//	sync_items(id PRIMARY KEY, version, payload, content_type, state NULL,
//	           deleted, leaf_hash NULL, payload_sum, cache_ttl_seconds,
//	           updated_at, wal_seq, route NULL)
//	sync_merkle(parent, child, h0..h7, PRIMARY KEY(parent, child))
//	sync_merkle_leaves(id PRIMARY KEY, leaf)
//	sync_meta(key PRIMARY KEY, value)
//
// Ids and merkle keys compare bytewise (COLLATE "C" on PostgreSQL, BINARY on
// SQLite), so id order is Go's string order everywhere. sync_merkle holds one
// row per merkle edge (see package merkle): the 8 little-endian uint32 lanes
// of the child's subtree hash, each stored as an integer 0..2^32-1. A batch
// adds its per-edge deltas with
//
//	INSERT ... ON CONFLICT (parent, child) DO UPDATE
//	SET h0 = (sync_merkle.h0 + excluded.h0) % 4294967296, ...
//
// in (parent, child) order and deletes edges that became zero, in the same
// transaction as the item rows, so the SQL root always describes the SQL
// items. sync_meta holds the tree Config ("merkle_config"); opening a
// database built with another Config fails with ErrConfigMismatch.
//
// The leaf of an item lives in its row (leaf_hash). Backend.Tree is the
// merkle.Store view of these tables; its Apply is the raw tree API (repair,
// rebuild, the merkletest conformance suite) and keeps a leaf for an id
// without a live row in sync_merkle_leaves, which ApplyBatch never writes.
package store
