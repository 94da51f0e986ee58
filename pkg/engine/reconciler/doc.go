// Package reconciler keeps Redis equal to SQL and publishes the cuckoo
// filter of live ids (DESIGN.md §2-§4). SQL is the truth; Redis and the
// filter are derived, and every path into them is either idempotent or
// version-guarded, so any of them may fail, repeat or race.
//
// # Leadership
//
// One instance leads; the others stand by. The lease is the key
// Config.LeaseKey ("reconciler") in the KV bucket <P>_LEASES, whose TTL is
// the lease period (wal.Config.LeaseTTL, default 10s). An instance
//
//   - stands by (lifecycle ready: healthy, able to take over) and tries to
//     Create the key: at once, whenever a watch shows it deleted (a clean
//     release: takeover within milliseconds), and every period/4 (an expiry
//     is not announced: takeover within period + period/4 of the last
//     renewal);
//   - leads once Create succeeds, renewing every period/3 with Update at
//     the revision it last wrote. A revision mismatch means another holder
//     wrote the key: it steps down at once. Failed renewals for 2/3 of a
//     period make it step down too, before the key can expire and another
//     instance take over;
//   - on clean shutdown publishes a last snapshot and Deletes the key at its
//     own revision; on a crash the key lapses after one period.
//
// Stepping down cancels every loop of the term and waits for them, then
// stands by again.
//
// # Start (each time it becomes leader)
//
// Each phase is logged with its duration, exported in
// syncline_reconciler_start_phase_seconds{phase} and as the stage's
// lifecycle state:
//
//	connect   (connecting) object store <P>_FILTERS, stream <P>_COMMITS,
//	          Redis ping (failure is not fatal)
//	sql_root  (syncing)    read the SQL merkle root R
//	filter    (syncing)    restore the latest snapshot "ids" only if its
//	                       metadata root equals R, else read the feed's last
//	                       sequence S0 and rebuild from a batched SQL scan
//	                       (progress logged); follow the feed from the
//	                       snapshot's sequence + 1, or S0 + 1
//	compare   (warming)    Redis root vs R; if they differ, branch-diff and
//	                       repair only the differing branches (an empty
//	                       Redis is filled by a batched copy instead)
//	          (ready)      then running
//
// # Running
//
// Fast path: the commit feed, followed with an ordered consumer in
// batches. Each record updates the filter, then the changed ids are read
// from SQL (GetMany: the current truth, not the record's version) and
// written to Redis with the guarded scripts (rediscache). Freshness (record
// publication to Redis) is syncline_reconciler_freshness_seconds.
//
// Repair: every RootCheckInterval the roots are compared; if they differ,
// a branch diff (merkle.Diff, at most RepairLimit differences per pass)
// lists the differing ids, the pass waits RepairSettle for changes in
// flight, re-reads the ids on both sides and repairs only those that still
// differ (the others count as vanished). A Redis item at a version SQL
// does not have (newer, or a losing equal-version tie) cannot be
// overwritten by a guarded put; it is deleted at its own version and
// rewritten from SQL (a forced repair). Node reads of the diffs are
// counted per side.
//
// Ordering: tombstones are not in Redis, so the version guard cannot stop
// a stale put from resurrecting a deleted item. The fast path and the
// repair therefore hold one mutex across "read SQL, write Redis", so the
// leader's Redis writes happen in the order of its SQL reads. A deposed
// leader that has not noticed yet can still write; the guard stops it from
// lowering a version, and the next diff removes anything it resurrects.
//
// Deep verify, in the background every DeepVerifyInterval at
// DeepVerifyRate items/s, and on demand: every Redis item's leaf is
// recomputed from its version and payload and compared with the stored
// leaf and SQL's; persistent mismatches are rewritten (a value corrupted
// under an intact leaf is invisible to the trees).
//
// Redis down or slow: commands time out (ErrUnavailable), the reconciler
// keeps running and keeps the filter current, marks itself unsynced
// (syncline_reconciler_redis_available 0, roots_in_sync 0), retries at the
// root-check interval, and repairs by diff when Redis answers.
//
// # Filter
//
// The filter holds every live SQL id. Commit records say what an id became
// (a leaf, or deleted), not whether it was live before, so the exact
// multiset discipline of package cuckoo (insert on becoming live, delete
// only a live id) cannot be followed from the feed: a delete of an id the
// filter does not hold would remove another id's fingerprint. The
// reconciler is insert-only instead: a put inserts the id unless the
// filter already reports it, a delete removes nothing. A live id therefore
// always tests present, in whatever order and how often records are
// applied, and a snapshot never gives a false "absent". Deleted ids stay as
// false positives until the filter is rebuilt from SQL in the background,
// which happens when they exceed RebuildStaleFraction of the entries, when
// the table overflows, or after a feed gap; during a rebuild new changes
// go to both filters. Readers replaying the feed onto a snapshot must
// follow the same insert-only rule.
//
// Trust: the filter is trusted once restored from a snapshot at the SQL
// root or rebuilt, and stays trusted while the feed is followed without
// gaps. A gap (a sequence skipped, or an undecodable record) revokes trust
// until the rebuild. Snapshots are published only while trusted, every
// SnapshotInterval or SnapshotChanges changes and on clean shutdown, to
// object "ids" of <P>_FILTERS with metadata root (the SQL root after the
// last record applied, hex), entries and seq (that record's feed sequence).
//
// # Cache TTL
//
// Items written with Sync-Cache-TTL expire in Redis only; the Redis tree
// keeps counting them through their ghost (package rediscache), so expiry
// never shows as a difference and a repair never re-adds their leaves.
//
// # Admin
//
// While leading it answers <P>.admin.verify and <P>.admin.repair (JSON
// AdminRequest {"prefix","deep"}, reply AdminReply), the requests behind
// `syncline verify` and `syncline repair`; a CLI may also build a Checker
// itself.
package reconciler
