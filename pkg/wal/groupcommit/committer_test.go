package groupcommit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// Concurrent writes are grouped into atomic batches, and each gets its own
// sequence, derived from the batch ack (last seq, count): the message at
// that sequence is the write, even with per-message publishes (writes
// with an idempotency key) interleaving between batches.
func TestEachWriteGetsItsOwnSeq(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c := start(t, e.nc, testConfig(func(c *groupcommit.Config) { c.MaxBatchWrites = 32 }), nil)
	require.True(t, c.Batching())

	const writers, each = 64, 30
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := make([][]outcome, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				m := walMsg(fmt.Sprintf("w%d-%d", g, i))
				if g%8 == 0 && i%3 == 0 {
					m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("id-%d-%d", g, i))
				}
				ack, err := c.Publish(ctx, m)
				out[g] = append(out[g], outcome{name: m.Header.Get("Sync-Id"), ack: ack, err: err})
			}
		})
	}
	began := time.Now()
	wg.Wait()
	t.Logf("published in %v", time.Since(began))

	var all []outcome
	seqs := map[uint64]string{}
	for _, o := range out {
		for _, w := range o {
			require.NoError(t, w.err, w.name)
			require.Equal(t, testStream, w.ack.Stream)
			require.False(t, w.ack.Duplicate)
			prev, dup := seqs[w.ack.Seq]
			require.Falsef(t, dup, "seq %d given to %s and %s", w.ack.Seq, prev, w.name)
			seqs[w.ack.Seq] = w.name
			all = append(all, w)
		}
	}
	msgs := readStream(t, e.js)
	require.Len(t, msgs, writers*each)
	requireAcksStored(t, all, msgs)
	runs := requireBatchesWhole(t, msgs)
	grouped := 0
	for _, r := range runs {
		require.LessOrEqual(t, r.n, 32)
		grouped += r.n
	}
	require.NotEmpty(t, runs, "no atomic batch at all")
	t.Logf("%d writes, %d in %d atomic batches (mean %.1f)", len(all), grouped, len(runs), float64(grouped)/float64(len(runs)))
}

// A write is answered only once the server acknowledged it; a lone write
// on an idle committer is not held back for MaxDelay.
func TestLoneWriteIsNotDelayed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c := start(t, e.nc, testConfig(func(c *groupcommit.Config) {
		c.MaxDelay = time.Hour
		c.MaxInFlight = 4
	}), nil)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ack, err := c.Publish(ctx, walMsg(fmt.Sprintf("lone-%d", i)))
		cancel()
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), ack.Seq)
	}
}

func TestPublishBeforeStartAndAfterStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c, err := groupcommit.New(e.nc, testConfig(nil), nil, nil)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.Publish(ctx, walMsg("early"))
	require.ErrorIs(t, err, groupcommit.ErrNotStarted)
	require.ErrorIs(t, err, item.ErrUnavailable)

	require.NoError(t, c.Start(ctx))
	_, err = c.Publish(ctx, walMsg("ok"))
	require.NoError(t, err)
	require.NoError(t, c.Stop(ctx))
	require.NoError(t, c.Stop(ctx), "Stop twice")
	_, err = c.Publish(ctx, walMsg("late"))
	require.ErrorIs(t, err, groupcommit.ErrStopped)
	require.ErrorIs(t, err, item.ErrUnavailable)
}

func TestRejectsMessagesOutsideTheStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c := start(t, e.nc, testConfig(nil), nil)
	ctx := context.Background()
	for _, m := range []*nats.Msg{nil, {Subject: ""}, {Subject: "other.wal.1"}, {Subject: "t.wal.1.x"}, {Subject: "t.wal.1", Reply: "r"}} {
		_, err := c.Publish(ctx, m)
		require.ErrorIs(t, err, &item.Error{Code: item.CodeInternal})
	}
	require.Empty(t, readStream(t, e.js))
}

// Batches respect the byte bound as well as the count bound (see also
// TestEachWriteGetsItsOwnSeq; the time bound is TestPolicyDecide's).
func TestBatchesRespectTheByteBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c := start(t, e.nc, testConfig(func(c *groupcommit.Config) { c.MaxBatchBytes = 1000 }), nil)
	msgs := names("w", 200)
	for _, m := range msgs {
		m.Data = append(m.Data, make([]byte, 200)...)
	}
	out := publishAll(t, c, msgs)
	for i := range out {
		require.NoError(t, out[i].err)
		out[i].err = errSkipPayloadCheck
	}
	stored := readStream(t, e.js)
	requireAcksStored(t, out, stored)
	pairs := 0
	for _, r := range requireBatchesWhole(t, stored) {
		require.LessOrEqual(t, r.n, 2, "~370 bytes a write, 1000 a batch")
		if r.n == 2 {
			pairs++
		}
	}
	require.Positive(t, pairs)
}
