package groupcommit

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/syncline/syncline/pkg/item"
)

// Sentinels carried in the Err field of the *item.Error that Publish
// returns; branch on them with errors.Is.
var (
	// ErrOutcomeUnknown marks a failure after the write (or its batch) left
	// for the server: the ack did not come back (timeout, disconnect, the
	// caller's ctx ended), so the write may or may not be in the stream.
	// Every other error from Publish means the write was not stored.
	ErrOutcomeUnknown = errors.New("groupcommit: outcome unknown, the write may have been stored")
	// ErrStopped reports a Publish on a Committer that is stopping.
	ErrStopped = errors.New("groupcommit: committer stopped")
	// ErrNotStarted reports a Publish before Start.
	ErrNotStarted = errors.New("groupcommit: committer not started")
)

// JetStream error codes this package branches on (nats-server
// jetstream_errors_generated.go).
const (
	errCodeAccountResources     jetstream.ErrorCode = 10002
	errCodeNotLeader            jetstream.ErrorCode = 10009
	errCodeInsufficientResource jetstream.ErrorCode = 10023
	errCodeMessageTooLarge      jetstream.ErrorCode = 10054
	errCodeStoreFailed          jetstream.ErrorCode = 10077
	errCodeSealed               jetstream.ErrorCode = 10109
	errCodeDuplicateInProcess   jetstream.ErrorCode = 10158
	errCodeAtomicDisabled       jetstream.ErrorCode = 10174
	errCodeBatchIncomplete      jetstream.ErrorCode = 10176
	errCodeBatchTooLarge        jetstream.ErrorCode = 10199
	errCodeAtomicTooManyOpen    jetstream.ErrorCode = 10210
	errCodeBatchTooManyOpen     jetstream.ErrorCode = 10211
)

// verdict is what a failed publish says about the stream's contents.
type verdict int

const (
	// rejected: the server answered with an error before storing; the
	// write (every write of the batch) is not in the stream.
	rejected verdict = iota
	// transient: not stored, and the same publish may succeed shortly.
	transient
	// unknown: the write may be in the stream.
	unknown
)

// classify judges err from a publish; sent says whether the message that
// decides the outcome (a batch's commit, a single write) left the client.
func classify(err error, sent bool) verdict {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeNotLeader, errCodeDuplicateInProcess, errCodeBatchIncomplete,
			errCodeAtomicTooManyOpen, errCodeBatchTooManyOpen:
			return transient
		case errCodeStoreFailed:
			// The limit checks (DiscardNew) answer before anything is
			// stored; any other store failure (e.g. "store closed" during
			// a shutdown) may come after part of a batch was written, which
			// the server completes on restart.
			if isLimitDescription(apiErr.Description) {
				return rejected
			}
			return unknown
		}
		return rejected
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return transient
	}
	if !sent {
		return transient
	}
	return unknown
}

// isLimitDescription reports the DiscardNew refusals of a full stream.
func isLimitDescription(d string) bool {
	return strings.Contains(d, "maximum messages exceeded") ||
		strings.Contains(d, "maximum bytes exceeded") ||
		strings.Contains(d, "maximum messages per subject exceeded")
}

// toItemError turns a classified failure into the error a caller sees.
func (c *Committer) toItemError(err error, v verdict) *item.Error {
	retry := c.retryAfterSeconds()
	switch v {
	case unknown:
		return &item.Error{Code: item.CodeUnavailable, Message: "the WAL did not confirm the write; it may have been stored",
			RetryAfterSeconds: retry, Err: fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)}
	case transient:
		return &item.Error{Code: item.CodeUnavailable, Message: "the WAL cannot take the write now",
			RetryAfterSeconds: retry, Err: err}
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		return &item.Error{Code: item.CodePayloadTooLarge, Message: "the write exceeds the server's max_payload", Err: err}
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return &item.Error{Code: item.CodeUnavailable, Message: "the WAL cannot take the write now",
			RetryAfterSeconds: retry, Err: err}
	}
	switch {
	case apiErr.ErrorCode == errCodeMessageTooLarge:
		return &item.Error{Code: item.CodePayloadTooLarge, Message: "the write exceeds the WAL's max message size", Err: err}
	case apiErr.ErrorCode == errCodeStoreFailed:
		return &item.Error{Code: item.CodeUnavailable, Message: "the WAL is full", RetryAfterSeconds: retry, Err: err}
	case apiErr.ErrorCode == errCodeAccountResources, apiErr.ErrorCode == errCodeInsufficientResource,
		apiErr.ErrorCode == errCodeSealed, apiErr.Code == 429, apiErr.Code >= 500:
		return &item.Error{Code: item.CodeUnavailable, Message: "the WAL cannot take the write now",
			RetryAfterSeconds: retry, Err: err}
	}
	return &item.Error{Code: item.CodeInternal, Message: "the WAL refused the write", Err: err}
}

func (c *Committer) retryAfterSeconds() int {
	s := int(math.Ceil(c.cfg.RetryAfter.Seconds()))
	return max(s, 1)
}

func (c *Committer) unavailable(msg string, err error) *item.Error {
	return &item.Error{Code: item.CodeUnavailable, Message: msg, RetryAfterSeconds: c.retryAfterSeconds(), Err: err}
}
