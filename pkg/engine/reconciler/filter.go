package reconciler

import (
	"sync"

	"github.com/syncline/syncline/pkg/cuckoo"
	"github.com/syncline/syncline/pkg/merkle"
)

// filterState is the reconciler's cuckoo filter over live ids with what it
// reflects: the SQL root and commit-feed sequence of the last record
// applied. Its discipline (doc.go, "Filter") is insert-only: an id is
// inserted when a change makes it live and the filter does not already
// report it; deleted ids are never removed, only counted, and dropped by
// the next rebuild. So a live id always tests present, whatever the order
// or repetition of the changes, and a snapshot is never a false "absent".
type filterState struct {
	mu sync.Mutex
	f  *cuckoo.Filter
	// next is the filter a background rebuild is filling; changes go to
	// both until it replaces f.
	next    *cuckoo.Filter
	trusted bool
	root    merkle.Hash
	seq     uint64
	// changes counts changes applied since the last snapshot; deletes
	// counts deletes since the filter was built (its stale entries).
	changes int
	deletes int
}

// filterStatus is a point-in-time copy for metrics, status and snapshots.
type filterStatus struct {
	Trusted    bool
	Root       merkle.Hash
	Seq        uint64
	Entries    uint64
	LoadFactor float64
	Deletes    int
	Changes    int
	Overflowed bool
	Rebuilding bool
}

// filterChange is one commit-feed change as the filter needs it.
type filterChange struct {
	ID      string
	Deleted bool
}

// set installs a freshly built or restored filter.
func (s *filterState) set(f *cuckoo.Filter, root merkle.Hash, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f, s.next = f, nil
	s.trusted, s.root, s.seq = true, root, seq
	s.changes, s.deletes = 0, 0
}

// apply adds one record's changes. The caller has checked that seq follows
// the last one without a gap (else it calls revoke).
func (s *filterState) apply(seq uint64, root merkle.Hash, changes []filterChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return
	}
	for _, ch := range changes {
		if ch.Deleted {
			s.deletes++
			continue
		}
		insert(s.f, ch.ID)
		if s.next != nil {
			insert(s.next, ch.ID)
		}
	}
	s.changes += len(changes)
	s.seq, s.root = seq, root
}

// insert adds id unless f already reports it (insert-only discipline).
func insert(f *cuckoo.Filter, id string) {
	b := []byte(id)
	if !f.Lookup(b) {
		_ = f.Insert(b) // ErrOverflow: the id is held; NeedsRebuild reports it
	}
}

// revoke marks the filter untrusted (a gap in the feed).
func (s *filterState) revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trusted = false
}

// beginRebuild starts a background rebuild into a filter of capacity ids;
// changes applied from now on also go to it. It returns the new filter for
// the scan to fill, or nil when a rebuild is already running.
func (s *filterState) beginRebuild(capacity uint) *cuckoo.Filter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next != nil {
		return nil
	}
	s.next = cuckoo.New(capacity)
	return s.next
}

// finishRebuild swaps in the rebuilt filter, which now reflects SQL at the
// last record applied, and trusts it.
func (s *filterState) finishRebuild(f *cuckoo.Filter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next != f {
		return
	}
	s.f, s.next = f, nil
	s.trusted, s.deletes = true, 0
}

// abortRebuild drops a rebuild that failed.
func (s *filterState) abortRebuild(f *cuckoo.Filter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == f {
		s.next = nil
	}
}

func (s *filterState) status() filterStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := filterStatus{Trusted: s.trusted, Root: s.root, Seq: s.seq, Deletes: s.deletes,
		Changes: s.changes, Rebuilding: s.next != nil}
	if s.f != nil {
		st.Entries = s.f.Count()
		st.LoadFactor = s.f.LoadFactor()
		st.Overflowed = s.f.NeedsRebuild()
	}
	return st
}

// lookup reports whether id may be live; ok is false when the filter is
// not trusted (the caller must ask storage).
func (s *filterState) lookup(id string) (present, ok bool) {
	s.mu.Lock()
	f, trusted := s.f, s.trusted
	s.mu.Unlock()
	if f == nil || !trusted {
		return false, false
	}
	return f.Lookup([]byte(id)), true
}

// encode returns a snapshot of a trusted filter with what it reflects,
// and resets the change count; ok is false when there is nothing to
// publish.
func (s *filterState) encode() (data []byte, st filterStatus, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || !s.trusted {
		return nil, filterStatus{}, false, nil
	}
	data, err = s.f.MarshalBinary()
	if err != nil {
		return nil, filterStatus{}, false, err
	}
	st = filterStatus{Trusted: true, Root: s.root, Seq: s.seq, Entries: s.f.Count()}
	s.changes = 0
	return data, st, true, nil
}
