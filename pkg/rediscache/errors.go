package rediscache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable reports that Redis could not be reached or did not answer
// in time (connection refused or reset, timeouts, a closed client, a server
// still loading). The operation may or may not have been applied; every
// write here is idempotent and version-guarded, so retrying is safe.
var ErrUnavailable = errors.New("rediscache: redis unavailable")

// UnavailableError is the typed form of ErrUnavailable: errors.Is(err,
// ErrUnavailable) holds, and errors.As recovers the operation and the
// driver's error.
type UnavailableError struct {
	Op  string
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("rediscache: %s: redis unavailable: %v", e.Op, e.Err)
}

// Unwrap returns ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// translate maps a go-redis error to this package's errors. The caller's
// cancellation stays a context error; a deadline (the caller's or the
// client's) and connection trouble become ErrUnavailable.
func translate(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return fmt.Errorf("rediscache: %s: %w", op, err)
	}
	if unavailable(err) {
		return &UnavailableError{Op: op, Err: err}
	}
	return fmt.Errorf("rediscache: %s: %w", op, err)
}

func unavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted):
		return true
	}
	for _, p := range []string{"LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "BUSY "} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}
