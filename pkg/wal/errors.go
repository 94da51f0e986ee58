package wal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/item"
)

// RetryAfterError asks the consumer adapter to redeliver the message after
// Delay (NakWithDelay). Handlers return it for transient failures.
type RetryAfterError struct {
	Delay time.Duration
	Err   error
}

// RetryAfter wraps err as a transient failure to retry after d.
func RetryAfter(d time.Duration, err error) error { return &RetryAfterError{Delay: d, Err: err} }

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.Delay, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// PermanentError marks a message that will never succeed: the consumer
// adapter copies it to the DLQ under Reason and terminates it.
type PermanentError struct {
	// Reason is the DLQ reason, a short snake_case token (invalid_id, ...).
	Reason string
	Err    error
}

// Permanent wraps err as a permanent failure with a DLQ reason.
func Permanent(reason string, err error) error { return &PermanentError{Reason: reason, Err: err} }

func (e *PermanentError) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }

func (e *PermanentError) Unwrap() error { return e.Err }

// ReasonOf returns the DLQ reason of a permanent error, or "".
func ReasonOf(err error) string {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Reason
	}
	return ""
}

// JetStream API error codes Syncline branches on.
const (
	// jsErrStoreFailed is JSStreamStoreFailedF; with DiscardNew its
	// description says "maximum messages/bytes exceeded".
	jsErrStoreFailed jetstream.ErrorCode = 10077
	// jsErrMsgTooLarge is JSStreamMessageExceedsMaximum.
	jsErrMsgTooLarge jetstream.ErrorCode = 10054
)

// ErrClosed is returned by a Publisher after Close.
var ErrClosed = errors.New("wal: publisher closed")

// TranslatePublishError turns what JetStream and the connection return on a
// publish into an *item.Error: a full WAL and every transient failure are
// CodeUnavailable with a Retry-After, an oversized message is
// CodePayloadTooLarge, anything else CodeInternal.
func (c Config) TranslatePublishError(err error) error {
	if err == nil {
		return nil
	}
	var ie *item.Error
	if errors.As(err, &ie) {
		return err
	}
	unavailable := func(msg string, after time.Duration) error {
		return &item.Error{Code: item.CodeUnavailable, Message: msg, RetryAfterSeconds: seconds(after), Err: err}
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.ErrorCode == jsErrStoreFailed && isFullDescription(apiErr.Description):
			return unavailable("the WAL is full", c.RetryAfterFull)
		case apiErr.ErrorCode == jsErrMsgTooLarge:
			return &item.Error{Code: item.CodePayloadTooLarge, Message: "the write exceeds the WAL's maximum message size", Err: err}
		case apiErr.Code == 503 || apiErr.Code == 429 || apiErr.Code == 408:
			return unavailable("JetStream cannot take the write", c.RetryAfter)
		}
		return &item.Error{Code: item.CodeInternal, Message: "JetStream refused the write", Err: err}
	}
	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		return &item.Error{Code: item.CodePayloadTooLarge, Message: "the write exceeds the server's max_payload", Err: err}
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return unavailable("too many writes in flight", c.RetryAfter)
	case errors.Is(err, ErrClosed),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return unavailable("the WAL did not acknowledge the write", c.RetryAfter)
	}
	return &item.Error{Code: item.CodeInternal, Message: "publishing to the WAL failed", Err: err}
}

func isFullDescription(d string) bool {
	d = strings.ToLower(d)
	return strings.Contains(d, "maximum messages") || strings.Contains(d, "maximum bytes") ||
		strings.Contains(d, "resource limits exceeded") || strings.Contains(d, "insufficient resources")
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}
