// Package redistest gives each test the machine's Redis with a private key
// prefix, deleted when the test ends (never FLUSHALL).
//
// Redis is found through SYNCLINE_TEST_REDIS_URL (default
// redis://127.0.0.1:6379/0). When it cannot be reached, tests skip locally
// but fail when CI=true.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when SYNCLINE_TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL returns the test Redis URL.
func URL() string {
	if u := os.Getenv("SYNCLINE_TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Client returns a client and a fresh key prefix ("t:<hex>:"); every key
// under the prefix is deleted when the test ends.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("redistest: parse url: %v", err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis is required when CI=true: %v", err)
		}
		t.Skipf("Redis unavailable: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "t:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		defer c.Close()
		Purge(t, c, prefix)
	})
	return c, prefix
}

// Purge deletes every key under prefix.
func Purge(t testing.TB, c *redis.Client, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			c.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Unlink(ctx, batch...)
	}
	if err := iter.Err(); err != nil {
		t.Logf("redistest: purge %s: %v", prefix, err)
	}
}
