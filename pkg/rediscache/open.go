package rediscache

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientConfig names the Redis server (SYNCLINE_REDIS_URL).
type ClientConfig struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://... Required.
	URL string
	// ReadTimeout and WriteTimeout bound each command round trip; a slow
	// Redis then fails with ErrUnavailable instead of stalling the
	// pipeline. Defaults 3s.
	ReadTimeout, WriteTimeout time.Duration
}

// Validate checks the URL.
func (c ClientConfig) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("rediscache: redis url is required")
	}
	if _, err := redis.ParseURL(c.URL); err != nil {
		return fmt.Errorf("rediscache: redis url %s: %w", Redact(c.URL), err)
	}
	return nil
}

// Open returns a client for c.URL. It does not connect; the first command
// does.
func Open(c ClientConfig) (*redis.Client, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("rediscache: redis url %s: %w", Redact(c.URL), err)
	}
	if c.ReadTimeout > 0 {
		opts.ReadTimeout = c.ReadTimeout
	}
	if c.WriteTimeout > 0 {
		opts.WriteTimeout = c.WriteTimeout
	}
	return redis.NewClient(opts), nil
}

// Redact hides the password of a Redis URL for logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.Index(raw, "://"); i > 0 {
			return raw[:i] + "://<unparseable>"
		}
		return "<unparseable>"
	}
	return u.Redacted()
}
