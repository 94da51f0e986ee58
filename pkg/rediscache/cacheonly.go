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

// Cache-only values (route cache, docs/query.md) are written by ingest
// straight into Redis: no WAL, no SQL, and not counted by the merkle tree.
// One lives at the item key like any item, with the fields version,
// payload, content_type, state (if any), sum and route ("cache"), but
// without leaf, and always with an EXPIRE. The missing leaf is what marks
// it: the tree scripts then take the id's stamp from its ghost.
//
// When a cache-only write replaces an item the tree counts, the item's
// stamp (version, sum, leaf) moves to the ghost first, so the tree keeps
// counting it; reads see the cache-only value until it expires or a
// write through the pipeline beats it under last-writer-wins.

// CacheOnlyResult is the outcome of a cache-only write or delete.
type CacheOnlyResult struct {
	// Applied reports that the write (or delete) took effect.
	Applied bool
	// Version is the version written, or the stored version that refused
	// the write (0 when nothing was stored).
	Version uint64
}

// cacheOnlyPutScript writes one cache-only value if it wins under
// last-writer-wins against the value Redis shows for the id.
//
//	KEYS[1] item key, KEYS[2] ghost key
//	ARGV[1] version ("" = the stored value's version + 1, or 1), ARGV[2]
//	payload, ARGV[3] content_type, ARGV[4] state ("" = none), ARGV[5]
//	SHA-256(payload), ARGV[6] TTL seconds (> 0)
//
// Returns {1, version} when applied, {0, stored version} when refused.
var cacheOnlyPutScript = redis.NewScript(luaCommon + `
local function incr(s)
  local b = {string.byte(s, 1, -1)}
  local i = #b
  while i >= 1 do
    if b[i] == 57 then
      b[i] = 48
      i = i - 1
    else
      b[i] = b[i] + 1
      return string.char(unpack(b))
    end
  end
  return '1' .. string.char(unpack(b))
end
local c = redis.call('HMGET', KEYS[1], 'version', 'sum', 'leaf')
local over, osum, oleaf = c[1], c[2], c[3]
local ver = ARGV[1]
if ver == '' then
  if over then
    ver = incr(over)
    if vcmp(ver, '9223372036854775807') > 0 then return {0, over} end
  else
    ver = '1'
  end
elseif over then
  local v = vcmp(ver, over)
  if v < 0 or (v == 0 and bcmp(ARGV[5], osum or '') <= 0) then return {0, over} end
end
if oleaf then
  redis.call('HSET', KEYS[2], 'version', over, 'sum', osum, 'leaf', oleaf)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', ver, 'payload', ARGV[2], 'content_type', ARGV[3],
  'sum', ARGV[5], 'route', 'cache')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'state', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return {1, ver}
`)

// cacheOnlyDeleteScript removes one cache-only value whose version is at
// most ARGV[1] ("" = any). Items the tree counts are never touched.
//
// Returns {1, removed version}, or {0, stored version or ""}.
var cacheOnlyDeleteScript = redis.NewScript(luaCommon + `
local c = redis.call('HMGET', KEYS[1], 'version', 'leaf')
if not c[1] or c[2] then return {0, c[1] or ''} end
if ARGV[1] ~= '' and vcmp(ARGV[1], c[1]) < 0 then return {0, c[1]} end
redis.call('DEL', KEYS[1])
return {1, c[1]}
`)

// PutCacheOnly writes e as a cache-only value (route cache): at the item
// key, without tree deltas, expiring after e.TTL (required, rounded up to
// whole seconds). e.Version 0 takes the stored value's version + 1 (1 when
// there is none), so an unversioned cache-only write always applies;
// otherwise the write applies only if it wins under last-writer-wins
// against the value Redis shows for the id.
func (c *Cache) PutCacheOnly(ctx context.Context, e Entry) (CacheOnlyResult, error) {
	if err := item.ValidateID(e.ID); err != nil {
		return CacheOnlyResult{}, fmt.Errorf("rediscache: %w", err)
	}
	ver := ""
	if e.Version != 0 {
		if err := item.ValidateVersion(e.Version); err != nil {
			return CacheOnlyResult{}, fmt.Errorf("rediscache: %s: %w", e.ID, err)
		}
		ver = strconv.FormatUint(e.Version, 10)
	}
	if e.TTL <= 0 {
		return CacheOnlyResult{}, fmt.Errorf("rediscache: %s: a cache-only value needs a TTL", e.ID)
	}
	ttl := int64((e.TTL + time.Second - 1) / time.Second)
	sum := merkle.PayloadSum(e.Payload)
	call := scriptCall{
		keys: []string{c.itemKey(e.ID), c.ghostKey(e.ID)},
		args: []any{ver, e.Payload, e.ContentType, e.State, sum[:], ttl},
	}
	res, err := c.evalChunk(ctx, "put cache-only", cacheOnlyPutScript, []scriptCall{call})
	if err != nil {
		return CacheOnlyResult{}, err
	}
	return cacheOnlyResult(res[0])
}

// DeleteCacheOnly removes the cache-only value of id if its version is at
// most version (0: whatever its version). An item the tree counts is left
// alone (Applied false).
func (c *Cache) DeleteCacheOnly(ctx context.Context, id string, version uint64) (CacheOnlyResult, error) {
	if err := item.ValidateID(id); err != nil {
		return CacheOnlyResult{}, fmt.Errorf("rediscache: %w", err)
	}
	ver := ""
	if version != 0 {
		ver = strconv.FormatUint(version, 10)
	}
	call := scriptCall{keys: []string{c.itemKey(id)}, args: []any{ver}}
	res, err := c.evalChunk(ctx, "delete cache-only", cacheOnlyDeleteScript, []scriptCall{call})
	if err != nil {
		return CacheOnlyResult{}, err
	}
	return cacheOnlyResult(res[0])
}

func cacheOnlyResult(v any) (CacheOnlyResult, error) {
	vs, ok := v.([]any)
	if !ok || len(vs) != 2 {
		return CacheOnlyResult{}, fmt.Errorf("rediscache: cache-only script returned %T", v)
	}
	r := CacheOnlyResult{Applied: vs[0] == int64(1)}
	if s, _ := vs[1].(string); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return CacheOnlyResult{}, fmt.Errorf("rediscache: cache-only script version %q: %w", s, err)
		}
		r.Version = n
	}
	return r, nil
}
