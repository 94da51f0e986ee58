package cdc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cdc"
	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// running is a Replicator run by a test until it ends.
type running struct {
	*cdc.Replicator
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, src, dst *client.Client, cfg cdc.Config) *running {
	t.Helper()
	cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 100*time.Millisecond
	r, err := cdc.New(src, dst, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{Replicator: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { rr.stop(t) })
	return rr
}

// stop ends the replicator and waits for it; it may be called twice.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			require.ErrorIs(t, err, context.Canceled)
			close(r.done)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("replicator did not stop")
	}
}

// snapshot is a pipeline's live items: id -> version, state, route, payload.
func snapshot(t *testing.T, c *client.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	var ids []string
	routes := map[string]string{}
	require.NoError(t, c.ListAll(tctx(t), client.Query{}, 500, func(e client.ListEntry) error {
		ids = append(ids, e.ID)
		routes[e.ID] = e.Route
		return nil
	}, client.WithStrong()))
	res, err := c.MGet(tctx(t), ids)
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err)
		if r.Found {
			it := r.Item
			out[ids[i]] = fmt.Sprintf("v%d state=%s route=%s type=%s %q", it.Version, it.State, routes[ids[i]], it.ContentType, it.Payload)
		}
	}
	return out
}

func converge(t *testing.T, a, b *client.Client) map[string]string {
	t.Helper()
	var sa, sb map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sa, sb = snapshot(t, a), snapshot(t, b)
		if fmt.Sprint(sa) == fmt.Sprint(sb) {
			return sa
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, sa, sb, "the pipelines did not converge")
	return nil
}

// walOrigins counts every WAL message of a pipeline by Sync-Origin
// (ingesttest keeps the writers from trimming the WAL).
func walOrigins(t *testing.T, p *ingesttest.Pipeline) map[string]int {
	t.Helper()
	out := map[string]int{}
	st, err := p.JS.Stream(tctx(t), p.Names.WALStream())
	require.NoError(t, err)
	info, err := st.Info(tctx(t))
	require.NoError(t, err)
	require.EqualValues(t, 1, info.State.FirstSeq, "the WAL is whole")
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(tctx(t), seq)
		require.NoError(t, err, "WAL message %d", seq)
		out[m.Header.Get(wal.HeaderOrigin)]++
	}
	return out
}

func lastSeq(t *testing.T, p *ingesttest.Pipeline, stream string) uint64 {
	t.Helper()
	st, err := p.JS.Stream(tctx(t), stream)
	require.NoError(t, err)
	info, err := st.Info(tctx(t))
	require.NoError(t, err)
	return info.State.LastSeq
}

// TestTwoPipelinesReplicateWithoutLoops: two prefixes on one NATS server,
// two SQLite databases, a replicator each way; writes on both sides,
// conflicting ones included, converge, and no write is ever sent back to
// the pipeline it came from.
func TestTwoPipelinesReplicateWithoutLoops(t *testing.T) {
	t.Parallel()
	srv := waltest.Start(t, waltest.Options{})
	east := ingesttest.Start(t, ingesttest.Options{Server: srv, WAL: wal.Config{Prefix: "east"}})
	west := ingesttest.Start(t, ingesttest.Options{Server: srv, WAL: wal.Config{Prefix: "west"}})
	e2w := run(t, east.Client, west.Client, cdc.Config{Source: "east", Target: "west"})
	w2e := run(t, west.Client, east.Client, cdc.Config{Source: "west", Target: "east"})
	ctx := tctx(t)

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	write := func(c *client.Client, side string) {
		defer wg.Done()
		for i := range 40 {
			if _, err := c.Put(ctx, fmt.Sprintf("%s.g%d.%02d", side, i/10, i), []byte(side), client.WithVersion(uint64(i+1))); err != nil {
				errs <- err
				return
			}
			// Both sides write the shared ids with explicit versions: the
			// higher version wins, equal versions resolve by payload hash.
			if _, err := c.Put(ctx, fmt.Sprintf("shared.%02d", i%10), []byte(side+fmt.Sprint(i)),
				client.WithVersion(uint64(100+i)), client.WithState(side)); err != nil {
				errs <- err
				return
			}
		}
	}
	wg.Add(2)
	go write(east.Client, "e")
	go write(west.Client, "w")
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, err := east.Client.Put(ctx, "e.durable", []byte(`{"d":1}`), client.WithRoute(item.RouteDurable), client.WithVersion(5))
	require.NoError(t, err)
	_, err = east.Client.Delete(ctx, "e.g0.03", client.WithVersion(50))
	require.NoError(t, err)
	_, err = west.Client.SetState(ctx, "w.g0.07", "done")
	require.NoError(t, err)
	res, err := west.Client.DeletePrefix(ctx, client.Query{Prefix: "w.g1"})
	require.NoError(t, err)
	require.Equal(t, 10, res.Count)

	final := converge(t, east.Client, west.Client)
	require.NotContains(t, final, "e.g0.03")
	require.NotContains(t, final, "w.g1.15")
	require.Contains(t, final["w.g0.07"], "state=done")
	require.Contains(t, final["e.durable"], "route=durable")
	require.Contains(t, final["e.durable"], "type=application/json")
	require.Len(t, final, 40+40+10+1-1-10)

	// Both replicators catch up with both feeds: nothing keeps them busy.
	require.Eventually(t, func() bool {
		return e2w.Last() == lastSeq(t, east, east.Names.CommitsStream()) &&
			w2e.Last() == lastSeq(t, west, west.Names.CommitsStream())
	}, 10*time.Second, 20*time.Millisecond, "the replicators caught up")

	// No write ever went back to where it came from: an echo would be a
	// WAL message carrying the pipeline's own origin.
	eo, wo := walOrigins(t, east), walOrigins(t, west)
	require.Zero(t, eo["east"], "east's WAL: %v", eo)
	require.Zero(t, wo["west"], "west's WAL: %v", wo)
	require.Positive(t, eo["west"])
	require.Positive(t, wo["east"])
	require.Positive(t, e2w.Stats().Skipped, "east->west skips the changes that came from west")
	require.Positive(t, w2e.Stats().Skipped)
}

