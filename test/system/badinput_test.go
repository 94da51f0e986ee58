package system

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
)

// badRequest is a client API request that ingest must refuse with status
// and code, storing nothing.
type badRequest struct {
	name   string
	verb   string // put or del
	id     string // raw: whatever bytes NATS lets through in a subject
	header nats.Header
	data   []byte
	status string
	code   item.Code
}

// badRequests covers every rejection of DESIGN.md §2 (ids, versions,
// headers, JSON, payload size), binary garbage in ids, and oversized
// headers.
func badRequests() []badRequest {
	hd := func(kv ...string) nats.Header {
		h := nats.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	const (
		v   = item.HeaderVersion
		st  = item.HeaderState
		ttl = item.HeaderCacheTTL
		ct  = item.HeaderContentType
		mid = item.HeaderMsgID
	)
	x := []byte("x")
	bad := []badRequest{
		// ids
		{name: "control bytes", id: "bad.\x01\x02\x7f", code: item.CodeInvalidID},
		{name: "high bytes", id: "bad.\xff\xfe\x80", code: item.CodeInvalidID},
		{name: "NUL byte", id: "bad.a\x00b", code: item.CodeInvalidID},
		{name: "backslash", id: `bad.a\b`, code: item.CodeInvalidID},
		{name: "star inside a token", id: "bad.a*b", code: item.CodeInvalidID},
		{name: "gt inside a token", id: "bad.a>b", code: item.CodeInvalidID},
		{name: "1025 bytes", id: strings.Repeat("i", 1025), code: item.CodeInvalidID},
		{name: "delete with a bad id", verb: "del", id: "bad.\x03", code: item.CodeInvalidID},
		// versions
		{name: "version 0", header: hd(v, "0"), code: item.CodeInvalidVersion},
		{name: "version -1", header: hd(v, "-1"), code: item.CodeInvalidVersion},
		{name: "version 2^63", header: hd(v, "9223372036854775808"), code: item.CodeInvalidVersion},
		{name: "version 2^64", header: hd(v, "18446744073709551616"), code: item.CodeInvalidVersion},
		{name: "version abc", header: hd(v, "abc"), code: item.CodeInvalidVersion},
		{name: "version leading zero", header: hd(v, "07"), code: item.CodeInvalidVersion},
		{name: "version 1e3", header: hd(v, "1e3"), code: item.CodeInvalidVersion},
		{name: "version empty", header: hd(v, ""), code: item.CodeInvalidVersion},
		{name: "version twice, different", header: hd(v, "5", v, "6"), code: item.CodeInvalidVersion},
		{name: "delete version 0", verb: "del", header: hd(v, "0"), code: item.CodeInvalidVersion},
		{name: "version of 100 KiB", header: hd(v, strings.Repeat("9", 100<<10)), code: item.CodeInvalidVersion},
		// headers
		{name: "state of 65 chars", header: hd(st, strings.Repeat("s", 65)), code: item.CodeInvalidHeader},
		{name: "state with a space", header: hd(st, "bad state"), code: item.CodeInvalidHeader},
		{name: "state not ASCII", header: hd(st, "état"), code: item.CodeInvalidHeader},
		{name: "state of 100 KiB", header: hd(st, strings.Repeat("s", 100<<10)), code: item.CodeInvalidHeader},
		{name: "TTL 0", header: hd(ttl, "0"), code: item.CodeInvalidHeader},
		{name: "TTL negative", header: hd(ttl, "-5"), code: item.CodeInvalidHeader},
		{name: "TTL fraction", header: hd(ttl, "1.5"), code: item.CodeInvalidHeader},
		{name: "TTL over a year", header: hd(ttl, "31536001"), code: item.CodeInvalidHeader},
		{name: "content type text/plain", header: hd(ct, "text/plain"), code: item.CodeInvalidHeader},
		{name: "content type twice, different", header: hd(ct, item.ContentTypeJSON, ct, item.ContentTypeBinary), code: item.CodeInvalidHeader},
		{name: "msg id twice, different", header: hd(mid, "a", mid, "b"), code: item.CodeInvalidHeader},
		// JSON
		{name: "declared JSON, truncated", header: hd(ct, item.ContentTypeJSON), data: []byte(`{"a":`), code: item.CodeInvalidJSON},
		{name: "declared JSON, binary", header: hd(ct, item.ContentTypeJSON), data: []byte{0xff, 0x00, 0x01}, code: item.CodeInvalidJSON},
		// size
		{name: "payload 1 MiB + 1", data: bytes.Repeat([]byte("p"), 1<<20+1), code: item.CodePayloadTooLarge},
		{name: "1 MiB payload with an 8 KiB msg id", header: hd(mid, strings.Repeat("m", 8<<10)), data: bytes.Repeat([]byte("p"), 1<<20), code: item.CodePayloadTooLarge},
	}
	for i := range bad {
		b := &bad[i]
		if b.verb == "" {
			b.verb = "put"
		}
		if b.id == "" {
			b.id = "bad." + strconv.Itoa(i)
		}
		if b.data == nil && b.verb == "put" {
			b.data = x
		}
		b.status = strconv.Itoa(b.code.Status())
	}
	return bad
}

// check compares a reply with the expected refusal.
func (b badRequest) check(m *nats.Msg, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", b.name, err)
	}
	var body struct {
		Error struct {
			Code item.Code `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(m.Data, &body)
	if got := m.Header.Get("Nats-Service-Error-Code"); got != b.status || body.Error.Code != b.code {
		return fmt.Errorf("%s: answered %q %s, want %s %s", b.name, got, clipBody(m.Data), b.status, b.code)
	}
	return nil
}

func clipBody(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

// TestSystemBadInput: every kind of invalid request is refused with its
// status and code, one at a time and in a burst mixed with valid writes;
// all valid writes are stored, no invalid one is.
func TestSystemBadInput(t *testing.T) {
	t.Parallel()
	sz := scale()
	c := newCluster(t, clusterOpts{ingests: 2, writers: 2, reconcilers: 1})
	c.start()
	l := newLedger()
	cases := badRequests()
	subject := func(b badRequest) string { return c.prefix + "." + b.verb + "." + b.id }

	// One at a time.
	for _, b := range cases {
		m, err := c.nc.RequestMsg(&nats.Msg{Subject: subject(b), Header: b.header, Data: b.data}, 10*time.Second)
		if err := b.check(m, err); err != nil {
			t.Error(err)
		}
	}
	// What NATS itself does not let through: whitespace in a subject is
	// refused by the client library, an empty segment by the server; the
	// Go client refuses both before sending.
	if err := c.nc.Publish(c.prefix+".put.bad id", nil); !errors.Is(err, nats.ErrBadSubject) {
		t.Errorf("a subject with a space: %v, want nats.ErrBadSubject", err)
	}
	for _, id := range []string{"bad..id", "bad.", ".bad"} {
		if _, err := c.nc.Request(c.prefix+".put."+id, x(), 2*time.Second); err == nil {
			t.Errorf("put %q was answered", id)
		}
		if _, err := c.cl.Put(tctx(t, 5*time.Second), id, x()); !errors.Is(err, item.ErrInvalidID) {
			t.Errorf("client put %q: %v, want invalid_id", id, err)
		}
	}
	// Accepted as documented: unknown headers are ignored (even large), a
	// delete's payload is ignored.
	for _, w := range []struct {
		w write
		h nats.Header
	}{
		{write{id: "odd.junk.header", version: 1, payload: []byte("kept")}, nats.Header{"X-Junk": {strings.Repeat("j", 256<<10)}, item.HeaderVersion: {"1"}}},
		{write{id: "odd.delete.payload", del: true, version: 3}, nats.Header{item.HeaderVersion: {"3"}}},
	} {
		verb, data := "put", w.w.payload
		if w.w.del {
			verb, data = "del", []byte("ignored")
		}
		m, err := c.nc.RequestMsg(&nats.Msg{Subject: c.prefix + "." + verb + "." + w.w.id, Header: w.h, Data: data}, 10*time.Second)
		if err != nil || m.Header.Get("Nats-Service-Error-Code") != "" {
			t.Fatalf("%s: %v %v %s", w.w.id, err, m.Header, m.Data)
		}
		var r client.Result
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if err := l.acked(w.w, r); err != nil {
			t.Fatal(err)
		}
	}

	// The burst: invalid requests of every kind mixed with valid puts.
	start := time.Now()
	abort := make(chan struct{})
	stopRetrying := time.AfterFunc(2*time.Minute, func() { close(abort) })
	defer stopRetrying.Stop()
	var (
		mu       sync.Mutex
		failures []string
		refused  atomic.Int64
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, s)
		}
	}
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= sz.burst {
					return
				}
				if i%3 == 0 {
					w := write{id: fmt.Sprintf("burst.ok.i%d", i), version: uint64(i + 1), payload: fmt.Appendf(nil, `{"i":%d}`, i)}
					if !send(c.cl, l, w, abort) {
						fail(w.id + ": never acknowledged")
					}
					continue
				}
				b := cases[i%len(cases)]
				m, err := c.nc.RequestMsg(&nats.Msg{Subject: subject(b), Header: b.header, Data: b.data}, 15*time.Second)
				if err := b.check(m, err); err != nil {
					fail(err.Error())
					continue
				}
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if len(failures) > 0 {
		t.Errorf("burst: %d+ requests not answered as expected: %s", len(failures), strings.Join(failures, "; "))
	}
	t.Logf("burst of %d requests in %s: %d invalid refused with their codes, %d valid acknowledged",
		sz.burst, took.Round(time.Millisecond), refused.Load(), acksBy(l)-2)
	report("%-40s burst %d requests in %s, %d refused with the right code", "bad-input", sz.burst, took.Round(time.Millisecond), refused.Load())
	c.converge(t, l, "bad-input", time.Now())
}

func x() []byte { return []byte("x") }
