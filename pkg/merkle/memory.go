package merkle

import (
	"context"
	"sort"
	"sync"
)

// MemStore is an in-memory Store, the reference implementation the SQL and
// Redis stores are tested against. Safe for concurrent use.
type MemStore struct {
	mu       sync.RWMutex
	children map[string]map[string]Hash
	leaves   map[string]Hash
}

// NewMemStore returns an empty tree.
func NewMemStore() *MemStore {
	return &MemStore{children: map[string]map[string]Hash{}, leaves: map[string]Hash{}}
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

// Children implements Reader.
func (m *MemStore) Children(_ context.Context, parent string) ([]Entry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	kids := m.children[parent]
	out := make([]Entry, 0, len(kids))
	for k, h := range kids {
		out = append(out, Entry{Key: k, Hash: h})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
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
