package system

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/item"
)

// TestSystemWALFull: the WAL has a small message limit (DiscardNew) and
// the writers stall, so the backlog reaches the limit: puts are answered
// 503 unavailable with Retry-After (backpressure, nothing acknowledged is
// dropped), and once the writers drain the WAL puts are acknowledged
// again.
func TestSystemWALFull(t *testing.T) {
	t.Parallel()
	sz := scale()
	c := newCluster(t, clusterOpts{ingests: 1, writers: 2, reconcilers: 1})
	c.start()
	const limit = 400
	// Every process provisions the WAL at start with its own (unlimited)
	// limits, so the limit is set once they run, as an operator would with
	// `nats stream edit`.
	setWALLimit(t, c, limit)

	writers := c.live(roleWriter)
	for _, w := range writers {
		w.pause()
	}
	l := newLedger()
	g := startLoad(c, l, sz.workers, sz.rate)
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		if _, codes := l.counts(); codes["unavailable"] == 0 {
			return fmt.Errorf("no put refused yet (%d acknowledged)", acksBy(l))
		}
		return nil
	})
	full := acksBy(l)
	if full > limit {
		t.Errorf("%d writes acknowledged with a WAL limit of %d messages and no writer running", full, limit)
	}
	// The refusal as a raw client sees it: 503, code unavailable, Retry-After.
	m, err := c.nc.RequestMsg(&nats.Msg{Subject: c.names.APISubject("put", "probe.full"), Data: []byte("x")}, 5*time.Second)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if got := m.Header.Get("Nats-Service-Error-Code"); got != "503" {
		t.Errorf("a put into a full WAL: status %q, want 503 (body %s)", got, m.Data)
	}
	if ra, err := strconv.Atoi(m.Header.Get(item.HeaderRetryAfter)); err != nil || ra < 1 {
		t.Errorf("a put into a full WAL has no Retry-After: %v", m.Header)
	}
	t.Logf("WAL full after %d acknowledged writes: %s, Retry-After %s", full, m.Data, m.Header.Get(item.HeaderRetryAfter))

	// The writers drain the WAL; puts are acknowledged again.
	for _, w := range writers {
		w.resume()
	}
	resumed := time.Now()
	// Messages the server had handed to a writer's pull just before it
	// stalled are redelivered after AckWait (30 s); until then they hold
	// the ack floor, and so the trim, back.
	waitAcksFor(t, l, full+2*limit, 90*time.Second)
	t.Logf("puts acknowledged again %s after the writers resumed", time.Since(resumed).Round(time.Millisecond))
	last := g.finish(60 * time.Second)
	c.converge(t, l, "wal-full", last)
	if l.retryAfter == 0 {
		t.Errorf("no 503 carried Retry-After")
	}
	waitWALTrimmed(t, c)
}

// waitWALTrimmed waits until the drained WAL is empty: the writers trim it
// to their ack floor, so it keeps only what is not in SQL yet.
func waitWALTrimmed(t testing.TB, c *cluster) {
	t.Helper()
	checkFor(t, 30*time.Second, 250*time.Millisecond, func() error {
		s, err := c.js.Stream(tctx(t, 10*time.Second), c.names.WALStream())
		if err != nil {
			return err
		}
		if st := s.CachedInfo().State; st.Msgs != 0 {
			return fmt.Errorf("the drained WAL still holds %d messages (seq %d..%d)", st.Msgs, st.FirstSeq, st.LastSeq)
		}
		return nil
	})
}

// setWALLimit bounds the WAL stream to maxMsgs messages (DiscardNew).
func setWALLimit(t testing.TB, c *cluster, maxMsgs int64) {
	t.Helper()
	ctx := tctx(t, 30*time.Second)
	s, err := c.js.Stream(ctx, c.names.WALStream())
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgs = maxMsgs
	if cfg.Discard != jetstream.DiscardNew {
		t.Fatalf("the WAL discards %v, want DiscardNew", cfg.Discard)
	}
	if _, err := c.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}
