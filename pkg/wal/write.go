package wal

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
)

// Write is one WAL entry: a put or a delete of an item.
type Write struct {
	// ID is the item id (DESIGN.md §1).
	ID string
	// Op is put or del.
	Op Op
	// Version is the explicit version; 0 means "take the WAL sequence".
	Version uint64
	// Payload is the item's bytes (empty for a delete).
	Payload []byte
	// ContentType is application/json or application/octet-stream; empty
	// on a put means "sniff" when encoding, and is always set by DecodeWrite
	// for a put.
	ContentType string
	// State is the optional caller tag.
	State string
	// CacheTTL is the optional Redis expiry, whole seconds.
	CacheTTL time.Duration
	// MsgID is the optional idempotency key (Nats-Msg-Id).
	MsgID string
	// Route is RouteDefault or RouteDurable (Sync-Route; a put's only).
	// RouteCache never enters the WAL.
	Route item.Route
	// Origin is the optional pipeline the write comes from (Sync-Origin),
	// copied into the commit record's change.
	Origin string
}

// EffectiveVersion is the version the write applies with: its explicit
// version, else its WAL sequence.
func (w Write) EffectiveVersion(seq uint64) uint64 {
	if w.Version != 0 {
		return w.Version
	}
	return seq
}

// Validate checks w as DecodeWrite would check its encoding, resolving
// nothing: a put's ContentType may be empty (sniffed by Encode's reader).
// maxPayload <= 0 skips the payload size check.
func (w Write) Validate(maxPayload int) error {
	if err := item.ValidateID(w.ID); err != nil {
		return Permanent(string(item.CodeInvalidID), err)
	}
	switch w.Op {
	case OpPut:
		if maxPayload > 0 && len(w.Payload) > maxPayload {
			return Permanent(string(item.CodePayloadTooLarge), item.Errorf(item.CodePayloadTooLarge,
				"payload is %d bytes, the limit is %d", len(w.Payload), maxPayload))
		}
		if _, err := item.ResolveContentType(w.ContentType, w.Payload); err != nil {
			return Permanent(string(item.CodeOf(err)), err)
		}
	case OpDel:
		if len(w.Payload) > 0 {
			return Permanent(ReasonInvalidPayload, item.Errorf(item.CodeInvalidHeader, "a delete carries no payload"))
		}
	default:
		return Permanent(ReasonInvalidOp, item.Errorf(item.CodeInvalidHeader, "Sync-Op %q is not put or del", clip(string(w.Op))))
	}
	if w.Version != 0 {
		if err := item.ValidateVersion(w.Version); err != nil {
			return Permanent(string(item.CodeInvalidVersion), err)
		}
	}
	if w.State != "" {
		if _, err := item.ParseState(w.State); err != nil {
			return Permanent(string(item.CodeInvalidHeader), err)
		}
	}
	if w.CacheTTL != 0 {
		if w.CacheTTL < time.Second || w.CacheTTL > item.MaxCacheTTL || w.CacheTTL%time.Second != 0 {
			return Permanent(string(item.CodeInvalidHeader), item.Errorf(item.CodeInvalidHeader,
				"cache TTL %s is not whole seconds in 1s..%s", w.CacheTTL, item.MaxCacheTTL))
		}
	}
	return validateRouting(w.Route, w.Origin)
}

// Encode builds the WAL message of w: subject <prefix>.wal.<partition>,
// headers Sync-Id, Sync-Op, and, when set, Sync-Version, Content-Type,
// Sync-State, Sync-Cache-TTL and Nats-Msg-Id. It does not validate; call
// Validate first for input that is not already checked.
func (w Write) Encode(n Names) *nats.Msg {
	h := make(nats.Header, 8)
	h[HeaderID] = []string{w.ID}
	h[HeaderOp] = []string{string(w.Op)}
	if w.Version != 0 {
		h[HeaderVersion] = []string{strconv.FormatUint(w.Version, 10)}
	}
	if w.ContentType != "" {
		h[HeaderContentType] = []string{w.ContentType}
	}
	if w.State != "" {
		h[HeaderState] = []string{w.State}
	}
	if w.CacheTTL != 0 {
		h[HeaderCacheTTL] = []string{strconv.FormatInt(int64(w.CacheTTL/time.Second), 10)}
	}
	if w.MsgID != "" {
		h[HeaderMsgID] = []string{w.MsgID}
	}
	encodeRouting(h, w.Route, w.Origin)
	return &nats.Msg{Subject: n.WALSubjectFor(w.ID), Header: h, Data: w.Payload}
}

