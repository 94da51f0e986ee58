package rediscache

import "github.com/redis/go-redis/v9"

// luaCommon holds the helpers every script shares. Lua 5.1 numbers are
// doubles: lane arithmetic on values below 2^33 is exact, and the floored %
// keeps results in 0..2^32-1. Versions (up to 2^63-1) do not fit a double,
// so they travel and are compared as canonical decimal strings (no leading
// zeros): a longer string is a larger number. Byte strings are compared
// byte by byte, because Lua's < on strings uses strcoll (locale-dependent).
const luaCommon = `
local LANES = '<I4I4I4I4I4I4I4I4'
local M = 4294967296
local function bcmp(a, b)
  if a == b then return 0 end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  if #a < #b then return -1 end
  return 1
end
local function vcmp(a, b)
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  return bcmp(a, b)
end
local function lanes(s)
  if not s or #s ~= 32 then return {0, 0, 0, 0, 0, 0, 0, 0} end
  return {struct.unpack(LANES, s)}
end
-- sub returns a - b lane-wise and whether the result is zero.
local function sub(a, b)
  local r, z = {}, true
  for i = 1, 8 do
    r[i] = (a[i] - b[i]) % M
    if r[i] ~= 0 then z = false end
  end
  return r, z
end
-- addEdge adds lanes d to field f of hash k, deleting it at zero.
local function addEdge(k, f, d)
  local s = lanes(redis.call('HGET', k, f))
  local r, z = {}, true
  for j = 1, 8 do
    r[j] = (s[j] + d[j]) % M
    if r[j] ~= 0 then z = false end
  end
  if z then
    redis.call('HDEL', k, f)
  else
    redis.call('HSET', k, f, struct.pack(LANES, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]))
  end
end
-- acc sums a batch's deltas per edge ("<key index> <field>": ids hold no
-- spaces) so that flush reads and writes each edge once, however many
-- items of the batch share it (the root's edges, a busy parent's).
local acc, order = {}, {}
local function accumulate(d, first, m)
  for j = 0, m - 1 do
    local ki, f = ARGV[first + 2 * j], ARGV[first + 2 * j + 1]
    local id = ki .. ' ' .. f
    local a = acc[id]
    if not a then
      a = {k = KEYS[tonumber(ki)], f = f, l = {0, 0, 0, 0, 0, 0, 0, 0}}
      acc[id] = a
      order[#order + 1] = a
    end
    for l = 1, 8 do a.l[l] = (a.l[l] + d[l]) % M end
  end
end
local function flush()
  for _, a in ipairs(order) do addEdge(a.k, a.f, a.l) end
end
`

// putScript writes a batch of items, each only if it wins under
// last-writer-wins, and moves the batch's merkle paths by (new leaf - old
// leaf), atomically. Items are guarded one after the other, so an id twice
// in a batch ends at the winner.
//
//	ARGV[1] n items, ARGV[2] E edge hashes; KEYS[1..E] the edge hashes,
//	KEYS[E+2i-1], KEYS[E+2i] item i's item and ghost keys; then per item,
//	from ARGV[3]: version (decimal), payload, content_type, state ("" =
//	none), leaf, SHA-256(payload), cache TTL seconds ("0" = none, "-1" =
//	durable: SQL only), path length m, and m pairs (edge hash index into
//	KEYS, child field)
//
// An item hash without a leaf is a cache-only value (route cache, see
// cacheonly.go): the tree does not count it, and what the tree counts for
// the id is in the ghost, if anywhere. A durable item is written as its
// ghost alone. A cache-only value that beats the write under LWW stays
// visible and the write is counted through the ghost.
//
// Returns one 1 (applied) or 0 (the stored item is newer or identical)
// per item.
var putScript = redis.NewScript(luaCommon + `
local n, E = tonumber(ARGV[1]), tonumber(ARGV[2])
local p = 3
local res = {}
for i = 1, n do
  local ik, gk = KEYS[E + 2 * i - 1], KEYS[E + 2 * i]
  local ver, leaf, sum, ttl = ARGV[p], ARGV[p + 4], ARGV[p + 5], tonumber(ARGV[p + 6])
  local m = tonumber(ARGV[p + 7])
  local c = redis.call('HMGET', ik, 'version', 'sum', 'leaf', 'state', 'ttl')
  local over, osum, oleaf, ostate, ottl = c[1], c[2], c[3], c[4], c[5]
  local present, ghost = over or oleaf, ottl
  local cver, csum
  if present and not oleaf then cver, csum = over, osum end
  if not oleaf then
    local g = redis.call('HMGET', gk, 'version', 'sum', 'leaf')
    over, osum, oleaf, ghost = g[1], g[2], g[3], g[1]
  end
  local apply = true
  if over then
    local v = vcmp(ver, over)
    if v < 0 or (v == 0 and bcmp(sum, osum or '') <= 0) then apply = false end
  end
  if apply then
    local keep = false
    if cver then
      local v = vcmp(ver, cver)
      keep = v < 0 or (v == 0 and bcmp(sum, csum or '') <= 0)
    end
    if ttl < 0 or keep then
      if present and not keep then redis.call('DEL', ik) end
      redis.call('HSET', gk, 'version', ver, 'sum', sum, 'leaf', leaf)
    else
      -- A stale state, TTL or cache-only value goes with a DEL; otherwise
      -- HSET overwrites every field.
      if present and (ostate or ottl or cver) then redis.call('DEL', ik) end
      if ARGV[p + 3] ~= '' then
        redis.call('HSET', ik, 'version', ver, 'payload', ARGV[p + 1], 'content_type', ARGV[p + 2],
          'leaf', leaf, 'sum', sum, 'state', ARGV[p + 3])
      else
        redis.call('HSET', ik, 'version', ver, 'payload', ARGV[p + 1], 'content_type', ARGV[p + 2],
          'leaf', leaf, 'sum', sum)
      end
      if ttl > 0 then
        redis.call('HSET', ik, 'ttl', ARGV[p + 6])
        redis.call('EXPIRE', ik, ttl)
        redis.call('HSET', gk, 'version', ver, 'sum', sum, 'leaf', leaf)
      elseif ghost then
        redis.call('DEL', gk)
      end
    end
    local d, z = sub(lanes(leaf), lanes(oleaf))
    if not z then accumulate(d, p + 8, m) end
    res[i] = 1
  else
    res[i] = 0
  end
  p = p + 8 + 2 * m
end
flush()
return res
`)

