package ingest

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// writeReply is the success body of put and del.
type writeReply struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	Seq     uint64 `json:"seq"`
}

func (s *Service) handlePut(r micro.Request) { s.handleWrite(r, wal.OpPut, s.prefixes[0]) }
func (s *Service) handleDel(r micro.Request) { s.handleWrite(r, wal.OpDel, s.prefixes[1]) }

// appendJSON renders the reply without reflection: it is on the hot path.
func (r writeReply) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, r.ID) // ids are printable ASCII: Go and JSON quoting agree
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, r.Version, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	return append(b, '}')
}

// handleWrite validates a put or delete, publishes it to the WAL and
// answers from the ack callback; it never waits for the PubAck itself.
func (s *Service) handleWrite(r micro.Request, op wal.Op, prefix string) {
	start := time.Now()
	opName := string(op)
	w, err := s.parseWrite(r, op, prefix)
	if err != nil {
		s.fail(r, opName, err)
		return
	}
	if w.Route == item.RouteCache {
		s.writeCacheOnly(r, w) // query_route.go: Redis only, no WAL
		return
	}
	msg := w.Encode(s.names)
	wal.CarryTrace(nats.Header(r.Headers()), msg.Header) // W3C trace context on to the writer
	if size := len(msg.Data) + headerSize(msg.Header); int64(size) > s.nc.MaxPayload() {
		s.fail(r, opName, item.Errorf(item.CodePayloadTooLarge,
			"the write is %d bytes with its WAL headers, the NATS server's max_payload is %d", size, s.nc.MaxPayload()))
		return
	}
	s.inflight.Add(1)
	err = s.pub.PublishMsgAsync(msg, func(a wal.Ack, err error) {
		defer s.inflight.Add(-1)
		if err != nil {
			s.fail(r, opName, err)
			return
		}
		ok, ackTime := s.m.okPut, s.m.ackPut
		if op == wal.OpDel {
			ok, ackTime = s.m.okDel, s.m.ackDel
		}
		ackTime.Observe(time.Since(start).Seconds())
		ok.Inc()
		_ = r.Respond(writeReply{ID: w.ID, Version: w.EffectiveVersion(a.Seq), Seq: a.Seq}.appendJSON(make([]byte, 0, 48+len(w.ID))))
	})
	if err != nil {
		s.inflight.Add(-1)
		s.fail(r, opName, err)
	}
}

// parseWrite turns a request into a validated Write.
func (s *Service) parseWrite(r micro.Request, op wal.Op, prefix string) (wal.Write, error) {
	id, err := idFromSubject(r.Subject(), prefix)
	if err != nil {
		return wal.Write{}, err
	}
	h := nats.Header(r.Headers())
	w := wal.Write{ID: id, Op: op}
	if v, ok, err := header(h, item.HeaderVersion, item.CodeInvalidVersion); err != nil {
		return wal.Write{}, err
	} else if ok {
		if w.Version, err = item.ParseVersion(v); err != nil {
			return wal.Write{}, err
		}
	}
	if w.MsgID, _, err = header(h, item.HeaderMsgID, item.CodeInvalidHeader); err != nil {
		return wal.Write{}, err
	}
	// The other headers are validated on every write and kept on puts.
	state, hasState, err := header(h, item.HeaderState, item.CodeInvalidHeader)
	if err != nil {
		return wal.Write{}, err
	}
	if hasState {
		if _, err := item.ParseState(state); err != nil {
			return wal.Write{}, err
		}
	}
	var ttl time.Duration
	if v, ok, err := header(h, item.HeaderCacheTTL, item.CodeInvalidHeader); err != nil {
		return wal.Write{}, err
	} else if ok {
		if ttl, err = item.ParseCacheTTL(v); err != nil {
			return wal.Write{}, err
		}
	}
	ct, _, err := header(h, item.HeaderContentType, item.CodeInvalidHeader)
	if err != nil {
		return wal.Write{}, err
	}
	if err := parseRouting(h, op, &w); err != nil { // query_route.go
		return wal.Write{}, err
	}
	if op == wal.OpDel {
		// A delete is a tombstone: no payload, no content type, no TTL.
		return w, nil
	}
	data := r.Data()
	if len(data) > s.cfg.MaxPayload {
		return wal.Write{}, item.Errorf(item.CodePayloadTooLarge, "payload is %d bytes, the limit is %d", len(data), s.cfg.MaxPayload)
	}
	if w.ContentType, err = item.ResolveContentType(ct, data); err != nil {
		return wal.Write{}, err
	}
	w.Payload, w.State, w.CacheTTL = data, state, ttl
	return w, nil
}

// idFromSubject extracts and validates the id after prefix ("sync.put.").
func idFromSubject(subject, prefix string) (string, error) {
	if len(subject) <= len(prefix) || subject[:len(prefix)] != prefix {
		return "", item.Errorf(item.CodeInvalidID, "subject %q carries no id", clipText(subject))
	}
	id := subject[len(prefix):]
	if err := item.ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// header returns the single value of a request header (names matched
// case-insensitively); repeated different values are code.
func header(h nats.Header, key string, code item.Code) (string, bool, error) {
	vals := wal.HeaderValues(h, key)
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

// headerSize is the encoded size of h as nats.go sends it.
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n") + 2
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// retryAfter renders seconds for the Retry-After header.
func retryAfter(secs int) string {
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs)
}
