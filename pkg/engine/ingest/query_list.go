package ingest

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// listRequest is the body of a list request; every field is optional.
type listRequest struct {
	Cursor string `json:"cursor"`
	Limit  int    `json:"limit"`
	State  string `json:"state"`
}

// ListEntry is one item of a list reply.
type ListEntry struct {
	ID          string `json:"id"`
	Version     uint64 `json:"version"`
	State       string `json:"state,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Route       string `json:"route,omitempty"`
}

// listReply is a page: items in id order, and a cursor for the next page
// when there is one.
type listReply struct {
	Items  []ListEntry `json:"items"`
	Cursor string      `json:"cursor,omitempty"`
	More   bool        `json:"more"`
}

type countRequest struct {
	State string `json:"state"`
}

type countReply struct {
	Count int64 `json:"count"`
}

func (s *Service) handleList(r micro.Request) {
	prefix, err := prefixFromSubject(r.Subject(), s.q.list)
	if err != nil {
		s.fail(r, wal.VerbList, err)
		return
	}
	var req listRequest
	if err := decodeBody(r.Data(), &req); err != nil {
		s.fail(r, wal.VerbList, err)
		return
	}
	if err := parseStateFilter(req.State); err != nil {
		s.fail(r, wal.VerbList, err)
		return
	}
	limit := req.Limit
	switch {
	case limit < 0:
		s.fail(r, wal.VerbList, item.Errorf(item.CodeInvalidJSON, "limit %d is negative", limit))
		return
	case limit == 0:
		limit = s.q.cfg.ListLimit
	case limit > s.q.cfg.MaxListLimit:
		limit = s.q.cfg.MaxListLimit
	}
	q := store.Query{Prefix: prefix, State: req.State}
	after, err := decodeCursor(req.Cursor, q)
	if err != nil {
		s.fail(r, wal.VerbList, err)
		return
	}
	s.spawn(s.cfg.ReadTimeout+s.cfg.ReadWait, func(ctx context.Context) {
		if _, err := s.minSeq(ctx, nats.Header(r.Headers())); err != nil {
			s.fail(r, wal.VerbList, err)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.ReadTimeout)
		defer cancel()
		items, err := s.q.store.List(rctx, q, after, limit+1)
		if err != nil {
			s.fail(r, wal.VerbList, s.storeError(err))
			return
		}
		rep := listReply{Items: make([]ListEntry, 0, min(len(items), limit))}
		if len(items) > limit {
			items = items[:limit]
			rep.More = true
			rep.Cursor = encodeCursor(q, items[len(items)-1].ID)
		}
		for _, it := range items {
			e := ListEntry{ID: it.ID, Version: it.Version, State: it.State, ContentType: it.ContentType}
			if it.Route != item.RouteDefault {
				e.Route = string(it.Route)
			}
			rep.Items = append(rep.Items, e)
		}
		s.ok(r, wal.VerbList, rep)
	})
}

func (s *Service) handleCount(r micro.Request) {
	prefix, err := prefixFromSubject(r.Subject(), s.q.count)
	if err != nil {
		s.fail(r, wal.VerbCount, err)
		return
	}
	var req countRequest
	if err := decodeBody(r.Data(), &req); err != nil {
		s.fail(r, wal.VerbCount, err)
		return
	}
	if err := parseStateFilter(req.State); err != nil {
		s.fail(r, wal.VerbCount, err)
		return
	}
	s.spawn(s.cfg.ReadTimeout+s.cfg.ReadWait, func(ctx context.Context) {
		if _, err := s.minSeq(ctx, nats.Header(r.Headers())); err != nil {
			s.fail(r, wal.VerbCount, err)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.ReadTimeout)
		defer cancel()
		n, err := s.q.store.Count(rctx, store.Query{Prefix: prefix, State: req.State})
		if err != nil {
			s.fail(r, wal.VerbCount, s.storeError(err))
			return
		}
		s.ok(r, wal.VerbCount, countReply{Count: n})
	})
}

// cursorVersion starts every cursor; a cursor of another version is
// refused rather than misread.
const cursorVersion = "c1"

// encodeCursor returns the opaque cursor after id for the listing q:
// base64url (no padding) of "c1", the prefix, the state and the last id
// returned, separated by NUL (which no id, prefix or state holds). The
// listing continues strictly after that id in byte order, so an id that
// exists during the whole listing is returned exactly once, whatever is
// written or deleted meanwhile.
func encodeCursor(q store.Query, after string) string {
	raw := cursorVersion + "\x00" + q.Prefix + "\x00" + q.State + "\x00" + after
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor returns the id a cursor continues after; "" for no cursor.
// A cursor from another listing (other prefix or state) is refused.
func decodeCursor(c string, q store.Query) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", item.Errorf(item.CodeInvalidJSON, "cursor is not one this service issued")
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 4 || parts[0] != cursorVersion || item.ValidateID(parts[3]) != nil {
		return "", item.Errorf(item.CodeInvalidJSON, "cursor is not one this service issued")
	}
	if parts[1] != q.Prefix || parts[2] != q.State {
		return "", item.Errorf(item.CodeInvalidJSON, "cursor belongs to another listing (prefix %q, state %q)",
			clipText(parts[1]), clipText(parts[2]))
	}
	return parts[3], nil
}