// TestReplicatorResumesFromItsCheckpoint: a replicator restarted at
// Last()+1 loses nothing and repeats nothing harmful.
func TestReplicatorResumesFromItsCheckpoint(t *testing.T) {
	t.Parallel()
	srv := waltest.Start(t, waltest.Options{})
	a := ingesttest.Start(t, ingesttest.Options{Server: srv, WAL: wal.Config{Prefix: "a"}})
	b := ingesttest.Start(t, ingesttest.Options{Server: srv, WAL: wal.Config{Prefix: "b"}})
	ctx := tctx(t)
	for i := range 20 {
		_, err := a.Client.Put(ctx, fmt.Sprintf("k.%02d", i), []byte("one"))
		require.NoError(t, err)
	}
	var mu sync.Mutex
	var checkpoints []uint64
	r := run(t, a.Client, b.Client, cdc.Config{Source: "a", Target: "b", OnApplied: func(seq uint64) {
		mu.Lock()
		checkpoints = append(checkpoints, seq)
		mu.Unlock()
	}})
	converge(t, a.Client, b.Client)
	r.stop(t)
	last := r.Last()
	mu.Lock()
	require.Equal(t, last, checkpoints[len(checkpoints)-1])
	mu.Unlock()

	for i := range 20 {
		_, err := a.Client.Put(ctx, fmt.Sprintf("k.%02d", i), []byte("two"))
		require.NoError(t, err)
	}
	_, err := a.Client.Delete(ctx, "k.00")
	require.NoError(t, err)
	r2 := run(t, a.Client, b.Client, cdc.Config{Source: "a", Target: "b", From: last + 1})
	final := converge(t, a.Client, b.Client)
	require.Len(t, final, 19)
	require.Greater(t, r2.Last(), last)
}

// TestResyncAfterAGap: records gone from the feed are made up for by a
// full copy.
func TestResyncAfterAGap(t *testing.T) {
	t.Parallel()
	srv := waltest.Start(t, waltest.Options{})
	a := ingesttest.Start(t, ingesttest.Options{Server: srv, WAL: wal.Config{Prefix: "a"}})
	b := ingesttest.Start(t, ingesttest.Options{Server: srv, WAL: wal.Config{Prefix: "b"}})
	ctx := tctx(t)
	for i := range 10 {
		_, err := a.Client.Put(ctx, fmt.Sprintf("g.%d", i), []byte("x"), client.WithState("s"))
		require.NoError(t, err)
	}
	_, err := a.Client.Count(ctx, client.Query{}, client.WithStrong())
	require.NoError(t, err)
	// The feed loses its first records (as if expired).
	st, err := a.JS.Stream(ctx, a.Names.CommitsStream())
	require.NoError(t, err)
	require.NoError(t, st.Purge(ctx, jetstream.WithPurgeSequence(lastSeq(t, a, a.Names.CommitsStream())+1)))
	_, err = a.Client.Put(ctx, "g.after", []byte("y"))
	require.NoError(t, err)

	r := run(t, a.Client, b.Client, cdc.Config{Source: "a", Target: "b"})
	final := converge(t, a.Client, b.Client)
	require.Len(t, final, 11)
	require.Equal(t, uint64(1), r.Stats().Resyncs)

	var gap *client.CommitGapError
	err = a.Client.FollowCommits(ctx, 1, func(uint64, wal.CommitRecord) error { return nil })
	require.True(t, errors.As(err, &gap), "%v", err)
	require.Equal(t, uint64(0), gap.After)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []cdc.Config{
		{}, {Source: "a"}, {Source: "a", Target: "a"}, {Source: "a b", Target: "c"}, {Source: "a", Target: "b", InFlight: -1},
	} {
		require.Error(t, c.Validate(), "%+v", c)
	}
	require.NoError(t, cdc.Config{Source: "a", Target: "b"}.Validate())
	_, err := cdc.New(nil, nil, cdc.Config{Source: "a", Target: "b"})
	require.Error(t, err)
}
