package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
	"go.uber.org/goleak"
)

// Stop while writes are queued and in flight: the queued ones are still
// published and answered, later ones get ErrStopped (not stored), and the
// Committer leaves no goroutine and no subscription behind. Not parallel:
// goleak needs the other tests' goroutines out of the way.
func TestStopDrainsAndLeavesNoGoroutines(t *testing.T) {
	e := newEnv(t, waltest.Options{}, nil)
	before := goleak.IgnoreCurrent()
	subs := e.nc.NumSubscriptions()

	c, err := groupcommit.New(e.nc, testConfig(nil), nil, nil)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))

	var (
		mu      sync.Mutex
		out     []outcome
		wg      sync.WaitGroup
		started = make(chan struct{})
	)
	for g := range 64 {
		wg.Go(func() {
			<-started
			for i := range 20 {
				m := walMsg(fmt.Sprintf("g%d-%d", g, i))
				if i%5 == 0 {
					m.Header.Set(jetstream.MsgIDHeader, m.Header.Get("Sync-Id"))
				}
				ack, err := c.Publish(context.Background(), m)
				mu.Lock()
				out = append(out, outcome{name: m.Header.Get("Sync-Id"), ack: ack, err: err})
				mu.Unlock()
				if errors.Is(err, groupcommit.ErrStopped) {
					return
				}
			}
		})
	}
	close(started)
	waitFor(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(out) >= 200 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Stop(ctx))
	wg.Wait()

	stopped := 0
	for _, o := range out {
		if o.err != nil {
			require.ErrorIs(t, o.err, groupcommit.ErrStopped, o.name)
			stopped++
		}
	}
	require.Positive(t, stopped)
	require.Equal(t, subs, e.nc.NumSubscriptions(), "subscription left behind")
	goleak.VerifyNone(t, before)

	n := judge(t, out, readStream(t, e.js))
	t.Logf("%d acked before/while stopping, %d refused after Stop", n.acked, n.refused)
}
