package storepg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// Store is the PostgreSQL Backend.
type Store struct {
	pool  *pgxpool.Pool
	owned bool
	cfg   store.Config
	mode  upsertMode
	// noTree skips the merkle edges: benchmarks only, to measure the
	// tree's share of a batch (see export_test.go).
	noTree bool
}

var _ store.Backend = (*Store)(nil)

// Open connects to url (postgres:// or postgresql://; a search_path query
// parameter selects the schema and is sent as a runtime parameter on every
// pooled connection), applies the migrations and checks the merkle config.
func Open(ctx context.Context, url string, cfg store.Config) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("storepg: parse url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, translate(err)
	}
	s, err := New(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New uses an existing pool (closed by its owner, not by Close), applies the
// migrations and checks the merkle config.
func New(ctx context.Context, pool *pgxpool.Pool, cfg store.Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := Migrate(ctx, pool, cfg.Tree); err != nil {
		return nil, err
	}
	return &Store{pool: pool, cfg: cfg, mode: modeUnnest}, nil
}

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Config returns the store's config.
func (s *Store) Config() store.Config { return s.cfg }

// Close closes the pool if Open created it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// Tree implements store.Backend.
func (s *Store) Tree() merkle.Store { return &tree{s: s} }
