package storesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

const itemColumns = `id, version, payload, content_type, coalesce(state, ''), deleted,
  leaf_hash, cache_ttl_seconds, updated_at, wal_seq, coalesce(route, '')`

const metaColumns = `id, version, x'', content_type, coalesce(state, ''), deleted,
  leaf_hash, cache_ttl_seconds, updated_at, wal_seq, coalesce(route, '')`

type scanner interface{ Scan(dest ...any) error }

func scanItem(row scanner) (store.Item, error) {
	var (
		it      store.Item
		version int64
		leaf    []byte
		ttl     int64
		updated int64
		seq     int64
		route   string
	)
	if err := row.Scan(&it.ID, &version, &it.Payload, &it.ContentType, &it.State, &it.Deleted,
		&leaf, &ttl, &updated, &seq, &route); err != nil {
		return store.Item{}, err
	}
	it.Route = item.Route(route)
	it.Version = uint64(version)
	if len(leaf) == merkle.Size {
		copy(it.Leaf[:], leaf)
	}
	it.CacheTTL = time.Duration(ttl) * time.Second
	it.UpdatedAt = time.Unix(0, updated).UTC()
	it.Seq = uint64(seq)
	if len(it.Payload) == 0 {
		it.Payload = nil
	}
	return it, nil
}

func collectItems(rs *sql.Rows, err error) ([]store.Item, error) {
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
	it, err := scanItem(s.r.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM sync_items WHERE id = ? AND deleted = 0`, id))
	return it, translate(err)
}

// GetMany implements store.Backend.
func (s *Store) GetMany(ctx context.Context, ids []string) (map[string]store.Item, error) {
	out := make(map[string]store.Item, len(ids))
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		items, err := collectItems(s.r.QueryContext(ctx, `SELECT `+itemColumns+` FROM sync_items
WHERE deleted = 0 AND id IN (?`+strings.Repeat(",?", len(part)-1)+`)`, args...))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out[it.ID] = it
		}
	}
	return out, nil
}

// ScanLive implements store.Backend.
func (s *Store) ScanLive(ctx context.Context, after string, limit int) ([]store.Entry, error) {
	rs, err := s.r.QueryContext(ctx, `SELECT id, version, leaf_hash FROM sync_items
WHERE id > ? AND deleted = 0 ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rs.Close()
	out, err := plan.ScanEntries(rs, limit)
	return out, translate(err)
}

// Scan implements store.Backend.
func (s *Store) Scan(ctx context.Context, after string, limit int) ([]store.Item, error) {
	return collectItems(s.r.QueryContext(ctx,
		`SELECT `+itemColumns+` FROM sync_items WHERE id > ? ORDER BY id LIMIT ?`, after, limit))
}

// where builds the predicate of q. A prefix matches on segment boundaries
// with range predicates only (no LIKE or GLOB, so '_' and '%' in ids are
// plain bytes): id = p, or p+"." <= id < p+"/" ('/' is the byte after '.').
func where(q store.Query) (string, []any) {
	w := "deleted = 0"
	var args []any
	if q.Prefix != "" {
		args = append(args, q.Prefix, q.Prefix+".", q.Prefix+"/")
		w += " AND (id = ? OR (id >= ? AND id < ?))"
	}
	if q.State != "" {
		args = append(args, q.State)
		w += " AND state = ?"
	}
	return w, args
}

// List implements store.Backend.
func (s *Store) List(ctx context.Context, q store.Query, after string, limit int) ([]store.Item, error) {
	w, args := where(q)
	args = append(args, after, limit)
	return collectItems(s.r.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM sync_items
WHERE %s AND id > ? ORDER BY id LIMIT ?`, metaColumns, w), args...))
}

// Count implements store.Backend.
func (s *Store) Count(ctx context.Context, q store.Query) (int64, error) {
	w, args := where(q)
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_items WHERE `+w, args...).Scan(&n)
	return n, translate(err)
}

// Root implements store.Backend.
func (s *Store) Root(ctx context.Context) (merkle.Hash, error) {
	root, err := sumLanes(s.r.QueryContext(ctx, sqlRootEdges))
	return root, translate(err)
}

// GCTombstones implements store.Backend.
func (s *Store) GCTombstones(ctx context.Context, olderThan time.Time, limit int) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sync_items WHERE id IN (
  SELECT id FROM sync_items WHERE deleted = 1 AND updated_at < ? ORDER BY updated_at LIMIT ?)`,
		olderThan.UnixNano(), limit)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return int(n), translate(err)
}
