package storepg

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLocker serializes migrations of one schema across processes with a
// blocking session advisory lock keyed by the schema: writers starting at
// once wait for each other instead of polling, and pipelines in other
// schemas of the same database do not wait at all.
type migrateLocker struct{}

const lockKeySQL = `hashtextextended('syncline/migrate/' || coalesce(current_schema(), ''), 0)`

func (migrateLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+lockKeySQL+`)`); err != nil {
		return fmt.Errorf("storepg: migration lock: %w", err)
	}
	return nil
}

func (migrateLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+lockKeySQL+`)`); err != nil {
		return fmt.Errorf("storepg: migration unlock: %w", err)
	}
	return nil
}

// Migrate applies the embedded migrations to the schema the pool's
// search_path selects and checks the stored merkle config. Open calls it.
func Migrate(ctx context.Context, pool *pgxpool.Pool, tree merkle.Config) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("storepg: %w", err)
	}
	if err := migrate.Up(ctx, db, goose.DialectPostgres, sub, migrateLocker{}); err != nil {
		return translate(err)
	}
	err = migrate.CheckConfig(ctx, db,
		`INSERT INTO sync_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		`SELECT value FROM sync_meta WHERE key = $1`, tree)
	return translate(err)
}
