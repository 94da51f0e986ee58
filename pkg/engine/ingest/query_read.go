package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

type mgetRequest struct {
	IDs []string `json:"ids"`
}

// MGetEntry is one id's answer in an mget reply, in request order: found
// with its item (payload base64, standard alphabet with padding), not
// found, or an error of its own.
type MGetEntry struct {
	ID          string       `json:"id"`
	Found       bool         `json:"found"`
	Version     uint64       `json:"version,omitempty"`
	ContentType string       `json:"content_type,omitempty"`
	State       string       `json:"state,omitempty"`
	Source      string       `json:"source,omitempty"`
	Payload     []byte       `json:"payload,omitempty"`
	Error       *errorDetail `json:"error,omitempty"`
}

type mgetReply struct {
	Items []MGetEntry `json:"items"`
}

type isCurrentRequest struct {
	SHA256 string `json:"sha256"`
}

type isCurrentReply struct {
	Current bool   `json:"current"`
	Exists  bool   `json:"exists"`
	Version uint64 `json:"version,omitempty"`
}

// replyMargin is kept free below the connection's max_payload for the
// reply's framing and headers.
const replyMargin = 4096

// handleMGet answers several gets in one request, from the same Reader
// (tier order) and with the same consistency headers as get. A reply never
// exceeds the NATS max_payload: items that no longer fit are answered with
// a per-item payload_too_large error, to be asked for again.
func (s *Service) handleMGet(r micro.Request) {
	const op = wal.VerbMGet
	var req mgetRequest
	if err := decodeBody(r.Data(), &req); err != nil {
		s.fail(r, op, err)
		return
	}
	if len(req.IDs) > s.q.cfg.MaxMGet {
		s.fail(r, op, item.Errorf(item.CodeInvalidJSON, "%d ids, at most %d per mget", len(req.IDs), s.q.cfg.MaxMGet))
		return
	}
	for _, id := range req.IDs {
		if err := item.ValidateID(id); err != nil {
			s.fail(r, op, err)
			return
		}
	}
	s.spawn(s.q.cfg.BulkTimeout, func(ctx context.Context) {
		minSeq, err := s.minSeq(ctx, nats.Header(r.Headers()))
		if err != nil {
			s.fail(r, op, err)
			return
		}
		entries := s.getMany(ctx, req.IDs, minSeq)
		budget := int(s.nc.MaxPayload()) - replyMargin
		size := len(`{"items":[]}`)
		for i := range entries {
			n := entrySize(entries[i])
			if size+n > budget {
				entries[i] = MGetEntry{ID: entries[i].ID, Error: &errorDetail{Code: item.CodePayloadTooLarge,
					Message: "the reply is full: ask for this id again"}}
				n = entrySize(entries[i])
			}
			size += n + 1
		}
		s.ok(r, op, mgetReply{Items: entries})
	})
}

// getMany reads ids with at most MGetConcurrency Reader calls at once.
func (s *Service) getMany(ctx context.Context, ids []string, minSeq uint64) []MGetEntry {
	out := make([]MGetEntry, len(ids))
	sem := make(chan struct{}, s.q.cfg.MGetConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, s.cfg.ReadTimeout)
			defer cancel()
			it, err := s.reader.Get(rctx, id, minSeq)
			switch {
			case err == nil:
				out[i] = MGetEntry{ID: id, Found: true, Version: it.Version, ContentType: it.ContentType,
					State: it.State, Source: it.Source, Payload: it.Payload}
			case errors.Is(err, item.ErrNotFound):
				out[i] = MGetEntry{ID: id}
			default:
				var ie *item.Error
				if !errors.As(readError(err), &ie) {
					ie = &item.Error{Code: item.CodeInternal, Message: "internal error"}
				}
				out[i] = MGetEntry{ID: id, Error: &errorDetail{Code: ie.Code, Message: ie.Message}}
			}
		}()
	}
	wg.Wait()
	return out
}

// entrySize is the JSON size of e, without encoding its payload twice.
func entrySize(e MGetEntry) int {
	p := e.Payload
	e.Payload = nil
	b, _ := json.Marshal(e)
	if len(p) == 0 {
		return len(b)
	}
	return len(b) + len(`,"payload":""`) + base64.StdEncoding.EncodedLen(len(p))
}

// handleIsCurrent answers whether the live item id has the payload whose
// SHA-256 (hex) the request carries, from the Reader with get's
// consistency headers: a replication peer asks before it sends a payload.
func (s *Service) handleIsCurrent(r micro.Request) {
	const op = wal.VerbIsCurrent
	id, err := idFromSubject(r.Subject(), s.q.isCurrent)
	if err != nil {
		s.fail(r, op, err)
		return
	}
	var req isCurrentRequest
	if err := decodeBody(r.Data(), &req); err != nil {
		s.fail(r, op, err)
		return
	}
	want, err := hex.DecodeString(strings.ToLower(req.SHA256))
	if err != nil || len(want) != sha256.Size {
		s.fail(r, op, item.Errorf(item.CodeInvalidJSON, `"sha256" must be 64 hex digits`))
		return
	}
	s.spawn(s.cfg.ReadTimeout+s.cfg.ReadWait, func(ctx context.Context) {
		minSeq, err := s.minSeq(ctx, nats.Header(r.Headers()))
		if err != nil {
			s.fail(r, op, err)
			return
		}
		rctx, cancel := context.WithTimeout(ctx, s.cfg.ReadTimeout)
		defer cancel()
		it, err := s.reader.Get(rctx, id, minSeq)
		if errors.Is(err, item.ErrNotFound) {
			s.ok(r, op, isCurrentReply{})
			return
		}
		if err != nil {
			s.fail(r, op, readError(err))
			return
		}
		sum := sha256.Sum256(it.Payload)
		s.ok(r, op, isCurrentReply{Current: string(sum[:]) == string(want), Exists: true, Version: it.Version})
	})
}
