package rediscache

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
)

// Config configures a Cache.
type Config struct {
	// Prefix starts every key (DESIGN.md §3). Default "sync:".
	Prefix string
	// Tree is the merkle shape; it must equal the SQL tree's. Default
	// merkle.DefaultConfig.
	Tree merkle.Config
	// ChunkSize bounds the commands sent per round trip by the batch
	// operations. Default 256.
	ChunkSize int
}

// DefaultPrefix is the key prefix when Config.Prefix is empty.
const DefaultPrefix = "sync:"

// DefaultChunkSize is the batch size when Config.ChunkSize is zero.
const DefaultChunkSize = 256

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Tree == (merkle.Config{}) {
		c.Tree = merkle.DefaultConfig
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = DefaultChunkSize
	}
	return c
}

// Validate checks the config after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := c.Tree.Validate(); err != nil {
		return fmt.Errorf("rediscache: %w", err)
	}
	if c.ChunkSize < 1 || c.ChunkSize > 100_000 {
		return fmt.Errorf("rediscache: chunk size %d is not 1..100000", c.ChunkSize)
	}
	return nil
}

// Entry is one live item as the cache stores it.
type Entry struct {
	ID          string
	Version     uint64
	Payload     []byte
	ContentType string
	// State is the caller's tag; empty means none.
	State string
	// TTL, when positive, makes the Redis copy expire after it (rounded up
	// to whole seconds), from Sync-Cache-TTL. Reads leave it zero.
	TTL time.Duration
	// Leaf is the stored leaf hash on reads. Writes ignore it and compute
	// the leaf from ID, Version and Payload.
	Leaf merkle.Hash
	// Durable (writes) marks an item of route durable: SQL only. Redis
	// keeps just its ghost, so that the tree counts its leaf while reads
	// miss; TTL is ignored.
	Durable bool
	// CacheOnly (reads) marks a cache-only value (route cache, written by
	// PutCacheOnly): not counted by the tree, Leaf zero.
	CacheOnly bool
}

// Tombstone deletes an item at a version.
type Tombstone struct {
	ID      string
	Version uint64
}

// Cache is Redis as Syncline's hot read tier: the items, written only
// through version-guarded scripts that keep the Redis merkle tree in step.
// Safe for concurrent use.
type Cache struct {
	client redis.UniversalClient
	cfg    Config
	tree   *Tree
}

// New returns a Cache over client. It sends nothing to Redis.
func New(client redis.UniversalClient, cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Cache{client: client, cfg: cfg}
	c.tree = &Tree{c: c}
	return c, nil
}

// Config returns the effective config (defaults applied).
func (c *Cache) Config() Config { return c.cfg }

// Tree returns the Redis merkle tree.
func (c *Cache) Tree() *Tree { return c.tree }

// Ping checks that Redis answers.
func (c *Cache) Ping(ctx context.Context) error {
	return translate(ctx, "ping", c.client.Ping(ctx).Err())
}

func (c *Cache) itemKey(id string) string      { return c.cfg.Prefix + "item:" + id }
func (c *Cache) ghostKey(id string) string     { return c.cfg.Prefix + "ghost:" + id }
func (c *Cache) edgeKey(parent string) string  { return c.cfg.Prefix + "merkle:" + parent }
func (c *Cache) idOfItemKey(key string) string { return key[len(c.cfg.Prefix)+len("item:"):] }

func validWrite(id string, version uint64) error {
	if err := item.ValidateID(id); err != nil {
		return fmt.Errorf("rediscache: %w", err)
	}
	if err := item.ValidateVersion(version); err != nil {
		return fmt.Errorf("rediscache: %s: %w", id, err)
	}
	return nil
}

// batch builds one script call over several items: the distinct edge
// hashes of their paths first in KEYS (an edge shared by items is passed,
// and written, once), then each item's item and ghost keys; ARGV starts
// with the item and edge counts.
type batch struct {
	c      *Cache
	edges  map[string]int // edge hash key -> 1-based KEYS index
	keys   []string       // edge hash keys
	items  []string       // item and ghost keys
	args   []any
	nItems int
}

