package storesqlite

import (
	"context"
	"database/sql"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// tree is the merkle.Store view of sync_merkle and sync_items.leaf_hash.
type tree struct{ s *Store }

func (t *tree) Root(ctx context.Context) (merkle.Hash, error) { return t.s.Root(ctx) }

func (t *tree) Children(ctx context.Context, parent string) ([]merkle.Entry, error) {
	rs, err := t.s.r.QueryContext(ctx, `SELECT child, h0, h1, h2, h3, h4, h5, h6, h7 FROM sync_merkle
WHERE parent = ? ORDER BY child`, parent)
	if err != nil {
		return nil, translate(err)
	}
	defer rs.Close()
	out, err := plan.ScanEdges(rs)
	return out, translate(err)
}

func (t *tree) Leaf(ctx context.Context, id string) (merkle.Hash, bool, error) {
	var leaf []byte
	err := t.s.r.QueryRowContext(ctx, `SELECT leaf_hash FROM sync_items WHERE id = ?1 AND deleted = 0 AND leaf_hash IS NOT NULL
UNION ALL SELECT leaf FROM sync_merkle_leaves WHERE id = ?1 LIMIT 1`, id).Scan(&leaf)
	if err != nil {
		if err = translate(err); err == store.ErrNotFound {
			return merkle.Hash{}, false, nil
		}
		return merkle.Hash{}, false, err
	}
	h, err := merkle.HashFromBytes(leaf)
	if err != nil {
		return merkle.Hash{}, false, nil
	}
	return h, true, nil
}

// Apply adds the edge deltas and sets the leaves in one transaction. It is
// the raw tree API (tree repair and rebuild, the merkletest conformance
// suite); ApplyBatch maintains the tree of the items by itself. A leaf goes
// to the live item row of its id (sync_items.leaf_hash) or, without one,
// to sync_merkle_leaves; clearing removes it from both.
func (t *tree) Apply(ctx context.Context, u merkle.Update) error {
	tx, err := t.s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := applyEdges(ctx, tx, u.Edges); err != nil {
		return translate(err)
	}
	for _, l := range u.Leaves {
		if err := setLeaf(ctx, tx, l); err != nil {
			return translate(err)
		}
	}
	return translate(tx.Commit())
}

func setLeaf(ctx context.Context, tx *sql.Tx, l merkle.Leaf) error {
	if !l.Live {
		if _, err := tx.ExecContext(ctx, `UPDATE sync_items SET leaf_hash = NULL WHERE id = ? AND deleted = 0`, l.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sync_merkle_leaves WHERE id = ?`, l.ID)
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE sync_items SET leaf_hash = ? WHERE id = ? AND deleted = 0`, l.Hash[:], l.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sync_merkle_leaves (id, leaf) VALUES (?, ?)
ON CONFLICT (id) DO UPDATE SET leaf = excluded.leaf`, l.ID, l.Hash[:])
	return err
}
