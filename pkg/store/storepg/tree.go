package storepg

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// tree is the merkle.Store view of sync_merkle and sync_items.leaf_hash.
type tree struct{ s *Store }

func (t *tree) Root(ctx context.Context) (merkle.Hash, error) { return t.s.Root(ctx) }

func (t *tree) Children(ctx context.Context, parent string) ([]merkle.Entry, error) {
	rs, err := t.s.pool.Query(ctx, `SELECT child, h0, h1, h2, h3, h4, h5, h6, h7 FROM sync_merkle
WHERE parent = $1 ORDER BY child`, parent)
	if err != nil {
		return nil, translate(err)
	}
	defer rs.Close()
	out, err := plan.ScanEdges(rs)
	return out, translate(err)
}

func (t *tree) Leaf(ctx context.Context, id string) (merkle.Hash, bool, error) {
	var leaf []byte
	err := t.s.pool.QueryRow(ctx, sqlLeaf, id).Scan(&leaf)
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

// sqlLeaf reads the leaf of a live item, else one set through Apply.
const sqlLeaf = `SELECT leaf_hash FROM sync_items WHERE id = $1 AND NOT deleted AND leaf_hash IS NOT NULL
UNION ALL SELECT leaf FROM sync_merkle_leaves WHERE id = $1 LIMIT 1`

// Apply adds the edge deltas and sets the leaves in one transaction. It is
// the raw tree API (tree repair and rebuild, the merkletest conformance
// suite); ApplyBatch maintains the tree of the items by itself. A leaf goes
// to the live item row of its id (sync_items.leaf_hash) or, without one,
// to sync_merkle_leaves; clearing removes it from both.
func (t *tree) Apply(ctx context.Context, u merkle.Update) error {
	tx, err := t.s.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var zero []merkle.Edge
	if len(u.Edges) > 0 {
		var b pgx.Batch
		queueEdges(&b, u.Edges)
		br := tx.SendBatch(ctx, &b)
		rs, err := br.Query()
		if err == nil {
			for rs.Next() {
				var e merkle.Edge
				if err = rs.Scan(&e.Parent, &e.Child); err != nil {
					break
				}
				zero = append(zero, e)
			}
			rs.Close()
			if err == nil {
				err = rs.Err()
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return translate(err)
		}
	}
	if len(zero) > 0 {
		if err := deleteZeroEdges(ctx, tx, zero); err != nil {
			return translate(err)
		}
	}
	for _, l := range u.Leaves {
		if err := setLeaf(ctx, tx, l); err != nil {
			return translate(err)
		}
	}
	return translate(tx.Commit(ctx))
}

func setLeaf(ctx context.Context, tx pgx.Tx, l merkle.Leaf) error {
	if !l.Live {
		if _, err := tx.Exec(ctx, `UPDATE sync_items SET leaf_hash = NULL WHERE id = $1 AND NOT deleted`, l.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sync_merkle_leaves WHERE id = $1`, l.ID)
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE sync_items SET leaf_hash = $2 WHERE id = $1 AND NOT deleted`, l.ID, l.Hash[:])
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO sync_merkle_leaves (id, leaf) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET leaf = excluded.leaf`, l.ID, l.Hash[:])
	return err
}
