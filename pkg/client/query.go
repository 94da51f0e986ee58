package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Query selects live items for List, Count and DeletePrefix.
type Query struct {
	// Prefix matches ids on segment boundaries: "a.b" covers "a.b" and
	// "a.b.x", never "a.bc". "" is the whole keyspace.
	Prefix string
	// State, when set, matches only items with exactly this state.
	State string
	// All must be set for DeletePrefix to delete the whole keyspace (no
	// Prefix, no State). List and Count ignore it.
	All bool
}

func (q Query) validate() error {
	if err := item.ValidatePrefix(q.Prefix); err != nil {
		return err
	}
	if q.State != "" {
		if _, err := item.ParseState(q.State); err != nil {
			return err
		}
	}
	return nil
}

// subject is verb's subject for q: <P>.<verb> or <P>.<verb>.<prefix>.
func (c *Client) querySubject(verb string, q Query) string {
	if q.Prefix == "" {
		return c.names.APIVerbSubject(verb)
	}
	return c.names.APISubject(verb, q.Prefix)
}

// ListEntry is one listed item (no payload).
type ListEntry struct {
	ID          string `json:"id"`
	Version     uint64 `json:"version"`
	State       string `json:"state,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// Route is "durable" for an item kept out of Redis, else empty.
	Route string `json:"route,omitempty"`
}

// ListPage is one page of a listing, in id order.
type ListPage struct {
	Items []ListEntry `json:"items"`
	// Cursor continues the listing; empty on the last page.
	Cursor string `json:"cursor,omitempty"`
	More   bool   `json:"more"`
}

// List returns one page of the live items matching q, after cursor ("" to
// start), at most limit (0: the service's default, 100; at most 1000).
// Consistency options (WithAfterSeq, WithStrong) apply as for Get. An id
// that exists during the whole listing is returned exactly once.
func (c *Client) List(ctx context.Context, q Query, cursor string, limit int, opts ...ReadOption) (ListPage, error) {
	if err := q.validate(); err != nil {
		return ListPage{}, err
	}
	body, _ := json.Marshal(struct {
		Cursor string `json:"cursor,omitempty"`
		Limit  int    `json:"limit,omitempty"`
		State  string `json:"state,omitempty"`
	}{cursor, limit, q.State})
	var page ListPage
	if err := c.queryJSON(ctx, c.querySubject(wal.VerbList, q), body, readHeader(opts), &page); err != nil {
		return ListPage{}, err
	}
	return page, nil
}

// ListAll calls fn for every live item matching q, page by page (limit
// per page, 0: the default), until the listing ends or fn fails.
func (c *Client) ListAll(ctx context.Context, q Query, limit int, fn func(ListEntry) error, opts ...ReadOption) error {
	cursor := ""
	for {
		page, err := c.List(ctx, q, cursor, limit, opts...)
		if err != nil {
			return err
		}
		for _, e := range page.Items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if !page.More {
			return nil
		}
		cursor = page.Cursor
	}
}

// Count counts the live items matching q.
func (c *Client) Count(ctx context.Context, q Query, opts ...ReadOption) (int64, error) {
	if err := q.validate(); err != nil {
		return 0, err
	}
	body, _ := json.Marshal(struct {
		State string `json:"state,omitempty"`
	}{q.State})
	var r struct {
		Count int64 `json:"count"`
	}
	if err := c.queryJSON(ctx, c.querySubject(wal.VerbCount, q), body, readHeader(opts), &r); err != nil {
		return 0, err
	}
	return r.Count, nil
}

// DeleteResult is the outcome of DeletePrefix.
type DeleteResult struct {
	// Count is the number of tombstones written.
	Count int `json:"count"`
	// Seq is the WAL sequence of the last one (0 when none): pass it to
	// WithAfterSeq to read past the delete.
	Seq uint64 `json:"seq"`
}

// DeletePrefix writes, through the WAL, a tombstone for every live item
// matching q (the whole keyspace only with q.All), at the item's version
// + 1, in requests of at most the service's limit (10000) until none is
// left. A write that lands meanwhile with a higher version survives. Of
// the write options only WithOrigin applies.
func (c *Client) DeletePrefix(ctx context.Context, q Query, opts ...WriteOption) (DeleteResult, error) {
	if err := q.validate(); err != nil {
		return DeleteResult{}, err
	}
	o := writeOpts{h: nats.Header{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return DeleteResult{}, err
		}
	}
	h := nats.Header{}
	if v := o.h.Get(item.HeaderOrigin); v != "" {
		h.Set(item.HeaderOrigin, v)
	}
	body, _ := json.Marshal(struct {
		State string `json:"state,omitempty"`
		All   bool   `json:"all,omitempty"`
	}{q.State, q.All})
	var total DeleteResult
	for {
		var r struct {
			DeleteResult
			More bool `json:"more"`
		}
		if err := c.queryJSON(ctx, c.querySubject(wal.VerbDelPrefix, q), body, h, &r); err != nil {
			return total, err
		}
		total.Count += r.Count
		total.Seq = max(total.Seq, r.Seq)
		if !r.More {
			return total, nil
		}
	}
}

// SetState re-writes id with a new state ("" clears it): a put of the
// same payload through the WAL at WithVersion, or else the current version
// + 1. Of the write options WithVersion, WithMsgID and WithOrigin apply.
// The Result's Version is the version written.
func (c *Client) SetState(ctx context.Context, id, state string, opts ...WriteOption) (Result, error) {
	if err := item.ValidateID(id); err != nil {
		return Result{}, err
	}
	if state != "" {
		if _, err := item.ParseState(state); err != nil {
			return Result{}, err
		}
	}
	o := writeOpts{h: nats.Header{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return Result{}, err
		}
	}
	h := nats.Header{}
	for _, k := range []string{item.HeaderVersion, item.HeaderMsgID, item.HeaderOrigin} {
		if v := o.h.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	body, _ := json.Marshal(map[string]string{"state": state})
	var r Result
	if err := c.queryJSON(ctx, c.names.APISubject(wal.VerbSetState, id), body, h, &r); err != nil {
		return Result{}, err
	}
	return r, nil
}

// WithOrigin sets Sync-Origin, the name of the pipeline a write comes
// from; it reaches the commit record's change, so that a replicator can
// skip its own writes (see package cdc).
func WithOrigin(origin string) WriteOption {
	return func(o *writeOpts) error {
		if _, err := item.ParseOrigin(origin); err != nil {
			return err
		}
		o.h.Set(item.HeaderOrigin, origin)
		return nil
	}
}

// WithRoute sets Sync-Route on a put: item.RouteDefault (SQL, then Redis)
// or item.RouteDurable (SQL only, never Redis). The cache route has
// replies of its own: use PutCache.
func WithRoute(r item.Route) WriteOption {
	return func(o *writeOpts) error {
		switch r {
		case item.RouteDefault, item.RouteDurable:
			o.h.Set(item.HeaderRoute, r.String())
			return nil
		case item.RouteCache:
			return item.Errorf(item.CodeInvalidHeader, "the cache route is written with PutCache")
		}
		return item.Errorf(item.CodeInvalidHeader, "route %q is not default, durable or cache", string(r))
	}
}

func readHeader(opts []ReadOption) nats.Header {
	o := readOpts{h: nats.Header{}}
	for _, opt := range opts {
		opt(&o)
	}
	return o.h
}

// queryJSON sends body to subject and decodes the JSON reply into v.
func (c *Client) queryJSON(ctx context.Context, subject string, body []byte, h nats.Header, v any) error {
	resp, err := c.request(ctx, &nats.Msg{Subject: subject, Data: body, Header: h})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Data, v); err != nil {
		return &item.Error{Code: item.CodeInternal, Message: fmt.Sprintf("reply of %s is not the expected JSON", subject), Err: err}
	}
	return nil
}
