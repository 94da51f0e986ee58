package storepg

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// The alternative statement shapes measured against modeUnnest.

const sqlCreateStage = `CREATE TEMP TABLE IF NOT EXISTS sync_stage (
  id text COLLATE "C", version bigint, payload bytea, content_type text, state text,
  deleted boolean, leaf_hash bytea, payload_sum bytea, ttl bigint, seq bigint, is_new boolean,
  route text
) ON COMMIT DELETE ROWS`

var stageColumns = []string{"id", "version", "payload", "content_type", "state", "deleted",
	"leaf_hash", "payload_sum", "ttl", "seq", "is_new", "route"}

const sqlInsertStage = `INSERT INTO sync_items (id, version, payload, content_type, state, deleted,
  leaf_hash, payload_sum, cache_ttl_seconds, updated_at, wal_seq, route)
SELECT u.id, u.version, u.payload, u.content_type, u.state, u.deleted,
  u.leaf_hash, u.payload_sum, u.ttl, $1, u.seq, u.route
FROM sync_stage u WHERE u.is_new ORDER BY u.id
ON CONFLICT (id) DO NOTHING`

const sqlUpdateStage = `UPDATE sync_items AS t SET version = u.version, payload = u.payload,
  content_type = u.content_type, state = u.state, deleted = u.deleted, leaf_hash = u.leaf_hash,
  payload_sum = u.payload_sum, cache_ttl_seconds = u.ttl, updated_at = $1, wal_seq = u.seq,
  route = u.route
FROM sync_stage u WHERE NOT u.is_new AND t.id = u.id AND ` + lwwGuard

func queueCopy(ctx context.Context, tx pgx.Tx, b *pgx.Batch, inserts, updates []plan.Row, now time.Time) error {
	if _, err := tx.Exec(ctx, sqlCreateStage); err != nil {
		return err
	}
	src := make([][]any, 0, len(inserts)+len(updates))
	add := func(rows []plan.Row, isNew bool) {
		c := toColumns(rows)
		for i := range rows {
			src = append(src, []any{c.ids[i], c.versions[i], c.payloads[i], c.cts[i], c.states[i],
				c.deleted[i], c.leaves[i], c.sums[i], c.ttls[i], c.seqs[i], isNew, c.routes[i]})
		}
	}
	add(inserts, true)
	add(updates, false)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sync_stage"}, stageColumns, pgx.CopyFromRows(src)); err != nil {
		return err
	}
	if len(inserts) > 0 {
		b.Queue(sqlInsertStage, now)
	}
	if len(updates) > 0 {
		b.Queue(sqlUpdateStage, now)
	}
	return nil
}

const sqlInsertOne = `INSERT INTO sync_items (id, version, payload, content_type, state, deleted,
  leaf_hash, payload_sum, cache_ttl_seconds, updated_at, wal_seq, route)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`

const sqlUpdateOne = `UPDATE sync_items AS t SET version = u.version, payload = u.payload,
  content_type = u.content_type, state = u.state, deleted = u.deleted, leaf_hash = u.leaf_hash,
  payload_sum = u.payload_sum, cache_ttl_seconds = u.ttl, updated_at = $10, wal_seq = u.seq,
  route = u.route
FROM (SELECT $1::text AS id, $2::bigint AS version, $3::bytea AS payload, $4::text AS content_type,
  $5::text AS state, $6::boolean AS deleted, $7::bytea AS leaf_hash, $8::bytea AS payload_sum,
  $9::bigint AS ttl, $11::bigint AS seq, $12::text AS route) AS u
WHERE t.id = u.id AND ` + lwwGuard

func queuePerRow(b *pgx.Batch, inserts, updates []plan.Row, now time.Time) {
	for _, set := range []struct {
		rows []plan.Row
		sql  string
	}{{inserts, sqlInsertOne}, {updates, sqlUpdateOne}} {
		c := toColumns(set.rows)
		for i := range set.rows {
			b.Queue(set.sql, c.ids[i], c.versions[i], c.payloads[i], c.cts[i], c.states[i],
				c.deleted[i], c.leaves[i], c.sums[i], c.ttls[i], now, c.seqs[i], c.routes[i])
		}
	}
}

func readPerRow(br pgx.BatchResults, nIns, nUpd int) error {
	var raced error
	for i := 0; i < nIns+nUpd; i++ {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		what := "update"
		if i < nIns {
			what = "insert"
		}
		if err := checkCount(what, tag.RowsAffected(), 1); err != nil && raced == nil {
			raced = err
		}
	}
	return raced
}
