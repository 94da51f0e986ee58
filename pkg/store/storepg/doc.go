// Package storepg is the PostgreSQL store.Backend (pgx/v5, pgxpool).
//
// # Connection
//
// Open takes a postgres:// URL. Its search_path query parameter, like any
// parameter pgx does not know, is sent as a runtime parameter in every
// pooled connection's startup message, so two pipelines share a database
// in two schemas. Migrations (embedded goose files) run at Open under a
// blocking session advisory lock keyed by the schema, so writers starting
// together migrate once.
//
// # ApplyBatch
//
// One READ COMMITTED transaction, four round trips:
//
//  1. BEGIN; SELECT the batch's existing rows ORDER BY id FOR UPDATE.
//  2. (Go) last-writer-wins per id against the locked rows; merkle deltas
//     from the stored leaves (merkle.Config.Deltas).
//  3. Pipelined: INSERT the ids that were absent (unnest arrays, ON
//     CONFLICT DO NOTHING), UPDATE the existing winners (unnest arrays,
//     guarded by the LWW predicate), add the edge deltas (unnest, ON
//     CONFLICT DO UPDATE with lane arithmetic mod 2^32, in (parent, child)
//     order, returning the edges that became zero), read the root edges.
//  4. DELETE the zero edges (only when there are any); COMMIT.
//
// Lock order: item rows by id, then edge rows by (parent, child); every
// writer takes them in that order. Rows absent at step 1 are not locked: if
// a concurrent transaction inserts one of them first, the INSERT's row count
// comes up short, the transaction rolls back and the batch is retried (the
// retry locks the row). Deadlocks and serialization failures are retried
// too, up to 8 attempts, before ApplyBatch returns store.ErrUnavailable.
//
// The item statements use unnest over column arrays: measured against COPY
// into a temp table followed by INSERT ... SELECT, and against a pipelined
// pgx.Batch of one statement per row (docs/BENCHMARKS.md, "Writer / SQL"),
// unnest and COPY were within noise of each other and the per-row batch
// was slowest; unnest needs no temp table and no extra round trip.
//
// # Errors
//
// Driver errors are translated here and nowhere else (see translate):
// unreachable server, broken connections, timeouts, SQLSTATE classes 08, 40,
// 53, 57, 58 and 55P03 become store.ErrUnavailable; classes 22, 23 and 54
// become *store.RowError with Index -1 (the writer bisects); pgx.ErrNoRows
// becomes store.ErrNotFound.
package storepg
