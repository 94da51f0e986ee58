package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// The query endpoints and routes (docs/query.md):
//
//	<P>.list[.<prefix>]       {"cursor","limit","state"}  -> {"items","cursor","more"}
//	<P>.count[.<prefix>]      {"state"}                   -> {"count"}
//	<P>.delprefix[.<prefix>]  {"state","limit","all"}     -> {"count","seq","more"}
//	<P>.setstate.<id>         {"state"}                   -> {"id","version","seq","state"}
//	<P>.mget                  {"ids"}                     -> {"items"} (payloads base64)
//	<P>.is_current.<id>       {"sha256"}                  -> {"current","exists","version"}
//
// and, on put, del and get, the header Sync-Route (default, durable,
// cache) and on writes Sync-Origin. list, count, delprefix and setstate
// read SQL (Queries.Store) and are served only when it is set; mget and
// is_current read the Reader and are served only when it is set; the
// cache route writes and reads Redis (Queries.Cache), 503 without it.

// QueryStore is what the query endpoints read from SQL; store.Backend
// (PostgreSQL, SQLite) satisfies it. Get and List see live items only.
type QueryStore interface {
	Get(ctx context.Context, id string) (store.Item, error)
	List(ctx context.Context, q store.Query, after string, limit int) ([]store.Item, error)
	Count(ctx context.Context, q store.Query) (int64, error)
}

// CacheStore is Redis as the cache route uses it; *rediscache.Cache
// satisfies it.
type CacheStore interface {
	PutCacheOnly(ctx context.Context, e rediscache.Entry) (rediscache.CacheOnlyResult, error)
	DeleteCacheOnly(ctx context.Context, id string, version uint64) (rediscache.CacheOnlyResult, error)
	Get(ctx context.Context, id string) (rediscache.Entry, bool, error)
}

// Queries are the optional dependencies of the query endpoints.
type Queries struct {
	// Store serves list, count, delprefix and setstate; nil: not served.
	Store QueryStore
	// Cache takes Sync-Route: cache writes and reads; nil: they are 503.
	Cache CacheStore
	// Config tunes them.
	Config QueryConfig
}

// QueryConfig tunes the query endpoints. Zero fields take the defaults
// documented here.
type QueryConfig struct {
	// ListLimit is the page size of a list without "limit". Default 100.
	ListLimit int
	// MaxListLimit caps "limit" of list. Default 1000.
	MaxListLimit int
	// DeleteLimit is how many ids one delprefix tombstones without
	// "limit"; MaxDeleteLimit caps "limit". Defaults 10000 and 100000.
	DeleteLimit, MaxDeleteLimit int
	// MaxMGet caps the ids of one mget. Default 1000.
	MaxMGet int
	// MGetConcurrency bounds the Reader calls of one mget. Default 16.
	MGetConcurrency int
	// BulkTimeout bounds a delprefix, a setstate or an mget. Default 60s.
	BulkTimeout time.Duration
	// CacheTTL is the TTL of a cache-route put without Sync-Cache-TTL.
	// Default 1h.
	CacheTTL time.Duration
	// MaxInFlight bounds the tombstones of one delprefix waiting for the
	// WAL. Default 256.
	MaxInFlight int
}

func (c QueryConfig) withDefaults() QueryConfig {
	def := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	def(&c.ListLimit, 100)
	def(&c.MaxListLimit, 1000)
	def(&c.DeleteLimit, 10000)
	def(&c.MaxDeleteLimit, 100000)
	def(&c.MaxMGet, 1000)
	def(&c.MGetConcurrency, 16)
	def(&c.MaxInFlight, 256)
	if c.BulkTimeout == 0 {
		c.BulkTimeout = time.Minute
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = time.Hour
	}
	return c
}

// Validate checks c after defaults.
func (c QueryConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	for _, n := range []int{c.ListLimit, c.MaxListLimit, c.DeleteLimit, c.MaxDeleteLimit, c.MaxMGet, c.MGetConcurrency, c.MaxInFlight} {
		if n < 1 {
			errs = append(errs, errors.New("ingest: query limits must be positive"))
			break
		}
	}
	if c.ListLimit > c.MaxListLimit || c.DeleteLimit > c.MaxDeleteLimit {
		errs = append(errs, errors.New("ingest: a default query limit exceeds its maximum"))
	}
	if c.BulkTimeout < 0 {
		errs = append(errs, errors.New("ingest: BulkTimeout must not be negative"))
	}
	if c.CacheTTL < time.Second || c.CacheTTL > item.MaxCacheTTL {
		errs = append(errs, fmt.Errorf("ingest: CacheTTL %s not in 1s..%s", c.CacheTTL, item.MaxCacheTTL))
	}
	return errors.Join(errs...)
}