func (c *Cache) newBatch(n int) *batch {
	b := &batch{c: c, edges: make(map[string]int, 4*n), args: make([]any, 2, 2+12*n)}
	b.items = make([]string, 0, 2*n)
	return b
}

// add appends an item's keys and its fixed arguments, then its path.
func (b *batch) add(id string, fixed ...any) {
	b.nItems++
	b.items = append(b.items, b.c.itemKey(id), b.c.ghostKey(id))
	b.args = append(b.args, fixed...)
	path := b.c.cfg.Tree.Path(id)
	b.args = append(b.args, len(path))
	for _, e := range path {
		k := b.c.edgeKey(e.Parent)
		i, ok := b.edges[k]
		if !ok {
			b.keys = append(b.keys, k)
			i = len(b.keys)
			b.edges[k] = i
		}
		b.args = append(b.args, i, e.Child)
	}
}

func (b *batch) call() scriptCall {
	b.args[0], b.args[1] = b.nItems, len(b.keys)
	return scriptCall{keys: append(b.keys, b.items...), args: b.args}
}

// PutMany writes entries that win under last-writer-wins (DESIGN.md §1:
// higher version; equal version, greater SHA-256(payload); identical is a
// no-op) and reports which were applied. Each script call carries
// Config.ChunkSize entries and moves their merkle paths atomically with
// them. On error, applied holds the results of the chunks that completed.
func (c *Cache) PutMany(ctx context.Context, entries []Entry) (applied []bool, err error) {
	for _, e := range entries {
		if err := validWrite(e.ID, e.Version); err != nil {
			return nil, err
		}
	}
	applied = make([]bool, len(entries))
	for start := 0; start < len(entries); start += c.cfg.ChunkSize {
		chunk := entries[start:min(start+c.cfg.ChunkSize, len(entries))]
		b := c.newBatch(len(chunk))
		for _, e := range chunk {
			leaf := merkle.LeafOf(e.ID, e.Version, e.Payload)
			sum := merkle.PayloadSum(e.Payload)
			ttl := int64(0)
			if e.TTL > 0 {
				ttl = int64((e.TTL + time.Second - 1) / time.Second)
			}
			payload := e.Payload
			if e.Durable {
				ttl, payload = -1, nil // the ghost alone: no value in Redis
			}
			b.add(e.ID, strconv.FormatUint(e.Version, 10), payload, e.ContentType, e.State,
				leaf[:], sum[:], ttl)
		}
		res, err := c.evalChunk(ctx, "put", putScript, []scriptCall{b.call()})
		if err != nil {
			return applied, err
		}
		if err := flags(res[0], applied[start:start+len(chunk)]); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// DeleteMany removes items whose stored version is at most the tombstone's
// (a tombstone beats a put of equal version) and subtracts their leaves
// from the tree. It reports which items were removed.
func (c *Cache) DeleteMany(ctx context.Context, tombs []Tombstone) (removed []bool, err error) {
	for _, t := range tombs {
		if err := validWrite(t.ID, t.Version); err != nil {
			return nil, err
		}
	}
	removed = make([]bool, len(tombs))
	for start := 0; start < len(tombs); start += c.cfg.ChunkSize {
		chunk := tombs[start:min(start+c.cfg.ChunkSize, len(tombs))]
		b := c.newBatch(len(chunk))
		for _, t := range chunk {
			b.add(t.ID, strconv.FormatUint(t.Version, 10))
		}
		res, err := c.evalChunk(ctx, "delete", deleteScript, []scriptCall{b.call()})
		if err != nil {
			return removed, err
		}
		if err := flags(res[0], removed[start:start+len(chunk)]); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// flags copies a script's per-item 0/1 results into out.
func flags(v any, out []bool) error {
	vs, ok := v.([]any)
	if !ok || len(vs) != len(out) {
		return fmt.Errorf("rediscache: script returned %T of %d results for %d items", v, len(vs), len(out))
	}
	for i, x := range vs {
		out[i] = x == int64(1)
	}
	return nil
}

type scriptCall struct {
	keys []string
	args []any
}

// evalChunk runs one EVALSHA per call in a single pipeline. Calls that hit
// NOSCRIPT (a fresh or flushed script cache) are retried once after SCRIPT
// LOAD; they were not executed, so the retry cannot apply anything twice.
func (c *Cache) evalChunk(ctx context.Context, op string, s *redis.Script, calls []scriptCall) ([]any, error) {
	out := make([]any, len(calls))
	cmds := make([]*redis.Cmd, len(calls))
	pending := make([]int, len(calls))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; ; attempt++ {
		pipe := c.client.Pipeline()
		for _, i := range pending {
			cmds[i] = s.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command below
		var retry []int
		for _, i := range pending {
			v, err := cmds[i].Result()
			if err != nil {
				if attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
					retry = append(retry, i)
					continue
				}
				return nil, translate(ctx, op, err)
			}
			out[i] = v
		}
		if len(retry) == 0 {
			return out, nil
		}
		if err := s.Load(ctx, c.client).Err(); err != nil {
			return nil, translate(ctx, op+": script load", err)
		}
		pending = retry
	}
}

var itemFields = []string{"version", "payload", "content_type", "state", "leaf"}

// Get reads one item. A missing or expired item is (Entry{}, false, nil).
func (c *Cache) Get(ctx context.Context, id string) (Entry, bool, error) {
	es, err := c.GetMany(ctx, []string{id})
	if err != nil {
		return Entry{}, false, err
	}
	if es[0].ID == "" {
		return Entry{}, false, nil
	}
	return es[0], true, nil
}

// GetMany reads items in chunks of Config.ChunkSize per round trip. The
// result is aligned with ids; a missing item is the zero Entry (empty ID).
func (c *Cache) GetMany(ctx context.Context, ids []string) ([]Entry, error) {
	out := make([]Entry, len(ids))
	cmds := make([]*redis.SliceCmd, 0, min(len(ids), c.cfg.ChunkSize))
	for start := 0; start < len(ids); start += c.cfg.ChunkSize {
		chunk := ids[start:min(start+c.cfg.ChunkSize, len(ids))]
		pipe := c.client.Pipeline()
		cmds = cmds[:0]
		for _, id := range chunk {
			cmds = append(cmds, pipe.HMGet(ctx, c.itemKey(id), itemFields...))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, translate(ctx, "get", err)
		}
		for i, cmd := range cmds {
			e, ok, err := decodeEntry(chunk[i], cmd.Val())
			if err != nil {
				return nil, err
			}
			if ok {
				out[start+i] = e
			}
		}
	}
	return out, nil
}

// decodeEntry turns HMGET values (itemFields order) into an Entry. A hash
// without a version is not an item.
func decodeEntry(id string, v []any) (Entry, bool, error) {
	vs, ok := v[0].(string)
	if !ok {
		return Entry{}, false, nil
	}
	ver, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return Entry{}, false, fmt.Errorf("rediscache: item %s: version %q: %w", id, vs, err)
	}
	e := Entry{ID: id, Version: ver}
	if p, ok := v[1].(string); ok {
		e.Payload = []byte(p)
	}
	e.ContentType, _ = v[2].(string)
	e.State, _ = v[3].(string)
	if l, ok := v[4].(string); ok {
		h, err := merkle.HashFromBytes([]byte(l))
		if err != nil {
			return Entry{}, false, fmt.Errorf("rediscache: item %s: leaf: %w", id, err)
		}
		e.Leaf = h
	} else {
		e.CacheOnly = true
	}
	return e, true, nil
}
