package storepg

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// upsertMode is the statement shape that writes item rows. All shapes are
// equivalent; unnest is the default because it measured fastest (see
// docs/BENCHMARKS.md, "Writer / SQL"). The others stay for the benchmark.
type upsertMode int

const (
	// modeUnnest: one INSERT ... SELECT FROM unnest(arrays) for new ids and
	// one UPDATE ... FROM unnest(arrays) for existing ones, pipelined.
	modeUnnest upsertMode = iota
	// modeCopy: COPY into a per-connection temp table, then INSERT ...
	// SELECT and UPDATE ... FROM it.
	modeCopy
	// modeBatch: one INSERT or UPDATE statement per row, pipelined.
	modeBatch
	// modeHybrid: COPY for the inserts (when there are at least copyMin),
	// unnest for the updates.
	modeHybrid
)

// copyMin is the smallest insert set modeHybrid copies.
const copyMin = 64

// lwwGuard is store.Wins in SQL: u is the incoming row, t the stored one.
// bytea compares bytewise.
const lwwGuard = `(u.version > t.version OR (u.version = t.version AND (
  (u.deleted AND NOT t.deleted) OR
  (NOT u.deleted AND NOT t.deleted AND u.payload_sum > t.payload_sum))))`

const sqlInsertUnnest = `INSERT INTO sync_items (id, version, payload, content_type, state, deleted,
  leaf_hash, payload_sum, cache_ttl_seconds, updated_at, wal_seq, route)
SELECT u.id, u.version, u.payload, u.content_type, u.state, u.deleted,
  u.leaf_hash, u.payload_sum, u.ttl, $10, u.seq, u.route
FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::boolean[],
            $7::bytea[], $8::bytea[], $9::bigint[], $11::bigint[], $12::text[])
  AS u(id, version, payload, content_type, state, deleted, leaf_hash, payload_sum, ttl, seq, route)
ON CONFLICT (id) DO NOTHING`

const sqlUpdateUnnest = `UPDATE sync_items AS t SET version = u.version, payload = u.payload,
  content_type = u.content_type, state = u.state, deleted = u.deleted, leaf_hash = u.leaf_hash,
  payload_sum = u.payload_sum, cache_ttl_seconds = u.ttl, updated_at = $10, wal_seq = u.seq,
  route = u.route
FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::boolean[],
            $7::bytea[], $8::bytea[], $9::bigint[], $11::bigint[], $12::text[])
  AS u(id, version, payload, content_type, state, deleted, leaf_hash, payload_sum, ttl, seq, route)
WHERE t.id = u.id AND ` + lwwGuard

// columns is a batch of rows in column-array form.
type columns struct {
	ids, cts []string
	states   []*string
	versions []int64
	payloads [][]byte
	deleted  []bool
	leaves   [][]byte
	sums     [][]byte
	ttls     []int64
	seqs     []int64
	routes   []*string
}

func toColumns(rows []plan.Row) columns {
	n := len(rows)
	c := columns{
		ids: make([]string, n), cts: make([]string, n), states: make([]*string, n),
		versions: make([]int64, n), payloads: make([][]byte, n), deleted: make([]bool, n),
		leaves: make([][]byte, n), sums: make([][]byte, n), ttls: make([]int64, n), seqs: make([]int64, n),
		routes: make([]*string, n),
	}
	for i := range rows {
		r := &rows[i]
		c.ids[i] = r.ID
		c.cts[i] = r.ContentType
		if r.State != "" {
			st := r.State
			c.states[i] = &st
		}
		c.versions[i] = int64(r.Stamp.Version)
		c.payloads[i] = r.Payload
		if c.payloads[i] == nil {
			c.payloads[i] = []byte{}
		}
		c.deleted[i] = r.Stamp.Deleted
		if !r.Stamp.Deleted {
			c.leaves[i] = r.Leaf[:]
		}
		c.sums[i] = r.Stamp.PayloadSum[:]
		c.ttls[i] = int64(r.CacheTTL / time.Second)
		c.seqs[i] = int64(r.Seq)
		if r.Route != "" {
			rt := string(r.Route)
			c.routes[i] = &rt
		}
	}
	return c
}

func (c columns) args(now time.Time) []any {
	return []any{c.ids, c.versions, c.payloads, c.cts, c.states, c.deleted, c.leaves, c.sums, c.ttls, now, c.seqs, c.routes}
}

// queueRows queues (or, for modeCopy, first copies) the item writes.
func (s *Store) queueRows(ctx context.Context, tx pgx.Tx, b *pgx.Batch, inserts, updates []plan.Row, now time.Time) error {
	switch s.mode {
	case modeCopy:
		return queueCopy(ctx, tx, b, inserts, updates, now)
	case modeBatch:
		queuePerRow(b, inserts, updates, now)
		return nil
	case modeHybrid:
		if len(inserts) >= copyMin {
			if err := queueCopy(ctx, tx, b, inserts, nil, now); err != nil {
				return err
			}
		} else if len(inserts) > 0 {
			b.Queue(sqlInsertUnnest, toColumns(inserts).args(now)...)
		}
		if len(updates) > 0 {
			b.Queue(sqlUpdateUnnest, toColumns(updates).args(now)...)
		}
		return nil
	default:
		if len(inserts) > 0 {
			b.Queue(sqlInsertUnnest, toColumns(inserts).args(now)...)
		}
		if len(updates) > 0 {
			b.Queue(sqlUpdateUnnest, toColumns(updates).args(now)...)
		}
		return nil
	}
}

// readRows checks the row counts of what queueRows queued.
func (s *Store) readRows(br pgx.BatchResults, nIns, nUpd int) error {
	if s.mode == modeBatch {
		return readPerRow(br, nIns, nUpd)
	}
	if nIns > 0 {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if err := checkCount("insert", tag.RowsAffected(), nIns); err != nil {
			return err
		}
	}
	if nUpd > 0 {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if err := checkCount("update", tag.RowsAffected(), nUpd); err != nil {
			return err
		}
	}
	return nil
}
