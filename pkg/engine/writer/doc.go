// Package writer drains the WAL into SQL: the writer stage of DESIGN.md §2.
//
// # One batch
//
//  1. Fetch up to Config.BatchSize messages / BatchBytes bytes from the
//     shared durable consumer "writers", waiting at most FetchWait.
//  2. Decode and validate each message (wal.Msg.Write). An invalid one is
//     copied to the DLQ with its reason and terminated; the rest go on.
//  3. ApplyBatch the valid writes in one SQL transaction (last-writer-wins,
//     merkle deltas; see package store).
//  4. Acknowledge each message individually, only after the commit (never
//     AckAll: other writers' messages would be acknowledged with ours),
//     then publish one commit feed record (changed ids, versions, leaf or
//     deleted, the new root).
//
// Config.Concurrency loops (default 2) run these steps side by side, each
// with its own batch and SQL connection, so that one batch is decoded and
// written while another waits for its commit.
//
// A *store.RowError rejects one row: with an index, that message is
// dead-lettered (reason sql_rejected) and the rest re-applied; without
// one, the batch is bisected until the culprit is alone. Every
// acknowledgement, NakWithDelay and DLQ copy goes through
// wal.Consumer.Settle, the one home of ack decisions.
//
// # Outages: the circuit breaker
//
//	closed --ErrUnavailable--> open --backoff elapsed--> half-open
//	half-open --commit ok--> closed
//	half-open --ErrUnavailable--> open (backoff doubles, up to BreakerMax)
//
// While the breaker is not closed the writer holds the batch it has
// (nothing is acknowledged that is not committed), fetches nothing more,
// and sends InProgress for every held message every InProgressEvery, so
// that JetStream neither redelivers them to another writer nor counts the
// outage against their deliveries. The half-open probe is the held batch
// itself; once it commits, the writer fetches again at full speed. A
// commit that exceeds CommitTimeout counts as an outage too.
//
// Any other failure of a batch NakWithDelays its messages with a backoff
// growing with their delivery count (RetryMin doubling up to RetryMax);
// at MaxDeliver deliveries a message is dead-lettered (apply_failed).
//
// # Several writers
//
// Any number of writer processes may share the consumer: each message is
// delivered to one of them at a time, LWW makes the order of commits
// irrelevant, and a redelivered message whose write is already committed
// (a writer died between commit and ack) is a no-op.
//
// # Tombstones
//
// Every writer garbage-collects tombstones older than TombstoneRetention
// every GCInterval, in chunks of GCBatch, measured with the injected
// clock (the same clock stamps updated_at in the store).
//
// # Lifecycle
//
// connecting (binding the consumer) -> draining (the WAL has a backlog: the
// last fetch was full) -> running (a fetch returned less than a batch) ->
// shutting_down.
package writer