// DecodeWrite parses and validates a WAL message, which may have been
// published by any trusted producer. On failure it returns a
// *PermanentError whose Reason names the DLQ subject (invalid_id,
// invalid_op, invalid_version, invalid_header, invalid_json,
// invalid_payload, payload_too_large) and whose cause is an *item.Error.
// maxPayload <= 0 skips the payload size check.
//
// Header names are matched exactly first, then case-insensitively; a header
// given twice with different values is invalid.
func DecodeWrite(msg *nats.Msg, maxPayload int) (Write, error) {
	return decodeWrite(msg.Header, msg.Data, maxPayload)
}

func decodeWrite(h nats.Header, data []byte, maxPayload int) (Write, error) {
	var w Write
	id, err := single(h, HeaderID, item.CodeInvalidID)
	if err == nil {
		err = item.ValidateID(id)
	}
	if err != nil {
		return Write{}, Permanent(string(item.CodeInvalidID), err)
	}
	w.ID = id
	op, err := single(h, HeaderOp, item.CodeInvalidHeader)
	if err != nil {
		return Write{}, Permanent(ReasonInvalidOp, err)
	}
	w.Op = Op(op)
	if v, ok, err := optional(h, HeaderVersion, item.CodeInvalidVersion); err != nil {
		return Write{}, Permanent(string(item.CodeInvalidVersion), err)
	} else if ok {
		if w.Version, err = item.ParseVersion(v); err != nil {
			return Write{}, Permanent(string(item.CodeInvalidVersion), err)
		}
	}
	if v, ok, err := optional(h, HeaderState, item.CodeInvalidHeader); err != nil {
		return Write{}, Permanent(string(item.CodeInvalidHeader), err)
	} else if ok {
		if w.State, err = item.ParseState(v); err != nil {
			return Write{}, Permanent(string(item.CodeInvalidHeader), err)
		}
	}
	if v, ok, err := optional(h, HeaderCacheTTL, item.CodeInvalidHeader); err != nil {
		return Write{}, Permanent(string(item.CodeInvalidHeader), err)
	} else if ok {
		if w.CacheTTL, err = item.ParseCacheTTL(v); err != nil {
			return Write{}, Permanent(string(item.CodeInvalidHeader), err)
		}
	}
	ct, _, err := optional(h, HeaderContentType, item.CodeInvalidHeader)
	if err != nil {
		return Write{}, Permanent(string(item.CodeInvalidHeader), err)
	}
	if w.MsgID, _, err = optional(h, HeaderMsgID, item.CodeInvalidHeader); err != nil {
		return Write{}, Permanent(string(item.CodeInvalidHeader), err)
	}
	if w.Route, w.Origin, err = decodeRouting(h); err != nil {
		return Write{}, err
	}
	switch w.Op {
	case OpPut:
		if maxPayload > 0 && len(data) > maxPayload {
			return Write{}, Permanent(string(item.CodePayloadTooLarge), item.Errorf(item.CodePayloadTooLarge,
				"payload is %d bytes, the limit is %d", len(data), maxPayload))
		}
		if w.ContentType, err = item.ResolveContentType(ct, data); err != nil {
			return Write{}, Permanent(string(item.CodeOf(err)), err)
		}
		w.Payload = data
	case OpDel:
		if len(data) > 0 {
			return Write{}, Permanent(ReasonInvalidPayload, item.Errorf(item.CodeInvalidHeader, "a delete carries no payload"))
		}
	default:
		return Write{}, Permanent(ReasonInvalidOp, item.Errorf(item.CodeInvalidHeader, "Sync-Op %q is not put or del", clip(op)))
	}
	return w, nil
}

// HeaderValues returns every value of key in h: the exact key first, then
// keys that differ only in case (NATS headers are case-sensitive, callers
// in other languages are not always).
func HeaderValues(h nats.Header, key string) []string {
	vals := h[key]
	for k, v := range h {
		if k != key && strings.EqualFold(k, key) {
			vals = append(vals[:len(vals):len(vals)], v...)
		}
	}
	return vals
}

// single returns the one value of a required header.
func single(h nats.Header, key string, code item.Code) (string, error) {
	v, ok, err := optional(h, key, code)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", item.Errorf(code, "header %s is missing", key)
	}
	return v, nil
}

// optional returns the value of a header that may be absent; repeated
// values must agree.
func optional(h nats.Header, key string, code item.Code) (string, bool, error) {
	vals := HeaderValues(h, key)
	if len(vals) == 0 {
		return "", false, nil
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false, item.Errorf(code, "header %s is given twice with different values", key)
		}
	}
	return vals[0], true, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
