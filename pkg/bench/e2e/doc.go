// Package e2e is the end-to-end benchmark behind `syncline bench e2e`: in
// one run it measures the pipeline's limits, a naive pipeline, and Syncline
// itself as separate processes, on the same machine and the same kind of
// writes (1 KiB payloads, ids tenant.<t>.orders.<uuid>).
//
// Phases, in order:
//
//  1. Limits, on a private nats-server child process (default sync
//     interval, so JetStream is not fsync-bound), a private PostgreSQL
//     schema and a private Redis prefix: direct asynchronous JetStream
//     publishes into a file-storage stream; raw pgx batched upserts
//     (INSERT ... SELECT FROM unnest, 1000 rows per statement) into a
//     sync_items table; raw pipelined HSETs of the same items.
//  2. Naive pipeline: a JetStream consumer that upserts one row per
//     message, in its own transaction, and acks each message.
//  3. Syncline: a nats-server child process whose fsync setting matches
//     ingest's durability, then reconciler, writer(s) and ingest as child
//     processes built with `go build` (or taken from a directory). A
//     maximal run gives acknowledged puts/s and rows/s reaching SQL; paced
//     runs at fractions of that maximum give freshness, from ack until the
//     write is visible in SQL (its commit record) and in Redis (polled for
//     a sample). CPU seconds (/proc/<pid>/stat) and peak RSS (VmHWM) of
//     every process are read around each run.
//  4. Writer scaling: maximal runs with 1, 2, 3 ... writer processes.
//
// Load generation is pkg/bench's Run, so latencies are measured from each
// write's scheduled time (no coordinated omission).
//
// Every resource is private and removed at the end: the PostgreSQL schemas
// (DROP SCHEMA ... CASCADE), the Redis keys under the run's prefixes (SCAN
// and DEL, never FLUSHALL), the NATS servers' store directories.
package e2e
