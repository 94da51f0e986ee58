package merkle

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// MemStore is an in-memory Store, the reference implementation the SQL and
// Redis stores are tested against. Safe for concurrent use.
//
// Children are kept in maps and sorted on first read; the sorted list is
// cached per parent until an Apply touches that parent, so repeated diffs
// read a node the way a database reads an index range.
type MemStore struct {
	mu       sync.RWMutex
	children map[string]map[string]Hash
	leaves   map[string]Hash

	// sortedMu guards sorted, which Children fills under mu.RLock; Apply
	// invalidates it under mu.Lock. Lock order: mu, then sortedMu.
	sortedMu sync.Mutex
	sorted   map[string][]Entry
}

// NewMemStore returns an empty tree.
func NewMemStore() *MemStore {
	return &MemStore{
		children: map[string]map[string]Hash{},
		leaves:   map[string]Hash{},
		sorted:   map[string][]Entry{},
	}
}

// Root implements Reader.
func (m *MemStore) Root(_ context.Context) (Hash, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var r Hash
	for _, h := range m.children[""] {
		r = r.Add(h)
	}
	return r, nil
}

// Children implements Reader. The caller owns the returned slice.
func (m *MemStore) Children(_ context.Context, parent string) ([]Entry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	m.sortedMu.Lock()
	es, ok := m.sorted[parent]
	m.sortedMu.Unlock()
	if !ok {
		kids := m.children[parent]
		es = make([]Entry, 0, len(kids))
		for k, h := range kids {
			es = append(es, Entry{Key: k, Hash: h})
		}
		slices.SortFunc(es, func(a, b Entry) int { return cmp.Compare(a.Key, b.Key) })
		m.sortedMu.Lock()
		m.sorted[parent] = es
		m.sortedMu.Unlock()
	}
	return slices.Clone(es), nil
}

// Leaf implements Reader.
func (m *MemStore) Leaf(_ context.Context, id string) (Hash, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h, ok := m.leaves[id]
	return h, ok, nil
}

// Apply implements Store.
func (m *MemStore) Apply(_ context.Context, u Update) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sorted) > 0 {
		for _, e := range u.Edges {
			delete(m.sorted, e.Parent)
		}
	}
	for _, e := range u.Edges {
		kids := m.children[e.Parent]
		if kids == nil {
			kids = map[string]Hash{}
			m.children[e.Parent] = kids
		}
		h := kids[e.Child].Add(e.Delta)
		if h.IsZero() {
			delete(kids, e.Child)
			if len(kids) == 0 {
				delete(m.children, e.Parent)
			}
			continue
		}
		kids[e.Child] = h
	}
	for _, l := range u.Leaves {
		if l.Live {
			m.leaves[l.ID] = l.Hash
		} else {
			delete(m.leaves, l.ID)
		}
	}
	return nil
}
