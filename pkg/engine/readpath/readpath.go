// Package readpath answers ingest's reads from the storage tiers.
package readpath

import (
	"context"
	"errors"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/store"
)

// sqlGetter is the SQL tier as the read path uses it.
type sqlGetter interface {
	Get(ctx context.Context, id string) (store.Item, error)
}

// Reader serves reads from SQL (L3).
type Reader struct {
	sql sqlGetter
}

// New returns a Reader over the SQL tier.
func New(sql sqlGetter) *Reader { return &Reader{sql: sql} }

// Get implements ingest.Reader. minSeq is enforced by ingest before the
// call (it waits for the writers' ack floor), so SQL always includes it.
func (r *Reader) Get(ctx context.Context, id string, _ uint64) (ingest.Item, error) {
	it, err := r.sql.Get(ctx, id)
	if err != nil {
		return ingest.Item{}, translate(err)
	}
	return ingest.Item{ID: it.ID, Version: it.Version, Payload: it.Payload, ContentType: it.ContentType, State: it.State, Source: "l3"}, nil
}

// Exists implements ingest.Reader.
func (r *Reader) Exists(ctx context.Context, id string) (bool, error) {
	_, err := r.sql.Get(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	default:
		return false, translate(err)
	}
}

func translate(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &item.Error{Code: item.CodeNotFound, Message: "no such item"}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &item.Error{Code: item.CodeUnavailable, Message: "SQL is unavailable", RetryAfterSeconds: 1, Err: err}
	default:
		return err
	}
}
