package ingest

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

type delPrefixRequest struct {
	State string `json:"state"`
	Limit int    `json:"limit"`
	// All must be true to delete the whole keyspace (no prefix, no state).
	All bool `json:"all"`
}

type delPrefixReply struct {
	// Count is the number of tombstones written.
	Count int `json:"count"`
	// Seq is the WAL sequence of the last tombstone (0 when none).
	Seq uint64 `json:"seq"`
	// More reports live ids left under the prefix (the limit was reached).
	More bool `json:"more"`
}

type setStateRequest struct {
	State *string `json:"state"`
}

type setStateReply struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	Seq     uint64 `json:"seq"`
	State   string `json:"state"`
}

// deletePage is the SQL page size of a delprefix.
const deletePage = 500

// handleDelPrefix tombstones every live id under a prefix (and in a state,
// if given) through the WAL. It first waits, like a strong read, until the
// writers have committed every write acknowledged before the request, then
// lists SQL and publishes one delete per id at the id's version + 1: a
// write that lands later with a higher version survives (it is newer).
func (s *Service) handleDelPrefix(r micro.Request) {
	const op = wal.VerbDelPrefix
	prefix, err := prefixFromSubject(r.Subject(), s.q.delprefix)
	if err != nil {
		s.fail(r, op, err)
		return
	}
	var req delPrefixRequest
	if err := decodeBody(r.Data(), &req); err != nil {
		s.fail(r, op, err)
		return
	}
	if err := parseStateFilter(req.State); err != nil {
		s.fail(r, op, err)
		return
	}
	if prefix == "" && req.State == "" && !req.All {
		s.fail(r, op, item.Errorf(item.CodeInvalidJSON, `deleting the whole keyspace needs {"all":true}`))
		return
	}
	limit := req.Limit
	switch {
	case limit < 0:
		s.fail(r, op, item.Errorf(item.CodeInvalidJSON, "limit %d is negative", limit))
		return
	case limit == 0:
		limit = s.q.cfg.DeleteLimit
	case limit > s.q.cfg.MaxDeleteLimit:
		limit = s.q.cfg.MaxDeleteLimit
	}
	origin, err := originHeader(nats.Header(r.Headers()))
	if err != nil {
		s.fail(r, op, err)
		return
	}
	q := store.Query{Prefix: prefix, State: req.State}
	s.spawn(s.q.cfg.BulkTimeout, func(ctx context.Context) {
		if err := s.waitStrong(ctx); err != nil {
			s.fail(r, op, err)
			return
		}
		rep, err := s.deleteMatching(ctx, q, limit, origin)
		if err != nil {
			s.fail(r, op, err)
			return
		}
		s.ok(r, op, rep)
	})
}

// deleteMatching lists q page by page and publishes a tombstone per id,
// at most limit, with at most MaxInFlight waiting for the WAL.
func (s *Service) deleteMatching(ctx context.Context, q store.Query, limit int, origin string) (delPrefixReply, error) {
	var (
		rep  delPrefixReply
		mu   sync.Mutex
		werr error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, s.q.cfg.MaxInFlight)
	after := ""
	for rep.Count < limit {
		want := min(deletePage, limit-rep.Count)
		page, err := s.q.store.List(ctx, q, after, want)
		if err != nil {
			wg.Wait()
			return rep, s.storeError(err)
		}
		for _, it := range page {
			w := wal.Write{ID: it.ID, Op: wal.OpDel, Version: min(it.Version+1, item.MaxVersion), Origin: origin}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return rep, s.unavailable("the delete did not finish in time", ctx.Err())
			}
			wg.Add(1)
			s.inflight.Add(1)
			done := func(a wal.Ack, err error) {
				defer func() { <-sem; wg.Done(); s.inflight.Add(-1) }()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					werr = err
					return
				}
				rep.Seq = max(rep.Seq, a.Seq)
			}
			if err := s.pub.PublishMsgAsync(w.Encode(s.names), done); err != nil {
				<-sem
				wg.Done()
				s.inflight.Add(-1)
				wg.Wait()
				return rep, err
			}
			rep.Count++
			after = it.ID
		}
		mu.Lock()
		failed := werr
		mu.Unlock()
		if failed != nil {
			wg.Wait()
			return rep, failed
		}
		if len(page) < want {
			break // the listing is exhausted
		}
	}
	wg.Wait()
	if werr != nil {
		return rep, werr
	}
	if rep.Count >= limit {
		more, err := s.q.store.List(ctx, q, after, 1)
		if err != nil {
			return rep, s.storeError(err)
		}
		rep.More = len(more) > 0
	}
	return rep, nil
}

