// Package migrate applies an adapter's embedded goose migrations with the
// goose Provider API (no global state) and checks the merkle config stored
// in sync_meta.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// VersionTable is goose's bookkeeping table, named so that it cannot clash
// with an application's own goose history in a shared schema.
const VersionTable = "sync_goose_version"

// Up applies the pending migrations in fsys. locker, when set, serializes
// concurrent starters (several writers migrating one database).
func Up(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, locker lock.SessionLocker) error {
	opts := []goose.ProviderOption{goose.WithTableName(VersionTable)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// CheckConfig records cfg in sync_meta on first open and fails with
// store.ErrConfigMismatch when the database holds another one. insert must
// be an INSERT of (key, value) that does nothing on conflict.
func CheckConfig(ctx context.Context, db *sql.DB, insert, sel string, cfg merkle.Config) error {
	if _, err := db.ExecContext(ctx, insert, "merkle_config", cfg.String()); err != nil {
		return fmt.Errorf("store: record merkle config: %w", err)
	}
	var got string
	if err := db.QueryRowContext(ctx, sel, "merkle_config").Scan(&got); err != nil {
		return fmt.Errorf("store: read merkle config: %w", err)
	}
	if got != cfg.String() {
		return fmt.Errorf("%w: database has %s, configured %s", store.ErrConfigMismatch, got, cfg.String())
	}
	return nil
}
