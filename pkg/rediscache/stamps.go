package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/syncline/syncline/pkg/merkle"
)

// Stamp is what the tree counts for one id: the version and leaf last
// written, from the item or, once its cache TTL ran out, from its ghost.
type Stamp struct {
	Version uint64
	Leaf    merkle.Hash
	// Expired reports that the item itself is gone (cache TTL) and the
	// stamp comes from its ghost.
	Expired bool
}

var stampFields = []string{"version", "leaf"}

// Stamps reads the stamps of ids in chunks of Config.ChunkSize per round
// trip; ids the tree does not count are absent from the map. It is what a
// repair re-reads right before it writes.
func (c *Cache) Stamps(ctx context.Context, ids []string) (map[string]Stamp, error) {
	out := make(map[string]Stamp, len(ids))
	cs := c.cfg.ChunkSize
	type pair struct{ item, ghost *redis.SliceCmd }
	cmds := make([]pair, 0, min(len(ids), cs))
	for start := 0; start < len(ids); start += cs {
		chunk := ids[start:min(start+cs, len(ids))]
		pipe := c.client.Pipeline()
		cmds = cmds[:0]
		for _, id := range chunk {
			cmds = append(cmds, pair{
				item:  pipe.HMGet(ctx, c.itemKey(id), stampFields...),
				ghost: pipe.HMGet(ctx, c.ghostKey(id), stampFields...),
			})
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, translate(ctx, "stamps", err)
		}
		for i, p := range cmds {
			v, expired := p.item.Val(), false
			if v[1] == nil {
				v, expired = p.ghost.Val(), true
			}
			l, ok := v[1].(string)
			if !ok {
				continue
			}
			h, err := merkle.HashFromBytes([]byte(l))
			if err != nil {
				return nil, fmt.Errorf("rediscache: leaf of %s: %w", chunk[i], err)
			}
			st := Stamp{Leaf: h, Expired: expired}
			if vs, ok := v[0].(string); ok {
				if st.Version, err = strconv.ParseUint(vs, 10, 64); err != nil {
					return nil, fmt.Errorf("rediscache: version of %s: %w", chunk[i], err)
				}
			}
			out[chunk[i]] = st
		}
	}
	return out, nil
}