// deleteScript removes a batch of items, each if the tombstone's version is
// at least the stored one (a tombstone beats a put of equal version), and
// subtracts their leaves from their paths, atomically. A cache-only value
// (an item hash without a leaf) is removed too when the tombstone's version
// is at least its own.
//
//	ARGV[1] n, ARGV[2] E, KEYS as putScript; per item from ARGV[3]: the
//	tombstone version, path length m, m pairs (edge index, child field)
//
// Returns one 1 (removed from the tree) or 0 per item.
var deleteScript = redis.NewScript(luaCommon + `
local n, E = tonumber(ARGV[1]), tonumber(ARGV[2])
local p = 3
local res = {}
for i = 1, n do
  local ik, gk = KEYS[E + 2 * i - 1], KEYS[E + 2 * i]
  local m = tonumber(ARGV[p + 1])
  local c = redis.call('HMGET', ik, 'version', 'leaf')
  local over, oleaf = c[1], c[2]
  local cver
  if over and not oleaf then cver = over end
  if not oleaf then
    local g = redis.call('HMGET', gk, 'version', 'leaf')
    over, oleaf = g[1], g[2]
  end
  res[i] = 0
  local cacheStays = cver and vcmp(ARGV[p], cver) < 0
  if cver and not cacheStays then redis.call('DEL', ik) end
  if (over or oleaf) and not (over and vcmp(ARGV[p], over) < 0) then
    if cacheStays then redis.call('DEL', gk) else redis.call('DEL', ik, gk) end
    local d, z = sub({0, 0, 0, 0, 0, 0, 0, 0}, lanes(oleaf))
    if not z then accumulate(d, p + 2, m) end
    res[i] = 1
  end
  p = p + 2 + 2 * m
end
flush()
return res
`)

// applyScript is merkle.Store.Apply: raw edge deltas and leaves, used by the
// conformance suite and tools, never by the item path.
//
//	ARGV[1] n edges; KEYS[1..n] edge hashes, ARGV[2..n+1] child fields,
//	ARGV[n+2..2n+1] deltas; KEYS[n+1..] item keys, ARGV[2n+2..] leaves
//	("" clears the leaf)
var applyScript = redis.NewScript(luaCommon + `
local n = tonumber(ARGV[1])
for i = 1, n do
  addEdge(KEYS[i], ARGV[i + 1], lanes(ARGV[n + 1 + i]))
end
for j = n + 1, #KEYS do
  local l = ARGV[n + 1 + j]
  if l == '' then
    redis.call('HDEL', KEYS[j], 'leaf')
  else
    redis.call('HSET', KEYS[j], 'leaf', l)
  end
end
return 1
`)
