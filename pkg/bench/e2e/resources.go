package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
)

// runID is a short random tag that names a run's schemas, prefixes and
// streams.
func runID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// schemas creates private PostgreSQL schemas and drops them at the end.
type schemas struct {
	base  string
	names []string
}

// create makes schema e2e_<run>_<suffix> with the sync_items tables (the
// store's migrations) and returns a URL whose search_path selects it.
func (s *schemas) create(ctx context.Context, run, suffix string) (string, error) {
	name := "e2e_" + run + "_" + suffix
	conn, err := pgx.Connect(ctx, s.base)
	if err != nil {
		return "", fmt.Errorf("e2e: PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", fmt.Errorf("e2e: create schema: %w", err)
	}
	s.names = append(s.names, name)
	u, err := url.Parse(s.base)
	if err != nil {
		return "", fmt.Errorf("e2e: PostgreSQL url: %w", err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	st, err := storepg.Open(ctx, u.String(), store.Config{})
	if err != nil {
		return "", fmt.Errorf("e2e: migrate %s: %w", name, err)
	}
	_ = st.Close()
	return u.String(), nil
}

// dropAll drops every schema created.
func (s *schemas) dropAll(ctx context.Context) error {
	if len(s.names) == 0 {
		return nil
	}
	conn, err := pgx.Connect(ctx, s.base)
	if err != nil {
		return fmt.Errorf("e2e: drop schemas: %w", err)
	}
	defer conn.Close(ctx)
	var errs []error
	for _, n := range s.names {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+n+" CASCADE"); err != nil {
			errs = append(errs, fmt.Errorf("e2e: drop schema %s: %w", n, err))
		}
	}
	s.names = nil
	return errors.Join(errs...)
}

// serverVersion returns PostgreSQL's server_version.
func pgVersion(ctx context.Context, base string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("e2e: PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", fmt.Errorf("e2e: PostgreSQL: %w", err)
	}
	return v, nil
}

// redisVersion returns redis_version from INFO server.
func redisVersion(ctx context.Context, rc redis.UniversalClient) string {
	info, err := rc.Info(ctx, "server").Result()
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "unknown"
}

// purgeRedis deletes every key under prefix (SCAN and UNLINK, never
// FLUSHALL: Redis is shared).
func purgeRedis(ctx context.Context, rc redis.UniversalClient, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := rc.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return fmt.Errorf("e2e: purge redis: %w", err)
		}
		if len(keys) > 0 {
			if err := rc.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("e2e: purge redis: %w", err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}
