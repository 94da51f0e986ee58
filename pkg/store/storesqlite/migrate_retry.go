package storesqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/syncline/syncline/pkg/store/internal/migrate"
)

// upRetrying applies the migrations, trying again after a failure: goose
// reads the applied versions before it takes SQLite's write lock, so of two
// openers of a fresh file the second may run a migration the first has
// just applied, and a non-idempotent one (ALTER TABLE ... ADD COLUMN) then
// fails. The next attempt reads the version table again and skips it; a
// real failure repeats and is returned.
func upRetrying(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
			}
		}
		if err = migrate.Up(ctx, db, dialect, fsys, nil); err == nil {
			return nil
		}
	}
	return err
}
