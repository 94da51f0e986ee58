package rediscache

import (
	"context"
	"strings"

	"github.com/syncline/syncline/pkg/item"
)

// ScanStats counts the Redis work of a scan.
type ScanStats struct {
	// Keys is the number of item keys the scan visited.
	Keys int
	// Calls is the number of Redis commands sent (SCAN pages plus HMGETs).
	Calls int
}

// ScanItems calls fn with every item under idPrefix (on segment
// boundaries, "" = all), in batches of up to Config.ChunkSize, in no
// particular order. It walks the whole keyspace with SCAN, so its cost
// grows with the number of keys in the Redis database, not with the
// differences: it is the key-by-key baseline and the deep verify's source,
// never the diff's. Items changed during the scan may be seen in either
// state, or twice; items expired by their cache TTL are not seen. An error
// from fn stops the scan and is returned as is.
func (c *Cache) ScanItems(ctx context.Context, idPrefix string, fn func([]Entry) error) (ScanStats, error) {
	var st ScanStats
	match := globEscape(c.itemKey(idPrefix)) + "*"
	var cursor uint64
	ids := make([]string, 0, c.cfg.ChunkSize)
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		es, err := c.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		st.Calls += len(ids)
		batch := es[:0]
		for _, e := range es {
			if e.ID != "" {
				batch = append(batch, e)
			}
		}
		ids = ids[:0]
		if len(batch) == 0 {
			return nil
		}
		return fn(batch)
	}
	for {
		keys, next, err := c.client.Scan(ctx, cursor, match, int64(max(c.cfg.ChunkSize, 1000))).Result()
		if err != nil {
			return st, translate(ctx, "scan", err)
		}
		st.Calls++
		for _, k := range keys {
			id := c.idOfItemKey(k)
			if !item.Covers(idPrefix, id) {
				continue
			}
			st.Keys++
			ids = append(ids, id)
			if len(ids) == c.cfg.ChunkSize {
				if err := flush(); err != nil {
					return st, err
				}
			}
		}
		cursor = next
		if cursor == 0 {
			break
		}
	}
	return st, flush()
}

// globEscape escapes the glob metacharacters of SCAN MATCH.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
