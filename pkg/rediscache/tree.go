package rediscache

import (
	"context"
	"fmt"
	"sort"

	"github.com/syncline/syncline/pkg/merkle"
)

// Tree is the Redis merkle tree (a merkle.Store): one hash per parent node,
// <prefix>merkle:<parent>, field = child key, value = the child subtree's
// 32-byte hash; leaves live with the items (field leaf), or with the ghost
// of an item whose cache TTL ran out.
type Tree struct {
	c *Cache
}

var _ merkle.Store = (*Tree)(nil)

// Root implements merkle.Reader: the lane-wise sum of the root's edges.
func (t *Tree) Root(ctx context.Context) (merkle.Hash, error) {
	kids, err := t.Children(ctx, "")
	if err != nil {
		return merkle.Hash{}, err
	}
	var r merkle.Hash
	for _, k := range kids {
		r = r.Add(k.Hash)
	}
	return r, nil
}

// Children implements merkle.Reader: HGETALL of the parent's hash, sorted.
func (t *Tree) Children(ctx context.Context, parent string) ([]merkle.Entry, error) {
	m, err := t.c.client.HGetAll(ctx, t.c.edgeKey(parent)).Result()
	if err != nil {
		return nil, translate(ctx, "children", err)
	}
	out := make([]merkle.Entry, 0, len(m))
	for k, v := range m {
		h, err := merkle.HashFromBytes([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("rediscache: edge %q -> %q: %w", parent, k, err)
		}
		if !h.IsZero() {
			out = append(out, merkle.Entry{Key: k, Hash: h})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Leaf implements merkle.Reader. An item whose cache TTL ran out still has
// its leaf (from its ghost): the tree describes what was written.
func (t *Tree) Leaf(ctx context.Context, id string) (merkle.Hash, bool, error) {
	m, err := t.Leaves(ctx, []string{id})
	if err != nil {
		return merkle.Hash{}, false, err
	}
	h, ok := m[id]
	return h, ok, nil
}

// Leaves reads the leaves of ids in chunks of Config.ChunkSize per round
// trip; ids without a leaf are absent from the map.
func (t *Tree) Leaves(ctx context.Context, ids []string) (map[string]merkle.Hash, error) {
	st, err := t.c.Stamps(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]merkle.Hash, len(st))
	for id, s := range st {
		out[id] = s.Leaf
	}
	return out, nil
}

// Apply implements merkle.Store: raw edge deltas and leaves in one script.
// It exists for the conformance suite and tools; items are written with
// Cache.PutMany and Cache.DeleteMany, which keep leaves and edges in step
// by themselves. A cleared leaf does not touch a ghost.
func (t *Tree) Apply(ctx context.Context, u merkle.Update) error {
	n := len(u.Edges)
	keys := make([]string, 0, n+len(u.Leaves))
	args := make([]any, 0, 1+2*n+len(u.Leaves))
	args = append(args, n)
	for _, e := range u.Edges {
		keys = append(keys, t.c.edgeKey(e.Parent))
		args = append(args, e.Child)
	}
	for _, e := range u.Edges {
		d := e.Delta
		args = append(args, d[:])
	}
	for _, l := range u.Leaves {
		keys = append(keys, t.c.itemKey(l.ID))
		if l.Live {
			h := l.Hash
			args = append(args, h[:])
		} else {
			args = append(args, "")
		}
	}
	if len(keys) == 0 {
		return nil
	}
	res, err := t.c.evalChunk(ctx, "apply", applyScript, []scriptCall{{keys: keys, args: args}})
	if err != nil {
		return err
	}
	_ = res
	return nil
}
