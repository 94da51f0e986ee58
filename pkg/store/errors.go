package store

import (
	"errors"
	"fmt"

	"github.com/syncline/syncline/pkg/merkle"
)

var (
	// ErrNotFound reports an id that is absent or tombstoned.
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable reports a failure worth retrying later: the database
	// cannot be reached, timed out, is busy, or aborted the transaction for
	// a serialization failure or deadlock. Nothing was committed.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrConfigMismatch reports a database whose merkle tree was built with
	// another tree Config. It is merkle.ErrConfigMismatch, so errors.Is works
	// with either.
	ErrConfigMismatch = merkle.ErrConfigMismatch
	// ErrClosed reports use of a closed store.
	ErrClosed = errors.New("store: closed")
)

// RowError reports a batch rejected because of one row. Nothing of the
// batch was committed; retrying the same row will fail again, so the writer
// dead-letters it and applies the rest.
type RowError struct {
	// Index is the index of the rejected write in the ApplyBatch argument,
	// or -1 when the database rejected the batch without naming the row (the
	// caller bisects to find it).
	Index int
	Err   error
}

func (e *RowError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("store: a row of the batch was rejected: %v", e.Err)
	}
	return fmt.Sprintf("store: row %d rejected: %v", e.Index, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Unavailable wraps err so that errors.Is(err, ErrUnavailable) holds while
// the cause stays inspectable.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
