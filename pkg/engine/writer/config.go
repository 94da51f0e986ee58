package writer

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Config tunes a writer. Zero fields take the documented defaults.
type Config struct {
	// Name identifies the writer in commit records. Default host-pid.
	Name string
	// BatchSize is the most messages fetched and committed at once.
	// Default 1000.
	BatchSize int
	// BatchBytes is the most payload bytes fetched at once. Default 16 MiB.
	BatchBytes int
	// Concurrency is the number of batches in flight, each fetched and
	// committed by its own loop on its own connection: while one batch
	// waits for its commit (fsync), the next is decoded and written.
	// Default 2.
	Concurrency int
	// FetchWait is how long a fetch waits for a batch to fill: the group
	// commit window at low load. Default 50ms.
	FetchWait time.Duration
	// CommitTimeout bounds one ApplyBatch; exceeding it counts as an
	// outage. Default 30s.
	CommitTimeout time.Duration
	// InProgressEvery is how often held messages are extended; keep it well
	// under the consumer's AckWait. Default 5s.
	InProgressEvery time.Duration
	// BreakerMin and BreakerMax bound the circuit breaker's backoff.
	// Defaults 100ms and 10s.
	BreakerMin, BreakerMax time.Duration
	// RetryMin and RetryMax bound the NakWithDelay backoff of failures that
	// are not outages. Defaults 1s and 1m.
	RetryMin, RetryMax time.Duration
	// MaxDeliver is how many deliveries a failing message gets before it is
	// dead-lettered. Default 5.
	MaxDeliver int
	// TombstoneRetention is how long tombstones are kept. Default 24h.
	TombstoneRetention time.Duration
	// GCInterval is how often tombstones are collected. Default 1m.
	GCInterval time.Duration
	// GCBatch is the most tombstones deleted per statement. Default 5000.
	GCBatch int
	// PendingInterval is how often syncline_wal_pending is refreshed from
	// the consumer's info. Default 5s.
	PendingInterval time.Duration
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.Name == "" {
		host, _ := os.Hostname()
		c.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 16 << 20
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	def(&c.FetchWait, 50*time.Millisecond)
	def(&c.CommitTimeout, 30*time.Second)
	def(&c.InProgressEvery, 5*time.Second)
	def(&c.BreakerMin, 100*time.Millisecond)
	def(&c.BreakerMax, 10*time.Second)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, time.Minute)
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	def(&c.TombstoneRetention, 24*time.Hour)
	def(&c.GCInterval, time.Minute)
	if c.GCBatch == 0 {
		c.GCBatch = 5000
	}
	def(&c.PendingInterval, 5*time.Second)
	return c
}

// Validate checks c after defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		errs = append(errs, fmt.Errorf("writer: batch size %d not in 1..100000", c.BatchSize))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("writer: concurrency %d not in 1..64", c.Concurrency))
	}
	if c.BatchBytes < 1 {
		errs = append(errs, errors.New("writer: batch bytes must be positive"))
	}
	if c.MaxDeliver < 1 || c.GCBatch < 1 {
		errs = append(errs, errors.New("writer: MaxDeliver and GCBatch must be positive"))
	}
	for _, d := range []time.Duration{c.FetchWait, c.CommitTimeout, c.InProgressEvery, c.BreakerMin,
		c.BreakerMax, c.RetryMin, c.RetryMax, c.TombstoneRetention, c.GCInterval, c.PendingInterval} {
		if d <= 0 {
			errs = append(errs, errors.New("writer: durations must be positive"))
			break
		}
	}
	if c.BreakerMin > c.BreakerMax || c.RetryMin > c.RetryMax {
		errs = append(errs, errors.New("writer: a backoff minimum exceeds its maximum"))
	}
	return errors.Join(errs...)
}
