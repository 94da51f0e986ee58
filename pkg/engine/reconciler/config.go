package reconciler

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config tunes the reconciler. The zero value of a field means its default.
type Config struct {
	// Instance names this process in the lease. Default host-pid.
	Instance string
	// LeaseKey is the key of the lease in the LEASES bucket. Default
	// "reconciler". The lease period is the bucket's TTL.
	LeaseKey string
	// RootCheckInterval spaces the running root comparisons. Default 5s.
	RootCheckInterval time.Duration
	// RepairSettle is how long a running pass waits between the branch diff
	// and the re-read before repairing, so that changes in flight on the
	// fast path land first. Default 250ms; 0 in tests via NoSettle.
	RepairSettle time.Duration
	// NoSettle disables RepairSettle (tests).
	NoSettle bool
	// RepairLimit caps the differences one pass repairs; a pass that hits
	// it is followed at once by another. Default 10000.
	RepairLimit int
	// SnapshotInterval and SnapshotChanges trigger a filter snapshot,
	// whichever comes first; one is also taken on clean shutdown. Defaults
	// 60s and 100000.
	SnapshotInterval time.Duration
	SnapshotChanges  int
	// DeepVerifyInterval spaces background deep verify passes (0 = default
	// 1h, negative = off). DeepVerifyRate bounds them in items per second
	// (default 5000).
	DeepVerifyInterval time.Duration
	DeepVerifyRate     int
	// ScanBatch is the page size of SQL scans (filter rebuild, bulk copy).
	// Default 5000.
	ScanBatch int
	// FeedBatch bounds the commit-feed records applied per Redis round trip
	// group. Default 64.
	FeedBatch int
	// BackoffMin and BackoffMax bound the retry delays while SQL, Redis or
	// NATS fail. Defaults 100ms and 10s.
	BackoffMin, BackoffMax time.Duration
	// OpTimeout bounds each Redis or SQL call of the loops. Default 10s.
	OpTimeout time.Duration
	// RebuildStaleFraction: the filter is rebuilt from SQL in the
	// background once ids deleted since the last build exceed this fraction
	// of its entries (deletes are never removed from the filter, see
	// doc.go). Default 0.25.
	RebuildStaleFraction float64
	// MaxReportedDifferences bounds the ids a Report lists. Default 100.
	MaxReportedDifferences int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	defInt := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = host + "-" + strconv.Itoa(os.Getpid())
	}
	if c.LeaseKey == "" {
		c.LeaseKey = "reconciler"
	}
	def(&c.RootCheckInterval, 5*time.Second)
	def(&c.RepairSettle, 250*time.Millisecond)
	if c.NoSettle {
		c.RepairSettle = 0
	}
	defInt(&c.RepairLimit, 10000)
	def(&c.SnapshotInterval, time.Minute)
	defInt(&c.SnapshotChanges, 100000)
	def(&c.DeepVerifyInterval, time.Hour)
	defInt(&c.DeepVerifyRate, 5000)
	defInt(&c.ScanBatch, 5000)
	defInt(&c.FeedBatch, 64)
	def(&c.BackoffMin, 100*time.Millisecond)
	def(&c.BackoffMax, 10*time.Second)
	def(&c.OpTimeout, 10*time.Second)
	if c.RebuildStaleFraction == 0 {
		c.RebuildStaleFraction = 0.25
	}
	defInt(&c.MaxReportedDifferences, 100)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks c after applying defaults.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.RootCheckInterval < 0 || c.RepairSettle < 0 || c.SnapshotInterval < 0 || c.OpTimeout < 0 {
		errs = append(errs, errors.New("reconciler: intervals must not be negative"))
	}
	if c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin {
		errs = append(errs, fmt.Errorf("reconciler: backoff %s..%s", c.BackoffMin, c.BackoffMax))
	}
	for name, v := range map[string]int{"RepairLimit": c.RepairLimit, "SnapshotChanges": c.SnapshotChanges,
		"DeepVerifyRate": c.DeepVerifyRate, "ScanBatch": c.ScanBatch, "FeedBatch": c.FeedBatch,
		"MaxReportedDifferences": c.MaxReportedDifferences} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("reconciler: %s %d must be positive", name, v))
		}
	}
	if c.RebuildStaleFraction <= 0 {
		errs = append(errs, errors.New("reconciler: RebuildStaleFraction must be positive"))
	}
	return errors.Join(errs...)
}
