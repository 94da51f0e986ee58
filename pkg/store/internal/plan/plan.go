// Package plan is the driver-independent half of ApplyBatch, shared by the
// adapters so that both apply last-writer-wins identically: validate and
// de-duplicate a batch (Prepare), then, given the stored stamps of its ids,
// choose the rows to write and the merkle changes (Decide).
package plan

import (
	"errors"
	"sort"
	"time"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// Row is a validated write, ready for SQL.
type Row struct {
	// Index is the write's index in the batch.
	Index int
	ID    string
	Stamp store.Stamp
	// Payload is nil for tombstones.
	Payload     []byte
	ContentType string
	State       string
	CacheTTL    time.Duration
	Seq         uint64
	// Leaf is zero for tombstones.
	Leaf merkle.Hash
	// Route is stored with puts; Origin goes to the Change only.
	Route  item.Route
	Origin string
}

// Version is the row's effective version.
func (r *Row) Version() uint64 { return r.Stamp.Version }

// Deleted reports a tombstone.
func (r *Row) Deleted() bool { return r.Stamp.Deleted }

// Existing is the stored state of an id that LWW and the merkle delta need.
type Existing struct {
	Stamp store.Stamp
	// Leaf is the stored leaf (zero for tombstones).
	Leaf merkle.Hash
}

// Prepare validates writes, keeps the LWW winner per id and returns the rows
// sorted by id. A write that can never be applied yields a *store.RowError
// naming its index.
func Prepare(writes []store.Write) ([]Row, error) {
	byID := make(map[string]int, len(writes))
	rows := make([]Row, 0, len(writes))
	for i, w := range writes {
		r, err := validate(i, w)
		if err != nil {
			return nil, err
		}
		if j, ok := byID[r.ID]; ok {
			if store.Wins(r.Stamp, rows[j].Stamp) {
				rows[j] = r
			}
			continue
		}
		byID[r.ID] = len(rows)
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows, nil
}

var errBadOp = errors.New("op is neither put nor del")

func validate(i int, w store.Write) (Row, error) {
	rowErr := func(err error) (Row, error) { return Row{}, &store.RowError{Index: i, Err: err} }
	if err := item.ValidateID(w.ID); err != nil {
		return rowErr(err)
	}
	if w.Op != store.OpPut && w.Op != store.OpDelete {
		return rowErr(errBadOp)
	}
	if err := item.ValidateVersion(w.EffectiveVersion()); err != nil {
		return rowErr(err)
	}
	if w.Seq > item.MaxVersion {
		return rowErr(item.Errorf(item.CodeInvalidVersion, "sequence %d is out of range", w.Seq))
	}
	if w.State != "" {
		if _, err := item.ParseState(w.State); err != nil {
			return rowErr(err)
		}
	}
	if w.CacheTTL < 0 || w.CacheTTL > item.MaxCacheTTL {
		return rowErr(item.Errorf(item.CodeInvalidHeader, "cache TTL %s is out of range", w.CacheTTL))
	}
	if w.Route != item.RouteDefault && w.Route != item.RouteDurable {
		return rowErr(item.Errorf(item.CodeInvalidHeader, "route %q is not stored in SQL", w.Route))
	}
	r := Row{
		Index:    i,
		ID:       w.ID,
		Stamp:    store.StampOf(w),
		State:    w.State,
		CacheTTL: w.CacheTTL.Truncate(time.Second),
		Seq:      w.Seq,
		Origin:   w.Origin,
	}
	if w.Op == store.OpPut {
		r.Route = w.Route
		r.Payload = w.Payload
		if r.Payload == nil {
			r.Payload = []byte{}
		}
		r.ContentType = w.ContentType
		if r.ContentType == "" {
			r.ContentType = item.SniffContentType(w.Payload)
		}
		r.Leaf = merkle.LeafHash(w.ID, r.Stamp.Version, r.Stamp.PayloadSum)
	}
	return r, nil
}

// Decide keeps the rows that beat their stored state (absent ids have no
// entry in existing) and returns them with their merkle changes. rows must be
// sorted by id; the result keeps that order.
func Decide(rows []Row, existing map[string]Existing) (winners []Row, changes []merkle.Change) {
	winners = make([]Row, 0, len(rows))
	changes = make([]merkle.Change, 0, len(rows))
	for _, r := range rows {
		old, ok := existing[r.ID]
		if ok && !store.Wins(r.Stamp, old.Stamp) {
			continue
		}
		winners = append(winners, r)
		changes = append(changes, merkle.Change{ID: r.ID, Old: old.Leaf, New: r.Leaf})
	}
	return winners, changes
}

// Changes converts winners into the Result's changes.
func Changes(winners []Row) []store.Change {
	out := make([]store.Change, len(winners))
	for i, r := range winners {
		out[i] = store.Change{
			ID:          r.ID,
			Version:     r.Stamp.Version,
			Leaf:        r.Leaf,
			Deleted:     r.Stamp.Deleted,
			State:       r.State,
			ContentType: r.ContentType,
			CacheTTL:    r.CacheTTL,
			Seq:         r.Seq,
			Route:       r.Route,
			Origin:      r.Origin,
			PayloadSum:  r.Stamp.PayloadSum,
		}
	}
	return out
}

// IDs returns the ids of rows.
func IDs(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// SplitLanes returns the 8 lanes of h as int64 (0..2^32-1), the SQL form.
func SplitLanes(h merkle.Hash) [merkle.Lanes]int64 {
	var out [merkle.Lanes]int64
	for i, l := range h.LanesOf() {
		out[i] = int64(l)
	}
	return out
}

// JoinLanes rebuilds a hash from SQL lanes (each 0..2^32-1).
func JoinLanes(l [merkle.Lanes]int64) merkle.Hash {
	var u [merkle.Lanes]uint32
	for i, v := range l {
		u[i] = uint32(v)
	}
	return merkle.FromLanes(u)
}
