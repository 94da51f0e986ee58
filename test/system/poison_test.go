package system

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

// poison is a message published straight into the WAL that writers must
// dead-letter with reason.
type poison struct {
	name   string
	reason string
	header nats.Header
	data   []byte
}

func poisons() []poison {
	h := func(kv ...string) nats.Header {
		hd := nats.Header{}
		for i := 0; i < len(kv); i += 2 {
			hd.Add(kv[i], kv[i+1])
		}
		return hd
	}
	put := func(id string, kv ...string) nats.Header {
		return h(append([]string{wal.HeaderID, id, wal.HeaderOp, "put"}, kv...)...)
	}
	twoIDs := put("poison.a")
	twoIDs.Add(wal.HeaderID, "poison.b")
	return []poison{
		{"no Sync-Id", "invalid_id", h(wal.HeaderOp, "put"), []byte("x")},
		{"empty segment", "invalid_id", put("poison..id"), []byte("x")},
		{"space in id", "invalid_id", put("poison.bad id"), []byte("x")},
		{"control byte in id", "invalid_id", put("poison.\x01\x7f"), []byte("x")},
		{"high bytes in id", "invalid_id", put("poison.\xff\xfe"), []byte("x")},
		{"wildcard in id", "invalid_id", put("poison.a*b"), []byte("x")},
		{"id of 1025 bytes", "invalid_id", put(strings.Repeat("p", 1025)), []byte("x")},
		{"two different ids", "invalid_id", twoIDs, []byte("x")},
		{"version 0", "invalid_version", put("poison.v0", wal.HeaderVersion, "0"), []byte("x")},
		{"version abc", "invalid_version", put("poison.vabc", wal.HeaderVersion, "abc"), []byte("x")},
		{"version 2^63", "invalid_version", put("poison.vbig", wal.HeaderVersion, "9223372036854775808"), []byte("x")},
		{"negative version", "invalid_version", put("poison.vneg", wal.HeaderVersion, "-3"), []byte("x")},
		{"declared JSON, not JSON", "invalid_json", put("poison.json", wal.HeaderContentType, item.ContentTypeJSON), []byte(`{"unterminated":`)},
		{"unknown content type", "invalid_header", put("poison.ct", wal.HeaderContentType, "text/plain"), []byte("x")},
		{"oversized payload", "payload_too_large", put("poison.big"), bytes.Repeat([]byte("b"), 1<<20+100)},
		{"unknown op", "invalid_op", h(wal.HeaderID, "poison.op", wal.HeaderOp, "frob"), []byte("x")},
		{"no op", "invalid_op", h(wal.HeaderID, "poison.noop"), []byte("x")},
		{"delete with payload", "invalid_payload", h(wal.HeaderID, "poison.del", wal.HeaderOp, "del"), []byte("x")},
		{"bad state", "invalid_header", put("poison.state", wal.HeaderState, "bad state!"), []byte("x")},
		{"bad cache TTL", "invalid_header", put("poison.ttl", wal.HeaderCacheTTL, "0"), []byte("x")},
	}
}

