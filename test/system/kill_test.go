package system

import (
	"fmt"
	"testing"
	"time"
)

// TestSystemKill: SIGKILL of a writer, an ingest and the active reconciler
// under load. Every acknowledged write reaches SQL and Redis; the standby
// reconciler takes the lease; the killed writer's unacknowledged batch is
// redelivered (AckWait) and committed by a live writer.
func TestSystemKill(t *testing.T) {
	t.Parallel()
	killScenario(t, scale(), "kill")
}

func killScenario(t *testing.T, sz sizes, label string) figures {
	c := newCluster(t, clusterOpts{ingests: 2, writers: 2, reconcilers: 2})
	c.start()
	old := waitLeader(t, c, "")
	l := newLedger()
	g := startLoad(c, l, sz.workers, sz.rate)
	waitAcks(t, l, sz.rate) // about a second of load

	w := c.live(roleWriter)[0]
	in := c.live(roleIngest)[0]
	r := c.byName(old)
	if r == nil {
		t.Fatalf("leader %q is not one of our reconcilers", old)
	}
	before := acksBy(l)
	w.kill()
	in.kill()
	r.kill()
	killed := time.Now()
	t.Logf("killed %s, %s and %s (the leader) after %d acknowledged writes", w.name, in.name, r.name, before)

	// Load goes on through the surviving ingest and writer.
	waitAcks(t, l, before+sz.rate)
	c.restart(roleWriter, w.name)
	c.restart(roleIngest, in.name)
	leader := waitLeader(t, c, old)
	t.Logf("standby %s took the lease %s after the kill", leader, time.Since(killed).Round(time.Millisecond))
	waitReady(t, 60*time.Second, c.live(roleWriter)...)
	waitAcks(t, l, acksBy(l)+sz.rate)
	last := g.finish(60 * time.Second)
	return c.converge(t, l, label, last)
}

// waitAcks waits until the ledger holds at least n acknowledged writes.
func waitAcks(t testing.TB, l *ledger, n int) {
	t.Helper()
	waitAcksFor(t, l, n, 60*time.Second)
}

// waitAcksFor is waitAcks bounded by total.
func waitAcksFor(t testing.TB, l *ledger, n int, total time.Duration) {
	t.Helper()
	checkFor(t, total, 50*time.Millisecond, func() error {
		if got, codes := l.counts(); got < n {
			return fmt.Errorf("%d of %d writes acknowledged (failed attempts %v)", got, n, codes)
		}
		return nil
	})
}

// waitLeader waits until a reconciler other than not holds the lease.
func waitLeader(t testing.TB, c *cluster, not string) string {
	t.Helper()
	var leader string
	checkFor(t, 45*time.Second, 250*time.Millisecond, func() error {
		var err error
		leader, err = c.leader(tctx(t, 20*time.Second))
		if err != nil {
			return err
		}
		if leader == not {
			return fmt.Errorf("%s still holds the lease", not)
		}
		return nil
	})
	return leader
}
