package groupcommit

import (
	"errors"
	"fmt"
	"time"
)

// Durability says what the WAL's acknowledgement is backed by. It does not
// change how writes are grouped; it is the operator's statement of the
// deployment, checked against the stream at Start and written down in
// docs/guarantees.md.
type Durability string

const (
	// DurabilityReplicated (production, the default): the stream has at
	// least 3 replicas and the servers fsync lazily (NATS default
	// sync_interval). An ack means a majority of replicas stored the write;
	// it survives the loss of any minority of servers, including a machine
	// that loses its page cache. Start fails on a stream with fewer than 3
	// replicas.
	DurabilityReplicated Durability = "replicated"
	// DurabilityFsync (single node): the server fsyncs before it acks
	// (sync_interval: always, `syncline dev --sync always`). An ack means
	// the write is on that server's disk. The setting cannot be read
	// through a client connection, so Start only logs that it is assumed.
	DurabilityFsync Durability = "fsync"
)

// Mode chooses how writes without an idempotency key reach the stream.
type Mode string

const (
	// ModeBatch (the default) groups concurrent writes into JetStream
	// atomic batches: one fsync / one replication round per batch.
	ModeBatch Mode = "batch"
	// ModePerMessage publishes every write on its own (asynchronous
	// JetStream publish, one ack per write). It is also what ModeBatch
	// falls back to when the server or the stream cannot take atomic
	// batches.
	ModePerMessage Mode = "per_message"
)

// Limits of the server this package stays under.
const (
	// ServerMaxBatchWrites is nats-server's default max_batch_size: the
	// most messages one atomic batch may hold.
	ServerMaxBatchWrites = 1000
)

// Defaults of Config.
const (
	DefaultMaxBatchWrites = 500
	DefaultMaxBatchBytes  = 4 << 20
	DefaultMaxDelay       = time.Millisecond
	DefaultMaxPending     = 8192
	DefaultAckTimeout     = 5 * time.Second
	DefaultRetries        = 2
	DefaultRetryBackoff   = 20 * time.Millisecond
	DefaultRetryAfter     = time.Second

	// Per durability: see Config.MinBatchWrites and Config.MaxInFlight.
	DefaultMinBatchWritesFsync      = 16
	DefaultMinBatchWritesReplicated = 2
	DefaultMaxInFlightFsync         = 1
	DefaultMaxInFlightReplicated    = 4
)

