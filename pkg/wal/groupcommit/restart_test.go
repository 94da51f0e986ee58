package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// tally sorts the answers of a run against what the stream holds after it.
type tally struct {
	acked, unknownPresent, unknownAbsent, refused int
}

// judge checks the contract of every answer against the stream's contents:
// an acked write is at its sequence; a definitive error ("not stored") is
// absent; ErrOutcomeUnknown may go either way. No write is stored twice,
// no batch in part.
func judge(t *testing.T, out []outcome, stored []stored) tally {
	t.Helper()
	requireAcksStored(t, out, stored)
	requireBatchesWhole(t, stored)
	present := map[string]int{}
	for _, s := range stored {
		present[s.header.Get("Sync-Id")]++
	}
	var n tally
	for _, o := range out {
		require.LessOrEqualf(t, present[o.name], 1, "%s stored twice", o.name)
		switch {
		case o.err == nil:
			n.acked++
		case errors.Is(o.err, groupcommit.ErrOutcomeUnknown):
			if present[o.name] == 1 {
				n.unknownPresent++
			} else {
				n.unknownAbsent++
			}
		default:
			require.ErrorIs(t, o.err, item.ErrUnavailable)
			require.Zerof(t, present[o.name], "%s was answered %v but is in the stream", o.name, o.err)
			n.refused++
		}
	}
	return n
}

// The server restarts while writes are in its window (batches staged, a
// commit being fsynced, acks on the wire). Every write is answered, and
// the answer holds against the stream after the restart.
func TestServerRestartInTheMiddleOfBatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1 := waltest.Start(t, waltest.Options{StoreDir: dir, SyncAlways: true})
	port := s1.Addr().(*net.TCPAddr).Port
	nc := waltest.Connect(t, s1, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	(&env{nc: nc, js: js}).createStream(t, nil)
	c := start(t, nc, testConfig(func(c *groupcommit.Config) { c.AckTimeout = 2 * time.Second }), nil)

	var (
		mu      sync.Mutex
		out     []outcome
		acks    atomic.Int64
		stop    atomic.Bool
		writers sync.WaitGroup
	)
	for g := range 32 {
		writers.Go(func() {
			for i := 0; !stop.Load(); i++ {
				m := walMsg(fmt.Sprintf("g%d-%d", g, i))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				ack, err := c.Publish(ctx, m)
				cancel()
				mu.Lock()
				out = append(out, outcome{name: m.Header.Get("Sync-Id"), ack: ack, err: err})
				mu.Unlock()
				if err == nil {
					acks.Add(1)
				} else {
					time.Sleep(5 * time.Millisecond) // a client backing off
				}
			}
		})
	}
	waitFor(t, 60*time.Second, func() bool { return acks.Load() >= 500 })
	s1.Shutdown()
	s1.WaitForShutdown()
	before := acks.Load()
	s2 := waltest.Start(t, waltest.Options{StoreDir: dir, Port: port, SyncAlways: true})
	waitFor(t, 60*time.Second, func() bool { return acks.Load() >= before+500 })
	stop.Store(true)
	writers.Wait()

	nc2 := waltest.Connect(t, s2)
	js2, err := jetstream.New(nc2)
	require.NoError(t, err)
	n := judge(t, out, readStream(t, js2))
	t.Logf("%d writes: %d acked, %d refused (not stored), outcome unknown: %d present, %d absent",
		len(out), n.acked, n.refused, n.unknownPresent, n.unknownAbsent)
	// Which answers the writes in the window get depends on where the
	// shutdown caught them: a graceful shutdown may finish a commit whose
	// ack never reaches the client (unknown, present), drop a batch still
	// staging (unknown, absent), or the client may re-send its buffered
	// messages to the restarted server in time (acked).
}

// waitFor polls cond every 10ms until it holds or fails the test.
func waitFor(t testing.TB, total time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(total)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "condition not met within %v", total)
		time.Sleep(10 * time.Millisecond)
	}
}
