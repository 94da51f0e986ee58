package storesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// chunk bounds the ids per IN (...) list (SQLite's variable limit is far
// higher; this keeps statements small).
const chunk = 500

const sqlUpsert = `INSERT INTO sync_items (id, version, payload, content_type, state, deleted,
  leaf_hash, payload_sum, cache_ttl_seconds, updated_at, wal_seq, route)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, payload = excluded.payload,
  content_type = excluded.content_type, state = excluded.state, deleted = excluded.deleted,
  leaf_hash = excluded.leaf_hash, payload_sum = excluded.payload_sum,
  cache_ttl_seconds = excluded.cache_ttl_seconds, updated_at = excluded.updated_at,
  wal_seq = excluded.wal_seq, route = excluded.route
WHERE excluded.version > sync_items.version OR (excluded.version = sync_items.version AND (
  (excluded.deleted = 1 AND sync_items.deleted = 0) OR
  (excluded.deleted = 0 AND sync_items.deleted = 0 AND excluded.payload_sum > sync_items.payload_sum)))`

// sqlAddEdge adds lane deltas (each 0..2^32-1) to one edge.
const sqlAddEdge = `INSERT INTO sync_merkle (parent, child, h0, h1, h2, h3, h4, h5, h6, h7)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (parent, child) DO UPDATE SET
  h0 = (h0 + excluded.h0) % 4294967296, h1 = (h1 + excluded.h1) % 4294967296,
  h2 = (h2 + excluded.h2) % 4294967296, h3 = (h3 + excluded.h3) % 4294967296,
  h4 = (h4 + excluded.h4) % 4294967296, h5 = (h5 + excluded.h5) % 4294967296,
  h6 = (h6 + excluded.h6) % 4294967296, h7 = (h7 + excluded.h7) % 4294967296
RETURNING h0 = 0 AND h1 = 0 AND h2 = 0 AND h3 = 0 AND h4 = 0 AND h5 = 0 AND h6 = 0 AND h7 = 0`

const sqlDeleteEdge = `DELETE FROM sync_merkle WHERE parent = ? AND child = ?`

const sqlRootEdges = `SELECT h0, h1, h2, h3, h4, h5, h6, h7 FROM sync_merkle WHERE parent = ''`

// ApplyBatch implements store.Backend: BEGIN IMMEDIATE (the write lock),
// read the batch's existing rows, decide LWW (plan.Decide), upsert the
// winners in id order with the same LWW predicate as a guard, add the edge
// deltas in (parent, child) order, drop zero edges, read the root, commit.
func (s *Store) ApplyBatch(ctx context.Context, writes []store.Write) (store.Result, error) {
	rows, err := plan.Prepare(writes)
	if err != nil {
		return store.Result{}, err
	}
	if len(rows) == 0 {
		root, err := s.Root(ctx)
		return store.Result{Root: root}, err
	}
	res, err := s.apply(ctx, rows)
	return res, translate(err)
}

func (s *Store) apply(ctx context.Context, rows []plan.Row) (store.Result, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.Result{}, err
	}
	defer func() { _ = tx.Rollback() }()
	existing, err := readExisting(ctx, tx, plan.IDs(rows))
	if err != nil {
		return store.Result{}, err
	}
	winners, changes := plan.Decide(rows, existing)
	if err := upsertRows(ctx, tx, winners, s.cfg.Now()); err != nil {
		return store.Result{}, err
	}
	if err := applyEdges(ctx, tx, s.cfg.Tree.Deltas(changes).Edges); err != nil {
		return store.Result{}, err
	}
	root, err := sumLanes(tx.QueryContext(ctx, sqlRootEdges))
	if err != nil {
		return store.Result{}, err
	}
	if err := tx.Commit(); err != nil {
		return store.Result{}, err
	}
	return store.Result{Changes: plan.Changes(winners), Root: root}, nil
}

func readExisting(ctx context.Context, tx *sql.Tx, ids []string) (map[string]plan.Existing, error) {
	out := make(map[string]plan.Existing, len(ids))
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := `SELECT id, version, deleted, payload_sum, leaf_hash FROM sync_items WHERE id IN (?` +
			strings.Repeat(",?", len(part)-1) + `)`
		rs, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var (
				id      string
				version int64
				deleted bool
				sum, lf []byte
				e       plan.Existing
			)
			if err := rs.Scan(&id, &version, &deleted, &sum, &lf); err != nil {
				rs.Close()
				return nil, err
			}
			e.Stamp = store.Stamp{Version: uint64(version), Deleted: deleted}
			copy(e.Stamp.PayloadSum[:], sum)
			if !deleted && len(lf) == merkle.Size {
				copy(e.Leaf[:], lf)
			}
			out[id] = e
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func upsertRows(ctx context.Context, tx *sql.Tx, winners []plan.Row, now time.Time) error {
	if len(winners) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, sqlUpsert)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range winners {
		r := &winners[i]
		var state, leaf, route any
		if r.State != "" {
			state = r.State
		}
		if r.Route != "" {
			route = string(r.Route)
		}
		if !r.Stamp.Deleted {
			leaf = r.Leaf[:]
		}
		payload := r.Payload
		if payload == nil {
			payload = []byte{}
		}
		res, err := stmt.ExecContext(ctx, r.ID, int64(r.Stamp.Version), payload, r.ContentType, state,
			r.Stamp.Deleted, leaf, r.Stamp.PayloadSum[:], int64(r.CacheTTL/time.Second), now.UnixNano(), int64(r.Seq), route)
		if err != nil {
			err = translate(err)
			if re, ok := err.(*store.RowError); ok {
				re.Index = r.Index // SQLite names the row: one statement each
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("storesqlite: upsert of %q touched %d rows (%v), expected 1", r.ID, n, err)
		}
	}
	return nil
}

func applyEdges(ctx context.Context, tx *sql.Tx, edges []merkle.EdgeDelta) error {
	if len(edges) == 0 {
		return nil
	}
	add, err := tx.PrepareContext(ctx, sqlAddEdge)
	if err != nil {
		return err
	}
	defer add.Close()
	var zero []merkle.Edge
	for _, e := range edges {
		l := plan.SplitLanes(e.Delta)
		var isZero bool
		if err := add.QueryRowContext(ctx, e.Parent, e.Child, l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]).Scan(&isZero); err != nil {
			return err
		}
		if isZero {
			zero = append(zero, e.Edge)
		}
	}
	for _, e := range zero {
		if _, err := tx.ExecContext(ctx, sqlDeleteEdge, e.Parent, e.Child); err != nil {
			return err
		}
	}
	return nil
}

// sumLanes adds up rows of 8 lanes.
func sumLanes(rs *sql.Rows, err error) (merkle.Hash, error) {
	var root merkle.Hash
	if err != nil {
		return root, err
	}
	defer rs.Close()
	for rs.Next() {
		var l [merkle.Lanes]int64
		if err := rs.Scan(&l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &l[6], &l[7]); err != nil {
			return root, err
		}
		root = root.Add(plan.JoinLanes(l))
	}
	return root, rs.Err()
}
