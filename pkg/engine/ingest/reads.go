package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// Item is what a Reader returns for a live item.
type Item struct {
	ID          string
	Version     uint64
	Payload     []byte
	ContentType string
	State       string
	// Source is the tier that answered: "l1", "l2" or "l3".
	Source string
}

// Reader is what ingest needs from the storage tiers; the composition root
// adapts the stores to it. It is exported only so that fx can wire it.
//
// Get returns the live item id, from a tier that includes every WAL write
// up to minSeq (0: any tier); a missing or deleted item is an error
// matching item.ErrNotFound. Exists may answer from a trusted filter.
// Other failures should be *item.Error (CodeUnavailable for a tier that is
// down); anything else is reported as internal.
type Reader interface {
	Get(ctx context.Context, id string, minSeq uint64) (Item, error)
	Exists(ctx context.Context, id string) (bool, error)
}

type existsReply struct {
	Exists bool `json:"exists"`
}

func (s *Service) handleGet(r micro.Request) {
	if s.getCacheRoute(r) { // query_route.go: Sync-Route: cache reads Redis alone
		return
	}
	s.read(r, wal.VerbGet, s.prefixes[2], s.get)
}
func (s *Service) handleExists(r micro.Request) { s.read(r, wal.VerbExists, s.prefixes[3], s.exists) }

// read validates the id, then runs fn on a goroutine of its own, at most
// Config.ReadConcurrency at once (waiting for a slot pushes back on the
// subscription, not on writes, which have their own).
func (s *Service) read(r micro.Request, op, prefix string, fn func(ctx context.Context, r micro.Request, id string)) {
	id, err := idFromSubject(r.Subject(), prefix)
	if err != nil {
		s.fail(r, op, err)
		return
	}
	if s.reader == nil {
		s.fail(r, op, &item.Error{Code: item.CodeUnavailable, Message: "reads are not served by this ingest",
			RetryAfterSeconds: int(s.cfg.RetryAfter.Seconds())})
		return
	}
	s.readSem <- struct{}{}
	s.reads.Add(1)
	go func() {
		defer func() { <-s.readSem; s.reads.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ReadTimeout+s.cfg.ReadWait)
		defer cancel()
		fn(ctx, r, id)
	}()
}

func (s *Service) get(ctx context.Context, r micro.Request, id string) {
	minSeq, err := s.minSeq(ctx, nats.Header(r.Headers()))
	if err != nil {
		s.fail(r, wal.VerbGet, err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.ReadTimeout)
	defer cancel()
	it, err := s.reader.Get(rctx, id, minSeq)
	if err != nil {
		s.fail(r, wal.VerbGet, readError(err))
		return
	}
	h := micro.Headers{
		item.HeaderVersion:     {strconv.FormatUint(it.Version, 10)},
		item.HeaderContentType: {it.ContentType},
		item.HeaderSource:      {it.Source},
	}
	if it.State != "" {
		h[item.HeaderState] = []string{it.State}
	}
	s.m.requests.WithLabelValues(wal.VerbGet, "ok").Inc()
	_ = r.Respond(it.Payload, micro.WithHeaders(h))
}

func (s *Service) exists(ctx context.Context, r micro.Request, id string) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.ReadTimeout)
	defer cancel()
	ok, err := s.reader.Exists(rctx, id)
	if err != nil {
		s.fail(r, wal.VerbExists, readError(err))
		return
	}
	s.ok(r, wal.VerbExists, existsReply{Exists: ok})
}

// minSeq parses the consistency headers and waits until the writers' ack
// floor covers the sequence asked for; it returns that sequence.
func (s *Service) minSeq(ctx context.Context, h nats.Header) (uint64, error) {
	var n uint64
	if v, ok, err := header(h, item.HeaderAfterSeq, item.CodeInvalidHeader); err != nil {
		return 0, err
	} else if ok {
		if n, err = item.ParseAfterSeq(v); err != nil {
			return 0, err
		}
	}
	if v, ok, err := header(h, item.HeaderConsistency, item.CodeInvalidHeader); err != nil {
		return 0, err
	} else if ok {
		if v != "strong" {
			return 0, item.Errorf(item.CodeInvalidHeader, "Sync-Consistency %q is not strong", clipText(v))
		}
		last, err := s.walLastSeq(ctx)
		if err != nil {
			return 0, err
		}
		n = max(n, last)
	}
	if n == 0 {
		return 0, nil
	}
	return n, s.waitAckFloor(ctx, n)
}

func (s *Service) walLastSeq(ctx context.Context) (uint64, error) {
	st, err := s.js.Stream(ctx, s.names.WALStream())
	if err != nil {
		return 0, s.unavailable("the WAL cannot be read", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, s.unavailable("the WAL cannot be read", err)
	}
	return info.State.LastSeq, nil
}

// waitAckFloor polls the writers' consumer until its ack floor reaches n,
// for at most Config.ReadWait.
func (s *Service) waitAckFloor(ctx context.Context, n uint64) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadWait)
	defer cancel()
	tick := time.NewTicker(s.cfg.ReadPoll)
	defer tick.Stop()
	for {
		cons, err := s.js.Consumer(ctx, s.names.WALStream(), s.names.Consumer())
		if err == nil {
			info := cons.CachedInfo()
			if info.AckFloor.Stream >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return s.unavailable(fmt.Sprintf("the writers have not committed sequence %d yet", n), ctx.Err())
		case <-tick.C:
		}
	}
}

func (s *Service) unavailable(msg string, err error) error {
	return &item.Error{Code: item.CodeUnavailable, Message: msg, RetryAfterSeconds: int(s.cfg.RetryAfter.Seconds()), Err: err}
}

// readError keeps *item.Error and maps deadline errors to unavailable.
func readError(err error) error {
	var ie *item.Error
	if errors.As(err, &ie) {
		return ie
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &item.Error{Code: item.CodeUnavailable, Message: "the read timed out", Err: err}
	}
	return err
}
