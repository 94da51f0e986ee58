package system

import (
	"testing"
	"time"
)

// TestSystemNATSRestart: the NATS server (JetStream, file store) is shut
// down under load and started again on the same port and store. Clients
// see 503s and timeouts while it is away and reconnect; every process
// reconnects; no acknowledged write is lost.
func TestSystemNATSRestart(t *testing.T) {
	t.Parallel()
	natsRestartScenario(t, scale(), "nats-restart")
}

func natsRestartScenario(t *testing.T, sz sizes, label string) figures {
	c := newCluster(t, clusterOpts{ingests: 2, writers: 2, reconcilers: 2})
	c.start()
	l := newLedger()
	g := startLoad(c, l, sz.workers, sz.rate)
	waitAcks(t, l, 2*sz.rate)

	before := acksBy(l)
	c.nats.Shutdown()
	down := time.Now()
	// The server stays away for a while, as a restart of a real server
	// would; the length is the scenario, not a wait for a condition.
	time.Sleep(3 * time.Second)
	if err := c.nats.Start(); err != nil {
		t.Fatalf("restart NATS: %v", err)
	}
	t.Logf("NATS restarted after %s (%d writes acknowledged before)", time.Since(down).Round(time.Millisecond), before)
	waitReady(t, 60*time.Second, append(c.live(roleIngest), c.live(roleWriter)...)...)
	waitAcks(t, l, acksBy(l)+2*sz.rate)
	last := g.finish(60 * time.Second)
	f := c.converge(t, l, label, last)
	if c.nc.Stats().Reconnects == 0 {
		t.Errorf("the client never reconnected: the server did not go away?")
	}
	return f
}
