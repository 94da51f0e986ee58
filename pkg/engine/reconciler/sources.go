package reconciler

import (
	"context"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// SQL is what the reconciler reads from the ground truth; store.Backend
// (PostgreSQL, SQLite) satisfies it. The reconciler never writes SQL.
type SQL interface {
	// Root returns the merkle root of the committed items.
	Root(ctx context.Context) (merkle.Hash, error)
	// Tree returns the SQL merkle tree, read by the branch diff.
	Tree() merkle.Store
	// GetMany returns the live items among ids; others are missing.
	GetMany(ctx context.Context, ids []string) (map[string]store.Item, error)
	// ScanLive returns up to limit live ids with id > after, in id order
	// (filter rebuilds, key-by-key comparisons).
	ScanLive(ctx context.Context, after string, limit int) ([]store.Entry, error)
	// Scan returns up to limit rows with id > after, in id order, with
	// payloads, tombstones included (copying SQL into an empty Redis).
	Scan(ctx context.Context, after string, limit int) ([]store.Item, error)
	// List returns up to limit live items matching q with id > after, in
	// id order, without payloads (the deep check's SQL-side scan).
	List(ctx context.Context, q store.Query, after string, limit int) ([]store.Item, error)
	// Count counts the live items matching q (filter sizing).
	Count(ctx context.Context, q store.Query) (int64, error)
}

var _ SQL = store.Backend(nil)
