package client

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
)

// WriteOption sets an optional header of a put or delete.
type WriteOption func(*writeOpts) error

type writeOpts struct {
	h nats.Header
}

// WithVersion sets Sync-Version (1..2^63-1). Without it the write takes its
// WAL sequence as version.
func WithVersion(v uint64) WriteOption {
	return func(o *writeOpts) error {
		if err := item.ValidateVersion(v); err != nil {
			return err
		}
		o.h.Set(item.HeaderVersion, strconv.FormatUint(v, 10))
		return nil
	}
}

// WithState sets the Sync-State tag.
func WithState(s string) WriteOption {
	return func(o *writeOpts) error {
		if _, err := item.ParseState(s); err != nil {
			return err
		}
		o.h.Set(item.HeaderState, s)
		return nil
	}
}

// WithCacheTTL sets Sync-Cache-TTL, in whole seconds (rounded up).
func WithCacheTTL(d time.Duration) WriteOption {
	return func(o *writeOpts) error {
		secs := int64((d + time.Second - 1) / time.Second)
		if d <= 0 || time.Duration(secs)*time.Second > item.MaxCacheTTL {
			return item.Errorf(item.CodeInvalidHeader, "cache TTL %s is not in 1s..%s", d, item.MaxCacheTTL)
		}
		o.h.Set(item.HeaderCacheTTL, strconv.FormatInt(secs, 10))
		return nil
	}
}

// WithContentType declares the payload's content type
// (application/json or application/octet-stream); without it the service
// sniffs.
func WithContentType(ct string) WriteOption {
	return func(o *writeOpts) error {
		o.h.Set(item.HeaderContentType, ct)
		return nil
	}
}

// WithMsgID sets Nats-Msg-Id, the idempotency key: a write repeated with the
// same key within the WAL's duplicate window is stored once, and its reply
// carries the original sequence.
func WithMsgID(id string) WriteOption {
	return func(o *writeOpts) error {
		o.h.Set(item.HeaderMsgID, id)
		return nil
	}
}

// ReadOption sets the consistency of a get.
type ReadOption func(*readOpts)

type readOpts struct {
	h nats.Header
}

// WithAfterSeq answers only from a state that includes every write up to
// seq (a put's Result.Seq): read-your-writes.
func WithAfterSeq(seq uint64) ReadOption {
	return func(o *readOpts) { o.h.Set(item.HeaderAfterSeq, strconv.FormatUint(seq, 10)) }
}

// WithStrong answers from a state that includes every write acknowledged
// before the request.
func WithStrong() ReadOption {
	return func(o *readOpts) { o.h.Set(item.HeaderConsistency, "strong") }
}
