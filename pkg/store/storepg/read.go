package storepg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

const itemColumns = `id, version, payload, content_type, coalesce(state, ''), deleted,
  leaf_hash, cache_ttl_seconds, updated_at, wal_seq, coalesce(route, '')`

const metaColumns = `id, version, ''::bytea, content_type, coalesce(state, ''), deleted,
  leaf_hash, cache_ttl_seconds, updated_at, wal_seq, coalesce(route, '')`

func scanItem(row pgx.Row) (store.Item, error) {
	var (
		it      store.Item
		version int64
		leaf    []byte
		ttl     int64
		seq     int64
		route   string
	)
	if err := row.Scan(&it.ID, &version, &it.Payload, &it.ContentType, &it.State, &it.Deleted,
		&leaf, &ttl, &it.UpdatedAt, &seq, &route); err != nil {
		return store.Item{}, err
	}
	it.Route = item.Route(route)
	it.Version = uint64(version)
	if len(leaf) == merkle.Size {
		copy(it.Leaf[:], leaf)
	}
	it.CacheTTL = time.Duration(ttl) * time.Second
	it.Seq = uint64(seq)
	if len(it.Payload) == 0 {
		it.Payload = nil
	}
	return it, nil
}

func collectItems(rs pgx.Rows, err error) ([]store.Item, error) {
	if err != nil {
		return nil, translate(err)
	}
	defer rs.Close()
	var out []store.Item
	for rs.Next() {
		it, err := scanItem(rs)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, it)
	}
	return out, translate(rs.Err())
}

// Get implements store.Backend.
func (s *Store) Get(ctx context.Context, id string) (store.Item, error) {
	it, err := scanItem(s.pool.QueryRow(ctx, `SELECT `+itemColumns+` FROM sync_items WHERE id = $1 AND NOT deleted`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Item{}, store.ErrNotFound
	}
	return it, translate(err)
}

// GetMany implements store.Backend.
func (s *Store) GetMany(ctx context.Context, ids []string) (map[string]store.Item, error) {
	out := make(map[string]store.Item, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	items, err := collectItems(s.pool.Query(ctx,
		`SELECT `+itemColumns+` FROM sync_items WHERE id = ANY($1::text[]) AND NOT deleted`, ids))
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		out[it.ID] = it
	}
	return out, nil
}

// ScanLive implements store.Backend.
func (s *Store) ScanLive(ctx context.Context, after string, limit int) ([]store.Entry, error) {
	rs, err := s.pool.Query(ctx, `SELECT id, version, leaf_hash FROM sync_items
WHERE id > $1 AND NOT deleted ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rs.Close()
	out, err := plan.ScanEntries(rs, limit)
	return out, translate(err)
}

// Scan implements store.Backend.
func (s *Store) Scan(ctx context.Context, after string, limit int) ([]store.Item, error) {
	return collectItems(s.pool.Query(ctx,
		`SELECT `+itemColumns+` FROM sync_items WHERE id > $1 ORDER BY id LIMIT $2`, after, limit))
}

// where builds the predicate of q, starting at parameter $1. A prefix
// matches on segment boundaries with range predicates only (no LIKE, so '_'
// and '%' in ids are plain bytes): id = p, or p+"." <= id < p+"/" ('/' is
// the byte after '.'), which the primary key index serves.
func where(q store.Query) (string, []any) {
	w := "NOT deleted"
	var args []any
	if q.Prefix != "" {
		args = append(args, q.Prefix, q.Prefix+".", q.Prefix+"/")
		w += " AND (id = $1 OR (id >= $2 AND id < $3))"
	}
	if q.State != "" {
		args = append(args, q.State)
		w += fmt.Sprintf(" AND state = $%d", len(args))
	}
	return w, args
}

// List implements store.Backend.
func (s *Store) List(ctx context.Context, q store.Query, after string, limit int) ([]store.Item, error) {
	w, args := where(q)
	n := len(args)
	args = append(args, after, limit)
	return collectItems(s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM sync_items
WHERE %s AND id > $%d ORDER BY id LIMIT $%d`, metaColumns, w, n+1, n+2), args...))
}

// Count implements store.Backend.
func (s *Store) Count(ctx context.Context, q store.Query) (int64, error) {
	w, args := where(q)
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sync_items WHERE `+w, args...).Scan(&n)
	return n, translate(err)
}

// Root implements store.Backend.
func (s *Store) Root(ctx context.Context) (merkle.Hash, error) {
	rs, err := s.pool.Query(ctx, sqlRootEdges)
	if err != nil {
		return merkle.Hash{}, translate(err)
	}
	root, err := sumLanes(rs)
	return root, translate(err)
}

// GCTombstones implements store.Backend. A tombstone replaced by a live row
// meanwhile is re-checked by the DELETE and kept.
func (s *Store) GCTombstones(ctx context.Context, olderThan time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sync_items WHERE id IN (
  SELECT id FROM sync_items WHERE deleted AND updated_at < $1 ORDER BY updated_at LIMIT $2)
AND deleted AND updated_at < $1`, olderThan, limit)
	if err != nil {
		return 0, translate(err)
	}
	return int(tag.RowsAffected()), nil
}