// handleSetState re-writes the current item with a new state: a put of
// the same payload, content type, cache TTL and route, through the WAL, at
// Sync-Version or else the current version + 1. It reads the current item
// from SQL once every write acknowledged before the request is committed.
// It is a read-modify-write without a lock: a write that lands between the
// read and the put competes by version (see docs/query.md).
func (s *Service) handleSetState(r micro.Request) {
	const op = wal.VerbSetState
	id, err := idFromSubject(r.Subject(), s.q.setstate)
	if err != nil {
		s.fail(r, op, err)
		return
	}
	var req setStateRequest
	if err := decodeBody(r.Data(), &req); err != nil {
		s.fail(r, op, err)
		return
	}
	if req.State == nil {
		s.fail(r, op, item.Errorf(item.CodeInvalidJSON, `the body needs "state" ("" clears it)`))
		return
	}
	if err := parseStateFilter(*req.State); err != nil {
		s.fail(r, op, err)
		return
	}
	h := nats.Header(r.Headers())
	w := wal.Write{ID: id, Op: wal.OpPut, State: *req.State}
	if v, ok, err := header(h, item.HeaderVersion, item.CodeInvalidVersion); err != nil {
		s.fail(r, op, err)
		return
	} else if ok {
		if w.Version, err = item.ParseVersion(v); err != nil {
			s.fail(r, op, err)
			return
		}
	}
	if w.MsgID, _, err = header(h, item.HeaderMsgID, item.CodeInvalidHeader); err != nil {
		s.fail(r, op, err)
		return
	}
	if w.Origin, err = originHeader(h); err != nil {
		s.fail(r, op, err)
		return
	}
	s.spawn(s.q.cfg.BulkTimeout, func(ctx context.Context) {
		if err := s.waitStrong(ctx); err != nil {
			s.fail(r, op, err)
			return
		}
		cur, err := s.q.store.Get(ctx, id)
		if err != nil {
			s.fail(r, op, s.storeError(err))
			return
		}
		if w.Version == 0 {
			if cur.Version >= item.MaxVersion {
				s.fail(r, op, item.Errorf(item.CodeInvalidVersion, "version %d has no successor", cur.Version))
				return
			}
			w.Version = cur.Version + 1
		} else if w.Version <= cur.Version {
			s.fail(r, op, item.Errorf(item.CodeInvalidVersion, "version %d is not above the current version %d", w.Version, cur.Version))
			return
		}
		w.Payload, w.ContentType, w.CacheTTL, w.Route = cur.Payload, cur.ContentType, cur.CacheTTL, cur.Route
		ack, err := s.appendWrite(ctx, w)
		if err != nil {
			s.fail(r, op, err)
			return
		}
		s.ok(r, op, setStateReply{ID: id, Version: w.Version, Seq: ack.Seq, State: w.State})
	})
}

// appendWrite publishes one WAL write and waits for its acknowledgement;
// Stop waits for it like for any write in flight.
func (s *Service) appendWrite(ctx context.Context, w wal.Write) (wal.Ack, error) {
	if err := w.Validate(0); err != nil {
		return wal.Ack{}, err
	}
	type result struct {
		ack wal.Ack
		err error
	}
	ch := make(chan result, 1) // the ack callback never blocks
	s.inflight.Add(1)
	err := s.pub.PublishMsgAsync(w.Encode(s.names), func(a wal.Ack, err error) {
		defer s.inflight.Add(-1)
		ch <- result{a, err}
	})
	if err != nil {
		s.inflight.Add(-1)
		return wal.Ack{}, err
	}
	select {
	case res := <-ch:
		return res.ack, res.err
	case <-ctx.Done():
		return wal.Ack{}, s.unavailable("the WAL did not acknowledge in time; the write may still land", ctx.Err())
	}
}

// waitStrong waits until the writers have committed every WAL write up to
// the WAL's last sequence now (Sync-Consistency: strong).
func (s *Service) waitStrong(ctx context.Context) error {
	last, err := s.walLastSeq(ctx)
	if err != nil {
		return err
	}
	if last == 0 {
		return nil
	}
	return s.waitAckFloor(ctx, last)
}

// originHeader returns the validated Sync-Origin of a request, or "".
func originHeader(h nats.Header) (string, error) {
	v, ok, err := header(h, item.HeaderOrigin, item.CodeInvalidHeader)
	if err != nil || !ok {
		return "", err
	}
	return item.ParseOrigin(v)
}
