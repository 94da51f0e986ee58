package storesqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers driver "sqlite"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the SQLite Backend.
type Store struct {
	w   *sql.DB // one connection, BEGIN IMMEDIATE
	r   *sql.DB // read-only connections
	cfg store.Config
}

var _ store.Backend = (*Store)(nil)

// ReadConns is the size of the read pool.
const ReadConns = 4

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// Open opens (creating if needed) the database file at path, applies the
// migrations and checks the merkle config.
func Open(ctx context.Context, path string, cfg store.Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if path == "" || strings.ContainsRune(path, '?') || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("storesqlite: %q is not a plain file path", path)
	}
	if err := migrateFile(ctx, path, cfg.Tree); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, translate(err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		_ = w.Close()
		return nil, translate(err)
	}
	r.SetMaxOpenConns(ReadConns)
	r.SetMaxIdleConns(ReadConns)
	s := &Store{w: w, r: r, cfg: cfg}
	if err := s.w.PingContext(ctx); err != nil {
		_ = s.Close()
		return nil, translate(err)
	}
	return s, nil
}

// migrateFile runs the migrations on a connection pool of its own.
func migrateFile(ctx context.Context, path string, tree merkle.Config) error {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return translate(err)
	}
	defer db.Close()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("storesqlite: %w", err)
	}
	if err := upRetrying(ctx, db, goose.DialectSQLite3, sub); err != nil {
		return translate(err)
	}
	err = migrate.CheckConfig(ctx, db,
		`INSERT INTO sync_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		`SELECT value FROM sync_meta WHERE key = ?`, tree)
	return translate(err)
}

// Config returns the store's config.
func (s *Store) Config() store.Config { return s.cfg }

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.w.Close(), s.r.Close())
}

// Tree implements store.Backend.
func (s *Store) Tree() merkle.Store { return &tree{s: s} }
