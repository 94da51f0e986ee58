package storesqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// translate turns a driver error into the store's vocabulary: a busy or
// locked database, I/O errors, a full disk or a file that cannot be opened
// are store.ErrUnavailable; constraint, size and type errors reject a row
// (*store.RowError, Index -1); sql.ErrNoRows is store.ErrNotFound.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var rowErr *store.RowError
	switch {
	case errors.As(err, &rowErr),
		errors.Is(err, store.ErrUnavailable),
		errors.Is(err, store.ErrNotFound),
		errors.Is(err, store.ErrClosed),
		errors.Is(err, merkle.ErrConfigMismatch),
		errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case errors.Is(err, sql.ErrConnDone), errors.Is(err, context.DeadlineExceeded):
		return store.Unavailable(err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_INTERRUPT:
			return store.Unavailable(err)
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
			return &store.RowError{Index: -1, Err: err}
		}
	}
	return fmt.Errorf("storesqlite: %w", err)
}
