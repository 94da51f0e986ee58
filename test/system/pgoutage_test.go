package system

import (
	"fmt"
	"testing"
	"time"
)

// TestSystemPostgresOutage: PostgreSQL is unreachable for the writers and
// reconcilers for ~12 s under load (a TCP proxy cuts every connection and
// refuses new ones). Puts keep being acknowledged (the WAL absorbs them),
// and everything drains into SQL and Redis once PostgreSQL is back.
func TestSystemPostgresOutage(t *testing.T) {
	t.Parallel()
	pgOutageScenario(t, scale(), "postgres-outage")
}

func pgOutageScenario(t *testing.T, sz sizes, label string) figures {
	c := newCluster(t, clusterOpts{ingests: 1, writers: 2, reconcilers: 2, pgProxy: true})
	c.start()
	l := newLedger()
	g := startLoad(c, l, sz.workers, sz.rate)
	waitAcks(t, l, sz.rate)

	c.pgProxy.Down()
	down := time.Now()
	atDown := acksBy(l)
	const outage = 12 * time.Second
	// Acknowledgements go on while SQL is away...
	waitAcks(t, l, atDown+sz.rate)
	early := committedRows(t, c)
	// The outage's length is the scenario itself, not a wait for a
	// condition, hence a plain sleep.
	time.Sleep(time.Until(down.Add(outage)))
	during := acksBy(l) - atDown
	// ...and nothing reached SQL meanwhile: the proxy really cut it.
	if late := committedRows(t, c); late != early {
		t.Errorf("%d rows were committed while PostgreSQL was unreachable", late-early)
	}
	c.pgProxy.Up()
	t.Logf("PostgreSQL down for %s: %d writes acknowledged meanwhile", time.Since(down).Round(time.Millisecond), during)
	if during < sz.rate {
		t.Errorf("only %d writes were acknowledged during the outage", during)
	}
	waitAcks(t, l, acksBy(l)+sz.rate)
	last := g.finish(60 * time.Second)
	return c.converge(t, l, label, last)
}

// committedRows counts sync_items rows (the test's direct connection does
// not go through the proxy).
func committedRows(t testing.TB, c *cluster) int {
	t.Helper()
	var n int
	err := c.pg.QueryRow(tctx(t, 10*time.Second), `SELECT count(*) FROM sync_items`).Scan(&n)
	if err != nil {
		t.Fatalf("%v", fmt.Errorf("count: %w", err))
	}
	return n
}
