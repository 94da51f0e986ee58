package wal

import (
	"errors"
	"fmt"
	"time"
)

// Config describes the pipeline's JetStream assets. The zero value of a
// field means its default; use DefaultConfig for a filled-in copy.
type Config struct {
	// Prefix is the subject prefix, 1..32 of [A-Za-z0-9_-]. Default "sync".
	Prefix string
	// Partitions is the number of WAL subjects ids are hashed over.
	// Default 16. Changing it re-routes ids; writers do not care (versions,
	// not order, decide), so it is safe but pointless to change often.
	Partitions int
	// Replicas of every stream and bucket. Default 1; use 3 in production.
	Replicas int
	// DuplicateWindow is the WAL's Nats-Msg-Id de-duplication window.
	// Default 2m.
	DuplicateWindow time.Duration
	// MaxBytes bounds the WAL in bytes (DiscardNew: a full WAL refuses
	// writes). Default -1, unlimited.
	MaxBytes int64
	// MaxMsgs bounds the WAL in messages (DiscardNew). Default -1.
	MaxMsgs int64
	// MaxPayload is the largest item payload accepted. Default 1 MiB. The
	// WAL's max message size is MaxPayload plus HeaderAllowance.
	MaxPayload int
	// CommitsMaxAge is how long commit feed records are kept. Default 24h.
	CommitsMaxAge time.Duration
	// DLQMaxAge is how long dead letters are kept. Default 7 days.
	DLQMaxAge time.Duration
	// AckWait is how long a writer may hold a message before redelivery.
	// Default 30s.
	AckWait time.Duration
	// MaxDeliver caps deliveries per message. Default -1 (unlimited): a
	// message that exceeds MaxDeliver is silently skipped by JetStream, which
	// would lose an acknowledged write, so invalid messages are terminated
	// explicitly instead.
	MaxDeliver int
	// MaxAckPending bounds unacknowledged messages across all writers.
	// Default 20000.
	MaxAckPending int
	// BackOff optionally spaces redeliveries after AckWait expiries.
	BackOff []time.Duration
	// LeaseTTL is the TTL of the LEASES bucket's keys. Default 10s.
	LeaseTTL time.Duration
	// PublishMaxPending bounds the publishes in flight of one Publisher.
	// Default 1024.
	PublishMaxPending int
	// PublishTimeout is how long a Publisher waits for a PubAck. Default 5s.
	PublishTimeout time.Duration
	// PublishStallWait is how long a publish waits for a free slot when
	// PublishMaxPending are in flight before it is refused. Default 200ms.
	PublishStallWait time.Duration
	// RetryAfter is the Retry-After advertised when the WAL cannot take a
	// write for a transient reason. Default 1s.
	RetryAfter time.Duration
	// RetryAfterFull is the Retry-After advertised when the WAL is full.
	// Default 5s.
	RetryAfterFull time.Duration
}

// HeaderAllowance is the room left for headers on top of MaxPayload in the
// WAL's max message size: a 1024-byte id plus the other Sync-* headers.
const HeaderAllowance = 4096

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	def(&c.DuplicateWindow, 2*time.Minute)
	if c.MaxBytes == 0 {
		c.MaxBytes = -1
	}
	if c.MaxMsgs == 0 {
		c.MaxMsgs = -1
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 1 << 20
	}
	def(&c.CommitsMaxAge, 24*time.Hour)
	def(&c.DLQMaxAge, 7*24*time.Hour)
	def(&c.AckWait, 30*time.Second)
	if c.MaxDeliver == 0 {
		c.MaxDeliver = -1
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 20000
	}
	def(&c.LeaseTTL, 10*time.Second)
	if c.PublishMaxPending == 0 {
		c.PublishMaxPending = 1024
	}
	def(&c.PublishTimeout, 5*time.Second)
	def(&c.PublishStallWait, 200*time.Millisecond)
	def(&c.RetryAfter, time.Second)
	def(&c.RetryAfterFull, 5*time.Second)
	return c
}

// Validate checks c after applying defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if err := ValidatePrefix(c.Prefix); err != nil {
		errs = append(errs, err)
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		errs = append(errs, fmt.Errorf("wal: partitions %d not in 1..1024", c.Partitions))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("wal: replicas %d not in 1..5", c.Replicas))
	}
	if c.MaxBytes < -1 || c.MaxMsgs < -1 || c.MaxDeliver < -1 {
		errs = append(errs, errors.New("wal: MaxBytes, MaxMsgs and MaxDeliver must be -1 or positive"))
	}
	if c.MaxPayload < 1 || c.MaxPayload > 64<<20 {
		errs = append(errs, fmt.Errorf("wal: max payload %d not in 1..64MiB", c.MaxPayload))
	}
	if c.MaxAckPending < 1 || c.PublishMaxPending < 1 {
		errs = append(errs, errors.New("wal: MaxAckPending and PublishMaxPending must be positive"))
	}
	for _, d := range []time.Duration{c.DuplicateWindow, c.CommitsMaxAge, c.DLQMaxAge, c.AckWait, c.LeaseTTL,
		c.PublishTimeout, c.PublishStallWait, c.RetryAfter, c.RetryAfterFull} {
		if d < 0 {
			errs = append(errs, errors.New("wal: durations must not be negative"))
			break
		}
	}
	for _, d := range c.BackOff {
		if d <= 0 {
			errs = append(errs, errors.New("wal: BackOff entries must be positive"))
			break
		}
	}
	if len(c.BackOff) > 0 && c.MaxDeliver != -1 && c.MaxDeliver <= len(c.BackOff) {
		errs = append(errs, errors.New("wal: MaxDeliver must exceed len(BackOff)"))
	}
	return errors.Join(errs...)
}

// Names returns the names derived from c's prefix and partitions.
func (c Config) Names() Names {
	c = c.WithDefaults()
	return NewNames(c.Prefix, c.Partitions)
}
