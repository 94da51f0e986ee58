package storepg

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
)

// translate turns a pgx error into the store's vocabulary. It is the only
// place that inspects driver errors:
//
//   - server errors of class 08 (connection), 40 (serialization failure,
//     deadlock), 53 (insufficient resources), 55P03 (lock not available),
//     57 (operator intervention: shutdown, statement timeout), 58 (I/O) are
//     store.ErrUnavailable;
//   - class 22 (data exception), 23 (integrity constraint) and 54 (program
//     limit exceeded) reject a row: *store.RowError with Index -1;
//   - other server errors (a missing table, a syntax error) are returned
//     wrapped, not retryable by the store's definition;
//   - every client-side failure (dial, TLS, broken connection, timeouts,
//     a closed pool) is store.ErrUnavailable, except the caller's own
//     context cancellation, which is returned as is.
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
		errors.Is(err, merkle.ErrConfigMismatch):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case errors.Is(err, context.Canceled):
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code := pgErr.Code
		switch {
		case len(code) < 2:
			return fmt.Errorf("storepg: %w", err)
		case code[:2] == "08", code[:2] == "40", code[:2] == "53", code[:2] == "57", code[:2] == "58", code == "55P03":
			return store.Unavailable(err)
		case code[:2] == "22", code[:2] == "23", code[:2] == "54":
			return &store.RowError{Index: -1, Err: err}
		default:
			return fmt.Errorf("storepg: %w", err)
		}
	}
	return store.Unavailable(err)
}

// retryable reports server errors that a fresh attempt of the same
// transaction resolves: serialization failures and deadlocks.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
