// Package sqlopen opens the store.Backend a SQL URL names, so that
// composition roots depend on one function instead of every adapter:
//
//	postgres://user:pass@host:5432/db?search_path=schema  -> storepg
//	postgresql://...                                      -> storepg
//	sqlite:/var/lib/syncline/syncline.db                  -> storesqlite
//	sqlite:relative/path.db, sqlite:///abs/path.db
//
// Redact makes a URL safe to print.
package sqlopen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/store/storesqlite"
)

// ErrUnsupportedURL reports a URL of no supported scheme.
var ErrUnsupportedURL = errors.New("sqlopen: SQL URL must start with postgres://, postgresql:// or sqlite:")

// Kind names the adapter a URL selects.
type Kind string

// The kinds.
const (
	Postgres Kind = "postgres"
	SQLite   Kind = "sqlite"
)

// Parse returns the adapter kind of rawURL and, for SQLite, the file path.
func Parse(rawURL string) (Kind, string, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return Postgres, "", nil
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		path = strings.TrimPrefix(path, "//") // sqlite:///abs -> /abs
		if path == "" {
			return "", "", fmt.Errorf("%w: sqlite: needs a file path", ErrUnsupportedURL)
		}
		return SQLite, path, nil
	default:
		return "", "", fmt.Errorf("%w (got %s)", ErrUnsupportedURL, Redact(rawURL))
	}
}

// Open opens the backend rawURL names: it connects, applies the migrations
// and checks the merkle config (store.ErrConfigMismatch). A database that
// cannot be reached is store.ErrUnavailable.
func Open(ctx context.Context, rawURL string, cfg store.Config) (store.Backend, error) {
	kind, path, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch kind {
	case Postgres:
		s, err := storepg.Open(ctx, rawURL, cfg)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(rawURL), err)
		}
		return s, nil
	default:
		s, err := storesqlite.Open(ctx, path, cfg)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(rawURL), err)
		}
		return s, nil
	}
}

// Redact returns rawURL with any password (user info or a password query
// parameter) replaced by "xxxxx". Text that does not parse as a URL is
// reduced to its scheme so that nothing secret is printed.
func Redact(rawURL string) string {
	if strings.HasPrefix(rawURL, "sqlite:") {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.Index(rawURL, "://"); i > 0 {
			return rawURL[:i] + "://<unparseable>"
		}
		return "<unparseable>"
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
