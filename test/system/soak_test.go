package system

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSystemSoak repeats the kill and outage scenarios, each on a fresh
// pipeline, for SYNCLINE_SOAK (a duration), and prints a summary. Without
// SYNCLINE_SOAK it does not run: `task soak` sets it.
func TestSystemSoak(t *testing.T) {
	d := soakDuration(t)
	if d == 0 {
		t.Skip("SYNCLINE_SOAK is not set (task soak sets it)")
	}
	sz := scale()
	sz.rate *= 2
	sz.workers *= 2
	scenarios := []struct {
		name string
		run  func(*testing.T, sizes, string) figures
	}{
		{"kill", killScenario},
		{"postgres-outage", pgOutageScenario},
		{"nats-restart", natsRestartScenario},
	}
	type tally struct {
		runs, failed, acked, found int
		worst, total               time.Duration
	}
	tallies := make([]tally, len(scenarios))
	deadline := time.Now().Add(d)
	for round := 1; time.Now().Before(deadline); round++ {
		for i, s := range scenarios {
			if !time.Now().Before(deadline) {
				break
			}
			var f figures
			ok := t.Run(fmt.Sprintf("%s-%d", s.name, round), func(t *testing.T) {
				f = s.run(t, sz, fmt.Sprintf("soak %s #%d", s.name, round))
			})
			tl := &tallies[i]
			tl.runs++
			if !ok {
				tl.failed++
				continue
			}
			tl.acked += f.acked
			tl.found += f.found
			tl.total += f.converge
			tl.worst = max(tl.worst, f.converge)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "soak summary after %s:\n", d)
	for i, s := range scenarios {
		tl := tallies[i]
		avg := time.Duration(0)
		if ok := tl.runs - tl.failed; ok > 0 {
			avg = tl.total / time.Duration(ok)
		}
		fmt.Fprintf(&b, "  %-16s runs %d, failed %d, writes acknowledged %d, found %d, converge avg %s worst %s\n",
			s.name, tl.runs, tl.failed, tl.acked, tl.found, avg.Round(10*time.Millisecond), tl.worst.Round(10*time.Millisecond))
	}
	t.Log(b.String())
	report("%s", strings.TrimSpace(b.String()))
}
