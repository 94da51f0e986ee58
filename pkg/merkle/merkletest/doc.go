// Package merkletest is the conformance suite for merkle.Store
// implementations. Every store (in-memory, PostgreSQL, SQLite, Redis) runs
// the same cases:
//
//	func TestStore(t *testing.T) {
//		merkletest.Exercise(t, func(t *testing.T) merkle.Store {
//			return newIsolatedStore(t) // fresh, empty, cleaned up by t.Cleanup
//		})
//	}
//
// The suite checks that batches of deltas leave exactly the tree Build makes
// from scratch (same edges, same hashes, Children sorted in byte order with
// zero edges absent), that leaves are set and cleared, that concurrent
// Applies commute, and that merkle.Diff against a MemStore finds exactly the
// ids that differ. It uses deterministic data (fixed seeds), so a failure
// reproduces; it imports no driver.
package merkletest
