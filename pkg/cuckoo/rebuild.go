package cuckoo

import (
	"fmt"
	"iter"
)

// Rebuild returns a new filter sized by New(capacity) that holds every id
// ids yields. It stops at the first error the sequence yields and returns
// it wrapped. The caller owns the sequence: typically a scan of the ground
// truth (the reconciler's SQL query over live items).
//
// If capacity was too small the filter still holds every id (see
// ErrOverflow) and NeedsRebuild reports true; the caller may Grow it.
func Rebuild(capacity uint, ids iter.Seq2[[]byte, error]) (*Filter, error) {
	f := New(capacity)
	// f is not shared yet: no locking, no seqlock needed.
	for id, err := range ids {
		if err != nil {
			return nil, fmt.Errorf("cuckoo: rebuild: %w", err)
		}
		i1, fp := fingerprintOf(id, f.mask)
		_ = f.insertLocked(i1, fp) // ErrOverflow: kept, reported by NeedsRebuild
	}
	return f, nil
}

// Grow rebuilds from ids into a filter with at least twice f's buckets, or
// more if f holds more ids than that would take at 95 % load. f itself is
// unchanged; ids should yield the same set f describes (f holds only
// fingerprints, so it cannot rebuild itself).
func (f *Filter) Grow(ids iter.Seq2[[]byte, error]) (*Filter, error) {
	doubled := 2 * f.Capacity() * targetLoadNum / targetLoadDen
	return Rebuild(uint(max(doubled, f.Count())), ids)
}

// FromSlice adapts a slice of ids to the sequence Rebuild and Grow take.
func FromSlice(ids [][]byte) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, id := range ids {
			if !yield(id, nil) {
				return
			}
		}
	}
}
