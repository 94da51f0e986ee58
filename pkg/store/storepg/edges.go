package storepg

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// sqlAddEdges adds lane deltas (each 0..2^32-1) to edges, creating missing
// ones. unnest keeps the array order, so rows are locked in the (parent,
// child) order Deltas sorted them in. It returns only the edges whose hash
// is now zero (to be deleted).
const sqlAddEdges = `WITH up AS (
INSERT INTO sync_merkle AS m (parent, child, h0, h1, h2, h3, h4, h5, h6, h7)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
                     $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
ON CONFLICT (parent, child) DO UPDATE SET
  h0 = (m.h0 + excluded.h0) % 4294967296, h1 = (m.h1 + excluded.h1) % 4294967296,
  h2 = (m.h2 + excluded.h2) % 4294967296, h3 = (m.h3 + excluded.h3) % 4294967296,
  h4 = (m.h4 + excluded.h4) % 4294967296, h5 = (m.h5 + excluded.h5) % 4294967296,
  h6 = (m.h6 + excluded.h6) % 4294967296, h7 = (m.h7 + excluded.h7) % 4294967296
RETURNING parent, child, h0, h1, h2, h3, h4, h5, h6, h7)
SELECT parent, child FROM up
WHERE h0 = 0 AND h1 = 0 AND h2 = 0 AND h3 = 0 AND h4 = 0 AND h5 = 0 AND h6 = 0 AND h7 = 0`

const sqlDeleteZeroEdges = `DELETE FROM sync_merkle m USING unnest($1::text[], $2::text[]) AS z(parent, child)
WHERE m.parent = z.parent AND m.child = z.child
  AND m.h0 = 0 AND m.h1 = 0 AND m.h2 = 0 AND m.h3 = 0 AND m.h4 = 0 AND m.h5 = 0 AND m.h6 = 0 AND m.h7 = 0`

const sqlRootEdges = `SELECT h0, h1, h2, h3, h4, h5, h6, h7 FROM sync_merkle WHERE parent = ''`

func queueEdges(b *pgx.Batch, edges []merkle.EdgeDelta) {
	if len(edges) == 0 {
		return
	}
	parents := make([]string, len(edges))
	children := make([]string, len(edges))
	var lanes [merkle.Lanes][]int64
	for i := range lanes {
		lanes[i] = make([]int64, len(edges))
	}
	for i, e := range edges {
		parents[i], children[i] = e.Parent, e.Child
		for j, v := range plan.SplitLanes(e.Delta) {
			lanes[j][i] = v
		}
	}
	b.Queue(sqlAddEdges, parents, children,
		lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5], lanes[6], lanes[7])
}

func deleteZeroEdges(ctx context.Context, tx pgx.Tx, zero []merkle.Edge) error {
	parents := make([]string, len(zero))
	children := make([]string, len(zero))
	for i, e := range zero {
		parents[i], children[i] = e.Parent, e.Child
	}
	_, err := tx.Exec(ctx, sqlDeleteZeroEdges, parents, children)
	return err
}