// TestSystemPoison: invalid messages published straight into the WAL by a
// trusted producer land in <UP>_DLQ under their reason, with their payload,
// original headers, Sync-DLQ-Reason and Sync-DLQ-Seq, and never block the
// valid messages around them, which commit.
func TestSystemPoison(t *testing.T) {
	t.Parallel()
	sz := scale()
	c := newCluster(t, clusterOpts{ingests: 1, writers: 2, reconcilers: 1})
	c.start()
	l := newLedger()
	g := startLoad(c, l, 4, sz.rate/4)
	ctx := tctx(t, 2*time.Minute)

	bySeq := map[uint64]poison{}
	for i, p := range poisons() {
		// A valid write before each poison message, through the Go client.
		w := write{id: fmt.Sprintf("direct.ok%d", i), version: uint64(100 + i), payload: fmt.Appendf(nil, `{"i":%d}`, i)}
		a, err := c.cl.PublishWAL(ctx, wal.Write{ID: w.id, Op: wal.OpPut, Version: w.version, Payload: w.payload})
		if err != nil {
			t.Fatalf("valid direct write: %v", err)
		}
		if err := l.acked(w, client.Result{ID: w.id, Version: w.version, Seq: a.Seq}); err != nil {
			t.Fatal(err)
		}
		pa, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: c.names.WALSubject(i % c.names.Partitions()), Header: p.header, Data: p.data})
		if err != nil {
			t.Fatalf("poison %q: the WAL refused it: %v", p.name, err)
		}
		bySeq[pa.Sequence] = p
	}
	// An unversioned valid write and a delete, after all of them.
	u := write{id: "direct.unversioned", payload: []byte("raw bytes")}
	a, err := c.cl.PublishWAL(ctx, wal.Write{ID: u.id, Op: wal.OpPut, Payload: u.payload})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.acked(u, client.Result{ID: u.id, Version: a.Seq, Seq: a.Seq}); err != nil {
		t.Fatal(err)
	}
	d := write{id: "direct.ok0", del: true, version: 1000}
	a, err = c.cl.PublishWAL(ctx, wal.Write{ID: d.id, Op: wal.OpDel, Version: d.version})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.acked(d, client.Result{ID: d.id, Version: d.version, Seq: a.Seq}); err != nil {
		t.Fatal(err)
	}

	waitAcks(t, l, acksBy(l)+sz.rate/2)
	last := g.finish(60 * time.Second)
	c.converge(t, l, "poison", last)

	// Every poison message is in the DLQ, once, with its reason.
	dlq, err := c.js.Stream(ctx, c.names.DLQStream())
	if err != nil {
		t.Fatal(err)
	}
	checkFor(t, 30*time.Second, 250*time.Millisecond, func() error {
		info, err := dlq.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != uint64(len(bySeq)) {
			return fmt.Errorf("DLQ holds %d messages, want %d", info.State.Msgs, len(bySeq))
		}
		return nil
	})
	info, _ := dlq.Info(ctx)
	seen := map[uint64]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := dlq.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("DLQ message %d: %v", seq, err)
		}
		walSeq, err := strconv.ParseUint(m.Header.Get(wal.HeaderDLQSeq), 10, 64)
		if err != nil {
			t.Errorf("DLQ message %d without %s: %v", seq, wal.HeaderDLQSeq, m.Header)
			continue
		}
		p, ok := bySeq[walSeq]
		if !ok {
			t.Errorf("DLQ message %d copies WAL message %d, which was valid", seq, walSeq)
			continue
		}
		seen[walSeq] = true
		if got := m.Header.Get(wal.HeaderDLQReason); got != p.reason {
			t.Errorf("%s: reason %q, want %q", p.name, got, p.reason)
		}
		if m.Subject != c.names.DLQSubject(p.reason) {
			t.Errorf("%s: DLQ subject %s, want %s", p.name, m.Subject, c.names.DLQSubject(p.reason))
		}
		if !bytes.Equal(m.Data, p.data) {
			t.Errorf("%s: the DLQ copy's payload differs (%d bytes, want %d)", p.name, len(m.Data), len(p.data))
		}
		for k, vs := range p.header {
			if got := m.Header.Values(k); strings.Join(got, "\x00") != strings.Join(vs, "\x00") {
				t.Errorf("%s: header %s = %q in the DLQ copy, want %q", p.name, k, got, vs)
			}
		}
	}
	if len(seen) != len(bySeq) {
		t.Errorf("%d of %d poison messages reached the DLQ", len(seen), len(bySeq))
	}
	st, err := c.status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DLQMessages != uint64(len(bySeq)) || st.WALPending != 0 {
		t.Errorf("syncline status: dlq_messages %d wal_pending %d, want %d and 0", st.DLQMessages, st.WALPending, len(bySeq))
	}
	t.Logf("poison: %d messages dead-lettered with their reasons; %d valid writes committed around them", len(bySeq), acksBy(l))
}