// Config configures a Committer. The zero value of every field except
// Stream means its default.
type Config struct {
	// Stream is the WAL stream the writes go to (e.g. SYNC_WAL). Required.
	Stream string
	// Durability of an ack; default DurabilityReplicated.
	Durability Durability
	// Mode; default ModeBatch.
	Mode Mode
	// MaxBatchWrites bounds the writes in one atomic batch; default 500,
	// at most ServerMaxBatchWrites (the server rejects larger batches; if
	// the server was configured lower, rejected batches are re-published
	// write by write and a warning is logged).
	MaxBatchWrites int
	// MaxBatchBytes bounds a batch's encoded size (headers + payloads);
	// default 4 MiB. A single write larger than this is published alone.
	// Each write must in any case fit the server's max_payload and the
	// stream's max_msg_size, or it is rejected with payload_too_large.
	MaxBatchBytes int
	// MinBatchWrites is the smallest group sent as an atomic batch;
	// smaller groups are published as plain messages, pipelined. An atomic
	// batch has a fixed cost on the server (for an R1 file stream a
	// staging store is created, fsynced and deleted per batch, worth many
	// single-message fsyncs), so small groups are cheaper unbatched.
	// Default: DefaultMinBatchWritesFsync with DurabilityFsync,
	// DefaultMinBatchWritesReplicated with DurabilityReplicated (whose
	// staging is in memory).
	MinBatchWrites int
	// MaxDelay bounds how long a queued write waits for companions;
	// default 1ms. A write waits at all only (a) on an idle Committer
	// right after a larger group was acked, until as many writes as that
	// group had are queued (its writers coming back), or (b) while a group
	// is in flight and another slot is free. A lone writer is never
	// delayed: its group had one write.
	MaxDelay time.Duration
	// MaxInFlight is the number of groups awaiting their ack at once.
	// With 1, a group is cut only when the previous one is acked (classic
	// group commit). Default: 1 with
	// DurabilityFsync (a single server stores one stream's batches one
	// after the other, so a second batch in flight only splits the
	// group), DefaultMaxInFlightReplicated with DurabilityReplicated (raft
	// pipelines proposals).
	MaxInFlight int
	// MaxPending bounds the writes queued for the next batches (Publish
	// blocks, until its ctx ends, beyond it) and the plain publishes
	// awaiting their ack (beyond it Publish fails as unavailable after a
	// short stall). Default 8192.
	MaxPending int
	// AckTimeout bounds the wait for one batch's (or one write's) ack;
	// default 5s. When it expires the outcome is unknown (ErrOutcomeUnknown).
	AckTimeout time.Duration
	// Retries is how often a batch is re-sent after a failure that proves
	// it was not stored (no responders, too many batches in flight,
	// incomplete batch); default 2. Negative means none.
	Retries int
	// RetryBackoff is the wait before the first retry, doubled for each
	// next one; default 20ms.
	RetryBackoff time.Duration
	// RetryAfter is what an unavailable error tells the caller to wait
	// (Retry-After, whole seconds, at least 1); default 1s.
	RetryAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Durability == "" {
		c.Durability = DurabilityReplicated
	}
	if c.Mode == "" {
		c.Mode = ModeBatch
	}
	if c.MaxBatchWrites == 0 {
		c.MaxBatchWrites = DefaultMaxBatchWrites
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.MinBatchWrites == 0 {
		c.MinBatchWrites = DefaultMinBatchWritesReplicated
		if c.Durability == DurabilityFsync {
			c.MinBatchWrites = DefaultMinBatchWritesFsync
		}
		c.MinBatchWrites = min(c.MinBatchWrites, c.MaxBatchWrites)
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlightReplicated
		if c.Durability == DurabilityFsync {
			c.MaxInFlight = DefaultMaxInFlightFsync
		}
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	return c
}

// Validate reports every invalid field. Zero values are valid (they mean
// the defaults).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("groupcommit: "+format, args...))
	}
	if c.Stream == "" {
		bad("stream is required")
	}
	switch c.Durability {
	case "", DurabilityReplicated, DurabilityFsync:
	default:
		bad("durability %q is neither %q nor %q", c.Durability, DurabilityReplicated, DurabilityFsync)
	}
	switch c.Mode {
	case "", ModeBatch, ModePerMessage:
	default:
		bad("mode %q is neither %q nor %q", c.Mode, ModeBatch, ModePerMessage)
	}
	if c.MaxBatchWrites < 0 || c.MaxBatchWrites > ServerMaxBatchWrites {
		bad("max batch writes %d is outside 1..%d", c.MaxBatchWrites, ServerMaxBatchWrites)
	}
	if c.MinBatchWrites < 0 || (c.MaxBatchWrites > 0 && c.MinBatchWrites > c.MaxBatchWrites) {
		bad("min batch writes %d is negative or above max batch writes %d", c.MinBatchWrites, c.MaxBatchWrites)
	}
	if c.MaxBatchBytes < 0 {
		bad("max batch bytes %d is negative", c.MaxBatchBytes)
	}
	if c.MaxDelay < 0 {
		bad("max delay %v is negative", c.MaxDelay)
	}
	if c.MaxInFlight < 0 || c.MaxInFlight > 32 {
		bad("max in flight %d is outside 1..32 (the server allows 50 open batches per stream)", c.MaxInFlight)
	}
	if c.MaxPending < 0 {
		bad("max pending %d is negative", c.MaxPending)
	}
	if c.AckTimeout < 0 {
		bad("ack timeout %v is negative", c.AckTimeout)
	}
	if c.RetryBackoff < 0 {
		bad("retry backoff %v is negative", c.RetryBackoff)
	}
	if c.RetryAfter < 0 {
		bad("retry after %v is negative", c.RetryAfter)
	}
	return errors.Join(errs...)
}
