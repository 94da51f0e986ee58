package plan

import (
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// Rows is what both drivers' result sets offer (pgx.Rows, *sql.Rows).
// Errors come back untranslated: each adapter translates its own.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanEntries reads (id, version, leaf_hash) rows.
func ScanEntries(rs Rows, capHint int) ([]store.Entry, error) {
	out := make([]store.Entry, 0, min(capHint, 4096))
	for rs.Next() {
		var e store.Entry
		var version int64
		var leaf []byte
		if err := rs.Scan(&e.ID, &version, &leaf); err != nil {
			return nil, err
		}
		e.Version = uint64(version)
		copy(e.Leaf[:], leaf)
		out = append(out, e)
	}
	return out, rs.Err()
}

// ScanEdges reads (child, h0..h7) rows, leaving out all-zero edges.
func ScanEdges(rs Rows) ([]merkle.Entry, error) {
	var out []merkle.Entry
	for rs.Next() {
		var e merkle.Entry
		var l [merkle.Lanes]int64
		if err := rs.Scan(&e.Key, &l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &l[6], &l[7]); err != nil {
			return nil, err
		}
		e.Hash = JoinLanes(l)
		if !e.Hash.IsZero() {
			out = append(out, e)
		}
	}
	return out, rs.Err()
}
