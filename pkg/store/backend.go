package store

import (
	"context"
	"time"

	"github.com/syncline/syncline/pkg/merkle"
)

// Backend is a SQL database holding sync_items and its merkle tree. It is an
// interface because it has two real implementations (storepg, storesqlite)
// checked by one conformance suite (storetest.Exercise); consumers should
// still declare the one or two methods they call.
//
// All methods are safe for concurrent use, and several processes may share
// one database.
type Backend interface {
	// ApplyBatch applies writes with last-writer-wins in one transaction,
	// together with the merkle deltas of the rows it changes, and returns
	// what changed and the new root. Errors: *RowError (a row is invalid
	// or the database rejected it; nothing committed), ErrUnavailable
	// (retry later; nothing committed), or the context's error.
	ApplyBatch(ctx context.Context, writes []Write) (Result, error)
	// Get returns the live item id with its payload, or ErrNotFound when it
	// is absent or tombstoned.
	Get(ctx context.Context, id string) (Item, error)
	// GetMany returns the live items among ids, keyed by id; absent and
	// tombstoned ids are missing from the map.
	GetMany(ctx context.Context, ids []string) (map[string]Item, error)
	// ScanLive returns up to limit live entries with id > after, in id
	// order: enough to rebuild a filter or compare trees leaf by leaf.
	ScanLive(ctx context.Context, after string, limit int) ([]Entry, error)
	// Scan returns up to limit rows with id > after, in id order, tombstones
	// included, with payloads.
	Scan(ctx context.Context, after string, limit int) ([]Item, error)
	// List returns up to limit live items matching q with id > after, in
	// id order, without payloads.
	List(ctx context.Context, q Query, after string, limit int) ([]Item, error)
	// Count counts the live items matching q.
	Count(ctx context.Context, q Query) (int64, error)
	// Root returns the merkle root of the committed items.
	Root(ctx context.Context) (merkle.Hash, error)
	// Tree returns the merkle tree stored alongside the items.
	Tree() merkle.Store
	// GCTombstones deletes up to limit tombstones last written before
	// olderThan and returns how many it deleted.
	GCTombstones(ctx context.Context, olderThan time.Time, limit int) (int, error)
	// Close releases the connections.
	Close() error
}
