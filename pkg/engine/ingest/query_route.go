package ingest

import (
	"context"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/wal"
)

// cacheWriteReply answers a put or del with Sync-Route: cache. Seq is
// always 0: the write never went through the WAL.
type cacheWriteReply struct {
	ID string `json:"id"`
	// Version is the version written (or removed), or, when Applied is
	// false, the stored version that refused it.
	Version uint64 `json:"version"`
	Seq     uint64 `json:"seq"`
	Route   string `json:"route"`
	Applied bool   `json:"applied"`
}

// parseRouting reads Sync-Route and Sync-Origin of a put or del into w. A
// delete keeps only the cache route (a tombstone has no route).
func parseRouting(h nats.Header, op wal.Op, w *wal.Write) error {
	v, ok, err := header(h, item.HeaderRoute, item.CodeInvalidHeader)
	if err != nil {
		return err
	}
	if ok {
		r, err := item.ParseRoute(v)
		if err != nil {
			return err
		}
		if op == wal.OpPut || r == item.RouteCache {
			w.Route = r
		}
	}
	w.Origin, err = originHeader(h)
	return err
}

// writeCacheOnly serves a put or del with Sync-Route: cache: straight into
// Redis with the guarded cache-only script, no WAL, no tree deltas.
func (s *Service) writeCacheOnly(r micro.Request, w wal.Write) {
	op := string(w.Op)
	if s.q.cache == nil {
		s.fail(r, op, s.unavailable("Sync-Route: cache needs Redis, which this ingest does not have", nil))
		return
	}
	s.spawn(s.cfg.ReadTimeout, func(ctx context.Context) {
		var res rediscache.CacheOnlyResult
		var err error
		if w.Op == wal.OpDel {
			res, err = s.q.cache.DeleteCacheOnly(ctx, w.ID, w.Version)
			if err == nil && !res.Applied && res.Version == 0 {
				err = item.Errorf(item.CodeNotFound, "no cache-only value for %s", clipText(w.ID))
			}
		} else {
			ttl := w.CacheTTL
			if ttl == 0 {
				ttl = s.q.cfg.CacheTTL
			}
			res, err = s.q.cache.PutCacheOnly(ctx, rediscache.Entry{ID: w.ID, Version: w.Version, Payload: w.Payload,
				ContentType: w.ContentType, State: w.State, TTL: ttl})
		}
		if err != nil {
			s.fail(r, op, s.storeError(err))
			return
		}
		s.ok(r, op, cacheWriteReply{ID: w.ID, Version: res.Version, Route: string(item.RouteCache), Applied: res.Applied})
	})
}

// getCacheRoute serves a get with Sync-Route: cache from Redis alone and
// reports whether it took the request; other routes take the normal read
// path (which may or may not see cache-only values: see docs/query.md).
func (s *Service) getCacheRoute(r micro.Request) bool {
	h := nats.Header(r.Headers())
	v, ok, err := header(h, item.HeaderRoute, item.CodeInvalidHeader)
	if err == nil && !ok {
		return false
	}
	if err == nil {
		var route item.Route
		if route, err = item.ParseRoute(v); err == nil && route != item.RouteCache {
			return false
		}
	}
	if err != nil {
		s.fail(r, wal.VerbGet, err)
		return true
	}
	id, err := idFromSubject(r.Subject(), s.prefixes[2])
	if err != nil {
		s.fail(r, wal.VerbGet, err)
		return true
	}
	if s.q.cache == nil {
		s.fail(r, wal.VerbGet, s.unavailable("Sync-Route: cache needs Redis, which this ingest does not have", nil))
		return true
	}
	s.spawn(s.cfg.ReadTimeout, func(ctx context.Context) {
		e, ok, err := s.q.cache.Get(ctx, id)
		if err == nil && !ok {
			err = item.Errorf(item.CodeNotFound, "no item %s in Redis", clipText(id))
		}
		if err != nil {
			s.fail(r, wal.VerbGet, s.storeError(err))
			return
		}
		hdr := micro.Headers{
			item.HeaderVersion:     {strconv.FormatUint(e.Version, 10)},
			item.HeaderContentType: {e.ContentType},
			item.HeaderSource:      {"l2"},
		}
		if e.State != "" {
			hdr[item.HeaderState] = []string{e.State}
		}
		s.m.requests.WithLabelValues(wal.VerbGet, "ok").Inc()
		_ = r.Respond(e.Payload, micro.WithHeaders(hdr))
	})
	return true
}
