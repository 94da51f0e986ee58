package wal

import (
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
)

// Routing headers of a WAL message (docs/query.md).
const (
	// HeaderRoute is "durable" for a write that goes to SQL only; absent
	// (or "default") for the default route. "cache" never enters the WAL:
	// a message carrying it is dead-lettered as invalid_header.
	HeaderRoute = item.HeaderRoute
	// HeaderOrigin names the pipeline the write comes from; the writer
	// copies it into the commit record's change (CommitChange.Origin).
	HeaderOrigin = item.HeaderOrigin
)

// The query verbs of the client API (docs/query.md). list, count and
// delprefix are served both on <prefix>.<verb> (the whole keyspace) and on
// <prefix>.<verb>.<id-prefix>; mget only on <prefix>.mget; setstate and
// is_current on <prefix>.<verb>.<id>.
const (
	VerbList      = "list"
	VerbCount     = "count"
	VerbDelPrefix = "delprefix"
	VerbSetState  = "setstate"
	VerbMGet      = "mget"
	VerbIsCurrent = "is_current"
)

// APIVerbSubject is the subject of a verb without an id ("sync.list").
func (n Names) APIVerbSubject(verb string) string { return n.prefix + "." + verb }

// validateRouting checks a write's route and origin as Validate would.
func validateRouting(r item.Route, origin string) error {
	switch r {
	case item.RouteDefault, item.RouteDurable:
	case item.RouteCache:
		return Permanent(string(item.CodeInvalidHeader),
			item.Errorf(item.CodeInvalidHeader, "Sync-Route cache never goes through the WAL"))
	default:
		return Permanent(string(item.CodeInvalidHeader),
			item.Errorf(item.CodeInvalidHeader, "Sync-Route %q is not default or durable", clip(string(r))))
	}
	if origin != "" {
		if _, err := item.ParseOrigin(origin); err != nil {
			return Permanent(string(item.CodeInvalidHeader), err)
		}
	}
	return nil
}

// encodeRouting sets Sync-Route (durable only: the default is the header's
// absence) and Sync-Origin.
func encodeRouting(h nats.Header, r item.Route, origin string) {
	if r != item.RouteDefault {
		h[HeaderRoute] = []string{string(r)}
	}
	if origin != "" {
		h[HeaderOrigin] = []string{origin}
	}
}

// decodeRouting parses and validates Sync-Route and Sync-Origin.
func decodeRouting(h nats.Header) (item.Route, string, error) {
	var r item.Route
	if v, ok, err := optional(h, HeaderRoute, item.CodeInvalidHeader); err != nil {
		return "", "", Permanent(string(item.CodeInvalidHeader), err)
	} else if ok {
		if r, err = item.ParseRoute(v); err != nil {
			return "", "", Permanent(string(item.CodeInvalidHeader), err)
		}
	}
	origin, _, err := optional(h, HeaderOrigin, item.CodeInvalidHeader)
	if err != nil {
		return "", "", Permanent(string(item.CodeInvalidHeader), err)
	}
	if err := validateRouting(r, origin); err != nil {
		return "", "", err
	}
	return r, origin, nil
}

// validateCDC checks the change fields that CDC consumers rely on: origin,
// route and payload hash.
func (c CommitChange) validateCDC() error {
	if c.Origin != "" {
		if _, err := item.ParseOrigin(c.Origin); err != nil {
			return err
		}
	}
	if c.Route != "" && c.Route != string(item.RouteDurable) {
		return fmt.Errorf("route %q is not durable or empty", clip(c.Route))
	}
	if c.PayloadSHA256 != "" && (c.Deleted || !isHash(c.PayloadSHA256)) {
		return fmt.Errorf("payload_sha256 %q is not 64 hex digits of a live change", clip(c.PayloadSHA256))
	}
	return nil
}
