// Package storetest gives tests real SQL databases: a private PostgreSQL
// schema per test on the machine's server, or a SQLite file in a temp dir.
//
// PostgreSQL is found through SYNCLINE_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot be
// reached, tests skip locally but fail when CI=true: CI must never pass by
// skipping.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is used when SYNCLINE_TEST_PG_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL returns the test server URL.
func BaseURL() string {
	if u := os.Getenv("SYNCLINE_TEST_PG_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Unavailable skips the test, or fails it when CI=true.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required when CI=true: %v", what, err)
	}
	t.Skipf("%s unavailable: %v", what, err)
}

// PostgresURL creates a fresh schema, drops it when the test ends, and
// returns a URL whose search_path selects it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := BaseURL()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	defer conn.Close(ctx)
	schema := "t_" + randHex(8)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("storetest: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteURL returns a sqlite: URL for a file in a fresh temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "syncline.db")
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("storetest: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