// queries is the Service's query state.
type queries struct {
	store QueryStore
	cache CacheStore
	cfg   QueryConfig
	// subject prefixes ("sync.list.") and whole-keyspace subjects ("sync.list")
	list, count, delprefix, setstate, isCurrent string
}

func newQueries(q Queries, n wal.Names) (queries, error) {
	if err := q.Config.Validate(); err != nil {
		return queries{}, err
	}
	return queries{
		store: q.Store, cache: q.Cache, cfg: q.Config.withDefaults(),
		list: n.APIPrefix(wal.VerbList), count: n.APIPrefix(wal.VerbCount),
		delprefix: n.APIPrefix(wal.VerbDelPrefix), setstate: n.APIPrefix(wal.VerbSetState),
		isCurrent: n.APIPrefix(wal.VerbIsCurrent),
	}, nil
}

// fxQueries builds Queries from optional fx values without typed nils.
func fxQueries(b store.Backend, c *rediscache.Cache) Queries {
	var q Queries
	if b != nil {
		q.Store = b
	}
	if c != nil {
		q.Cache = c
	}
	return q
}

// addQueryEndpoints registers the query endpoints that the Service can
// serve (see Queries).
func (s *Service) addQueryEndpoints(g micro.Group) error {
	type ep struct {
		name, subject string
		h             micro.HandlerFunc
	}
	var eps []ep
	if s.q.store != nil {
		eps = append(eps,
			ep{wal.VerbList, wal.VerbList, s.handleList},
			ep{wal.VerbList + "_prefix", wal.VerbList + ".>", s.handleList},
			ep{wal.VerbCount, wal.VerbCount, s.handleCount},
			ep{wal.VerbCount + "_prefix", wal.VerbCount + ".>", s.handleCount},
			ep{wal.VerbDelPrefix, wal.VerbDelPrefix, s.handleDelPrefix},
			ep{wal.VerbDelPrefix + "_prefix", wal.VerbDelPrefix + ".>", s.handleDelPrefix},
			ep{wal.VerbSetState, wal.VerbSetState + ".>", s.handleSetState},
		)
	}
	if s.reader != nil {
		eps = append(eps,
			ep{wal.VerbMGet, wal.VerbMGet, s.handleMGet},
			ep{wal.VerbIsCurrent, wal.VerbIsCurrent + ".>", s.handleIsCurrent},
		)
	}
	for _, e := range eps {
		if err := g.AddEndpoint(e.name, s.track(e.h), micro.WithEndpointSubject(e.subject)); err != nil {
			return fmt.Errorf("ingest: add endpoint %s: %w", e.name, err)
		}
	}
	return nil
}

// spawn runs fn on a goroutine of its own, like a read: at most
// Config.ReadConcurrency at once, waited for by Stop, with a context
// bounded by timeout.
func (s *Service) spawn(timeout time.Duration, fn func(ctx context.Context)) {
	s.readSem <- struct{}{}
	s.reads.Add(1)
	go func() {
		defer func() { <-s.readSem; s.reads.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		fn(ctx)
	}()
}

// prefixFromSubject returns the id prefix of a list, count or delprefix
// subject: "" for the whole-keyspace subject ("sync.list"), else the
// validated tokens after "sync.list.".
func prefixFromSubject(subject, withDot string) (string, error) {
	if subject == withDot[:len(withDot)-1] {
		return "", nil
	}
	return idFromSubject(subject, withDot)
}

// decodeBody unmarshals a JSON request body into v; an empty body leaves v
// as it is. Unknown fields are rejected, so that a misspelt option is an
// error and not silently ignored.
func decodeBody(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return item.Errorf(item.CodeInvalidJSON, "request body: %v", err)
	}
	if dec.More() {
		return item.Errorf(item.CodeInvalidJSON, "request body: trailing data")
	}
	return nil
}

// storeError maps SQL and Redis errors to the client API's codes.
func (s *Service) storeError(err error) error {
	var ie *item.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return ie
	case errors.Is(err, store.ErrNotFound):
		return &item.Error{Code: item.CodeNotFound, Message: "no such item"}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, rediscache.ErrUnavailable),
		errors.Is(err, context.DeadlineExceeded):
		return s.unavailable("the store is unavailable", err)
	}
	return err
}

// parseState validates an optional state filter.
func parseStateFilter(st string) error {
	if st == "" {
		return nil
	}
	_, err := item.ParseState(st)
	return err
}
