// Package readpath answers ingest's reads (sync.get, sync.exists) from the
// tiers of DESIGN.md §2: L1, this process's bounded cache; the filter, a
// copy of the reconciler's cuckoo filter that proves absence; L2, Redis;
// L3, SQL, the truth. Reader implements ingest.Reader; Module provides it.
//
// # Order of a read
//
//	get(id, minSeq)
//	  L1 entry           -> l1     (minSeq > 0: only if it covers minSeq)
//	  filter "absent"    -> 404    (minSeq = 0, filter usable, no live watermark)
//	  Redis copy         -> l2     (minSeq = 0, not older than the watermark)
//	  SQL                -> l3, or 404 (tombstoned or absent); fills L1 and Redis
//
// Exists is the same with minSeq 0. A Redis failure (error, timeout,
// RedisTimeout) falls through to SQL and is counted; after one, reads skip
// Redis for a backoff (RedisBackoffMin doubling to RedisBackoffMax) so a
// Redis that is down costs one timeout per period, not one per read. An
// error reaches the caller only when SQL cannot answer (503).
//
// # L1
//
// A cache per process, sharded (L1Shards), each shard a golang-lru
// simplelru under its own mutex with a byte budget: an entry costs its
// payload, id and state plus EntryOverhead, and inserting evicts the least
// recently used entries until the shard is under L1MaxBytes/L1Shards
// (and L1MaxEntries/L1Shards). Items over L1MaxItemBytes are not cached.
// Payloads are shared with callers, never copied.
//
// L1 follows the commit feed (wal.FollowCommits, an ordered consumer) from
// the feed's end at start. For every change it keeps the id's watermark,
// the newest committed (version, leaf | deleted) it has seen, in a second
// LRU per shard bounded by Watermarks and evicted in commit order; it
// drops an entry that the change makes stale. Comparison is
// last-writer-wins: a higher version is newer; at equal versions a
// tombstone beats a put and a put is "the same" only with the same leaf;
// two different puts committed at one version leave the watermark
// ambiguous, and then only a higher version counts as newer.
//
// The invariant: L1 never serves, and never takes in, a version older than
// one this process has seen committed. Serving is covered by dropping
// entries as changes arrive. Taking in is where the race is: a read of
// SQL or Redis can return v1 while the feed delivers v2. So a fill takes a
// token before reading the lower tier and is inserted, under the shard
// lock, only if
//
//   - the id's watermark, if any, is covered by the value read;
//   - for an SQL read without a watermark: no watermark of the shard was
//     forgotten (evicted) whose record came after the token (that id may
//     be this one, and the read may predate its commit). A record applied
//     before the token was committed to SQL before the read began, so the
//     read includes it;
//   - for a Redis read without a watermark: no watermark of the shard was
//     forgotten within RedisGrace (Redis, written by the reconciler, may
//     not have caught up with a commit that recent; past the grace it is
//     assumed to have);
//   - L1 was enabled at the token and nothing purged it since (gen);
//   - for a Redis read: RedisGrace has passed since commits may last have
//     gone unseen (the follower started or resumed, or skipped records).
//     A Redis copy older than such a commit would otherwise stay in L1
//     with no record left to invalidate it.
//
// Forgetting is therefore conservative: it costs fills, never freshness.
// With Watermarks larger than the commits of RedisGrace it costs nothing.
// The same watermark check guards serving Redis copies (l2_stale counts
// both copies known older and, in a shard that forgot a watermark within
// RedisGrace, copies that might be).
//
// L1 is off (lookups miss, nothing is inserted) until its follower runs,
// and while it lags: every LagCheckInterval the feed's last sequence is
// read, and a follower that has not applied what the previous check saw
// is lagging; L1 is purged and comes back once it catches up. A feed gap
// (records expired, or undecodable) purges L1, which goes on from the next
// record; watermarks are kept (they are lower bounds).
//
// # Read-your-writes (minSeq > 0)
//
// Ingest calls Get with minSeq only after the writers' ack floor reached
// it, so SQL includes the write at minSeq. The rule for the other tiers:
// a tier answers only if it is known to include every WAL write up to
// minSeq.
//
//   - L1: each entry records covers, a WAL sequence up to which it is
//     complete: the ack floor known before its SQL read (the largest
//     minSeq any Get was called with until then, or the read's own
//     minSeq). An entry serves minSeq iff covers >= minSeq. Entries filled
//     from Redis cover 0.
//   - Redis: skipped (l2_min_seq). Redis items carry no WAL sequence, and
//     the reconciler writes them asynchronously.
//   - The filter: skipped; it cannot say which WAL writes it includes.
//
// Why not "serve an entry whose item seq >= minSeq": with explicit
// versions, two writers can commit out of WAL order. Write A (seq 10,
// version 5) and write B (seq 11, version 3) of one id: B commits first,
// the row is (v3, seq 11) and is cached; A commits next and wins. A get
// with Sync-After-Seq 10 would be served v3 by that rule although the
// write at 10 is v5 and committed. covers avoids it: an entry read before
// A committed covers at most 9.
//
// # Filter
//
// The loader reads the latest object "ids" of <P>_FILTERS (cuckoo.Decode;
// metadata root, entries, seq parsed with reconciler.ParseSnapshotMeta),
// checks that the commit feed still holds every record after seq (else it
// is untrusted: "its records are gone"), and replays the feed from seq+1
// with wal.FollowCommits onto it, each record through cuckoo.Trust.Apply.
// The filter is believed only while:
//
//   - no gap occurred (OnGap, or a record out of sequence, revokes it for
//     good; the loader then loads the latest snapshot again with backoff,
//     at once when the object store watch announces a new one, polling
//     every FilterPoll as well);
//   - the replay has reached the feed's last sequence seen at load, and,
//     afterwards, what the lag check saw one interval ago.
//
// A newly loaded filter replaces the active one only once caught up, so a
// usable filter keeps serving meanwhile.
//
// Never a false "absent": records say what an id became, not whether it
// was live before, so the multiset discipline of package cuckoo (delete
// only an id that is in the filter) cannot be followed from the feed: a
// delete of an id never inserted would remove another id's fingerprint.
// The filter copy is therefore insert-only, like the reconciler's: a put
// inserts the id unless the filter already reports it; a delete removes
// nothing and is counted (syncline_ingest_filter_stale_deletes_total).
// Deleted ids stay false positives (a read then goes to storage and gets
// 404 there) until a newer snapshot replaces the filter: that happens when
// the unapplied deletes exceed FilterReloadStale of the entries and the
// reconciler has published one newer than the loaded one. In addition, an
// id whose L1 watermark says live is never ruled out by the filter (its
// follower may be a few records behind L1's).
//
// This relies on every SQL commit reaching the feed, as DESIGN.md states
// for trusted snapshots. A commit whose record was never published (a
// writer that crashed between commit and publish, or whose publish
// failed) is missing from every filter fed since, without a gap in the
// feed's sequence, until the reconciler rebuilds its filter from SQL. That
// is the writer's to close (publish before acknowledging, and again for a
// redelivered write that turns out already committed); the reader cannot
// detect it.
//
// # Redis fills
//
// An SQL hit is written back to Redis in the background (FillWorkers
// goroutines, batches of FillBatch, a queue of FillQueue that drops when
// full) with rediscache's version-guarded PutMany and the item's cache
// TTL minus the time since it was written (an item past its TTL is not
// filled: Redis drops it by design). The guard protects newer values; but
// tombstones are not in Redis, so a fill computed from an SQL read that a
// delete overtook would resurrect the item until the reconciler's next
// diff. Two checks close that window: the filler remembers the id before
// PutMany (RecentFills ids) and, after it, looks at the watermark and
// deletes the copy (guarded, at the tombstone's version) if a delete at or
// above the filled version arrived; the L1 follower, after recording a
// delete in the watermark, deletes a copy this process filled at or below
// it. Each side writes its own record before reading the other's, under
// mutexes, so at least one of them sees the other.
//
// # Metrics
//
//	syncline_read_requests_total{op,source}   op get|exists; source l1|l2|l3|filter|miss
//	syncline_read_fallthrough_total{reason}   see the reason constants in metrics.go
//	syncline_l1_bytes, syncline_l1_entries
//	syncline_read_l1_invalidations_total
//	syncline_read_redis_fills_total{result}
//	syncline_read_feed_gaps_total{follower}   l1|filter
//	syncline_ingest_filter_trusted            (not syncline_filter_trusted: the
//	syncline_ingest_filter_entries             reconciler's, in the same registry
//	syncline_ingest_filter_stale_deletes_total in `syncline dev`)
//	syncline_ingest_filter_loads_total{result}
package readpath
