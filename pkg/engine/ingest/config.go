package ingest

import (
	"errors"
	"time"
)

// Config configures the ingest service. Zero fields take the defaults
// documented here.
type Config struct {
	// Version is the micro service version. Default "0.1.0".
	Version string
	// QueueGroup shared by every ingest process. Default "syncline".
	QueueGroup string
	// MaxPayload is the largest payload accepted. Default: the WAL's
	// MaxPayload (1 MiB); it is also capped by the NATS server's
	// max_payload minus the WAL headers.
	MaxPayload int
	// ReadConcurrency bounds reads running at once. Default 64.
	ReadConcurrency int
	// ReadTimeout bounds one read. Default 5s.
	ReadTimeout time.Duration
	// ReadWait bounds the wait of a get with Sync-After-Seq or strong
	// consistency for the writers to commit. Default 5s.
	ReadWait time.Duration
	// ReadPoll is how often the writers' ack floor is polled while a read
	// waits. Default 20ms.
	ReadPoll time.Duration
	// RetryAfter is the Retry-After of read-side 503s. Default 1s.
	RetryAfter time.Duration
}

// WithDefaults returns c with zero fields set to their defaults; maxPayload
// is the WAL's limit.
func (c Config) WithDefaults(walMaxPayload int) Config {
	if c.Version == "" {
		c.Version = "0.1.0"
	}
	if c.QueueGroup == "" {
		c.QueueGroup = "syncline"
	}
	if c.MaxPayload == 0 || (walMaxPayload > 0 && c.MaxPayload > walMaxPayload) {
		c.MaxPayload = walMaxPayload
	}
	if c.ReadConcurrency == 0 {
		c.ReadConcurrency = 64
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 5 * time.Second
	}
	if c.ReadWait == 0 {
		c.ReadWait = 5 * time.Second
	}
	if c.ReadPoll == 0 {
		c.ReadPoll = 20 * time.Millisecond
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Second
	}
	return c
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if c.MaxPayload < 0 {
		errs = append(errs, errors.New("ingest: MaxPayload must not be negative"))
	}
	if c.ReadConcurrency < 0 {
		errs = append(errs, errors.New("ingest: ReadConcurrency must not be negative"))
	}
	if c.ReadTimeout < 0 || c.ReadWait < 0 || c.ReadPoll < 0 || c.RetryAfter < 0 {
		errs = append(errs, errors.New("ingest: durations must not be negative"))
	}
	return errors.Join(errs...)
}
