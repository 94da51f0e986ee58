// Package groupcommit appends WAL writes to a JetStream stream with group
// commit: concurrent writes are collected into JetStream atomic batches
// (nats-server 2.12+, stream setting AllowAtomicPublish), so that an
// fsync-durable acknowledgement costs one fsync (or one replication round)
// per batch instead of one per write. Each caller still gets its own
// answer: its write's sequence, or its own error.
//
// # Grouping
//
// Publish hands a write to the dispatcher goroutine, which cuts batches:
//
//   - nothing in flight: the queued writes leave at once, except within
//     MaxDelay of the last ack: then they wait until the queue holds the
//     writes expected, those queued at that ack plus those it released
//     (in a closed loop they come back at once), so that they leave as
//     one full batch instead of a small and a large one. A lone writer
//     expects only itself and is never held back;
//   - a batch in flight and a free slot (MaxInFlight > 1): the queue leaves
//     when it holds MaxBatchWrites writes or MaxBatchBytes bytes, or when
//     its oldest write has waited MaxDelay;
//   - every slot busy: the queue grows until an ack frees a slot (classic
//     group commit: the next batch fills while the previous one is being
//     fsynced) and leaves then.
//
// A batch never exceeds MaxBatchWrites (at most the server's max_batch_size,
// 1000) or MaxBatchBytes (a single larger write goes alone). A group
// smaller than MinBatchWrites is published as plain messages, pipelined:
// on an R1 file stream every atomic batch makes the server create, fsync
// and delete a staging store (four fsyncs and some twenty file-system
// metadata operations per batch), which pays off only from about 16 writes
// on (BenchmarkBatchCost, docs/BENCHMARKS.md); on replicated streams the
// staging is in memory.
//
// # Sequences
//
// The batch ack carries the stream, the last sequence L and the count n.
// The server appends an atomic batch as one unit, in the order sent (R1: the
// stream's single ingest goroutine stores the whole batch before the next
// inbound message; replicated: one multi-entry raft proposal), so write i
// (0-based) of the batch has sequence L-n+1+i. TestEachWriteGetsItsOwnSeq
// checks this with plain publishes interleaving: the message at every
// derived sequence is the write that was told so.
//
// Stored messages keep the batch headers the client added:
// Nats-Batch-Id, Nats-Batch-Sequence (1..n) and, on the last,
// Nats-Batch-Commit. Consumers of the WAL must ignore them (and not copy
// them into messages they publish elsewhere); tests use them to prove that
// no batch is stored in part.
//
// # Idempotency keys
//
// nats-server 2.15 accepts Nats-Msg-Id inside an atomic batch, but a
// duplicate id fails the whole batch (JSAtomicPublishContainsDuplicateMessage,
// 10201) without saying which write it was
// (TestServerFailsAWholeAtomicBatchOnADuplicateMsgID pins this). So a
// write carrying Nats-Msg-Id, or any other header JetStream interprets per
// message (Nats-Expected-*, Nats-TTL, ...), is published on its own,
// concurrently with the batches, and gets JetStream's own answer: a
// duplicate is acked with the original's sequence and Ack.Duplicate set.
// A write that fits the server's max_payload only without the batch
// headers is also published alone.
//
// # Failures
//
// Nothing is acknowledged that the stream did not confirm. A failed batch
// is judged by what its failure proves:
//
//   - nothing can have been stored and the same batch may pass shortly (no
//     responders, not leader, too many open batches, "incomplete": a staged
//     message lost, the connection failing before the commit message left):
//     the batch is re-sent with a new batch id, up to Retries times with
//     doubling backoff;
//   - the server refused the batch with an API error, before storing any of
//     it (stream full under DiscardNew, one write over the stream's
//     max_msg_size, atomic publish switched off, or a transient refusal
//     that outlived the retries): the batch is re-published write by write,
//     in order, so that each write gets its own verdict and innocent
//     neighbours are stored. A full stream thus refuses exactly the
//     overflowing writes, with unavailable + Retry-After;
//   - no stream answered even after the retries: every write gets
//     unavailable + Retry-After (not stored);
//   - the commit left and no answer came (timeout, disconnect, server
//     restart, the caller's ctx ending): the write gets unavailable +
//     Retry-After wrapping ErrOutcomeUnknown. Its batch may or may not be
//     stored; it is never stored in part, and this package never re-sends
//     it (that could store it twice).
//
// Error codes are those of pkg/item: payload_too_large (over max_payload or
// max_msg_size), unavailable (with RetryAfterSeconds) and internal (a
// message that cannot belong to the stream, an unexpected refusal).
//
// # Crashes
//
// kill -9 of the publishing process loses only unacknowledged writes: the
// server commits a batch only on its commit message and abandons a staged
// one after max_batch_timeout (10s). If the server itself dies while
// writing a committed batch into an R1 file stream, it completes the batch
// from its staging store on restart (nats-server jetstream.go, "Restoring
// partial batch write"): such a batch is present after the restart even
// though its writers were told ErrOutcomeUnknown.
// TestKillNineWithWritesInTheWindow and
// TestServerRestartInTheMiddleOfBatches exercise both.
//
// # Fallback
//
// ModePerMessage publishes every write with an asynchronous JetStream
// publish. ModeBatch falls back to it, with a warning on the injected
// logger, when the server is older than 2.12 or the stream lacks
// AllowAtomicPublish (checked at Start), and at run time when the server
// refuses atomic publish, answers a commit with a plain ack, or a
// reconnect lands on an older server. The fallback is one-way until the
// Committer is rebuilt.
//
// # Durability
//
// Config.Durability states what an ack is backed by (docs/guarantees.md):
// DurabilityReplicated needs a stream with 3+ replicas (checked at Start);
// DurabilityFsync assumes a server that syncs before every ack, which a
// client cannot verify.
package groupcommit
