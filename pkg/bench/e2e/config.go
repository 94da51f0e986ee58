package e2e

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Durabilities ingest can run with (docs/guarantees.md); "auto" is fsync
// here, since the bench runs one server.
var durabilities = []string{"fsync", "lazy"}

// Config describes one run. Zero fields take the documented defaults.
type Config struct {
	// N is the writes of the maximal run, of each scaling run and of each
	// limit. Default 100000.
	N int
	// Concurrency is the puts (and the limits' publishes) in flight.
	// Default 256.
	Concurrency int
	// PayloadSize is the payload size in bytes. Default 1024.
	PayloadSize int
	// Tenants spreads ids as tenant.<t>.orders.<uuid>. Default 10.
	Tenants int
	// Levels are the offered loads of the paced runs, as fractions of the
	// maximal run's rate. Default 0.25, 0.5, 0.7, 0.9.
	Levels []float64
	// LevelDuration is how long each paced run offers load. Default 30s.
	LevelDuration time.Duration
	// Writers is the number of writer processes of the maximal and paced
	// runs. Default 1.
	Writers int
	// ScaleWriters are the writer counts of the scaling runs; a count
	// equal to Writers reuses the maximal run. Default 1, 2, 3; set
	// NoScaling to skip them.
	ScaleWriters []int
	NoScaling    bool
	// NaiveN bounds the naive pipeline's messages, NaiveBudget its time.
	// Defaults 20000 and 15s.
	NaiveN      int
	NaiveBudget time.Duration
	// Warmup is the number of unmeasured puts before the maximal run.
	// Default N/20.
	Warmup int
	// Durability is ingest's: fsync (the server syncs before every ack,
	// ingest commits in groups; what auto means on one server) or lazy
	// (the server syncs every 2 minutes). Default fsync.
	Durability string
	// PostgresURL is the server whose private schemas are used; RedisURL
	// the Redis whose private key prefixes are used. Defaults
	// postgres://postgres@127.0.0.1:5432/test?sslmode=disable and
	// redis://127.0.0.1:6379/0.
	PostgresURL string
	RedisURL    string
	// BinDir holds prebuilt ingest, writer, reconciler and nats-server
	// binaries; empty builds them with `go build` into a temp dir.
	BinDir string
	// ProfileDir, when set, receives CPU profiles of every process
	// (<phase>-<process>.pprof) taken during the maximal run and the 50%
	// run, ProfileSeconds long (default 10).
	ProfileDir     string
	ProfileSeconds int
	// Keep keeps the temp dir (binaries, server stores, stage logs).
	Keep bool
	// Log receives progress lines; Progress, progress bars. Nil for none.
	Log      io.Writer
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if c.N == 0 {
		c.N = 100000
	}
	if c.Concurrency == 0 {
		c.Concurrency = 256
	}
	if c.PayloadSize == 0 {
		c.PayloadSize = 1024
	}
	if c.Tenants == 0 {
		c.Tenants = 10
	}
	if c.Levels == nil {
		c.Levels = []float64{0.25, 0.5, 0.7, 0.9}
	}
	if c.LevelDuration == 0 {
		c.LevelDuration = 30 * time.Second
	}
	if c.Writers == 0 {
		c.Writers = 1
	}
	if c.ScaleWriters == nil && !c.NoScaling {
		c.ScaleWriters = []int{1, 2, 3}
	}
	if c.NoScaling {
		c.ScaleWriters = nil
	}
	if c.NaiveN == 0 {
		c.NaiveN = 20000
	}
	if c.NaiveBudget == 0 {
		c.NaiveBudget = 15 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = c.N / 20
	}
	if c.Durability == "" || c.Durability == "auto" {
		c.Durability = "fsync"
	}
	if c.PostgresURL == "" {
		c.PostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	if c.RedisURL == "" {
		c.RedisURL = "redis://127.0.0.1:6379/0"
	}
	if c.ProfileSeconds == 0 {
		c.ProfileSeconds = 10
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// Validate checks the config after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.N < 1 || c.Concurrency < 1 || c.PayloadSize < 1 || c.Tenants < 1 || c.Writers < 1 ||
		c.NaiveN < 1 || c.Warmup < 0 || c.LevelDuration < 0 || c.NaiveBudget < 0 || c.ProfileSeconds < 1 {
		return errors.New("e2e: n, concurrency, size, tenants, writers, naive-n and profile seconds must be positive")
	}
	for _, f := range c.Levels {
		if f <= 0 || f > 2 {
			return fmt.Errorf("e2e: load level %g is not a fraction in (0, 2]", f)
		}
	}
	for _, k := range c.ScaleWriters {
		if k < 1 || k > 16 {
			return fmt.Errorf("e2e: scaling writer count %d is not in 1..16", k)
		}
	}
	if !slices.Contains(durabilities, c.Durability) {
		return fmt.Errorf("e2e: durability %q is not auto, fsync or lazy (one server: replicated needs 3)", c.Durability)
	}
	return nil
}
