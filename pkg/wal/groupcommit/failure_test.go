package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// requireUnavailable checks a definitive "not stored, retry later" answer.
func requireUnavailable(t testing.TB, err error) {
	t.Helper()
	var ie *item.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, item.CodeUnavailable, ie.Code, err.Error())
	require.GreaterOrEqual(t, ie.RetryAfterSeconds, 1)
	require.NotErrorIs(t, err, groupcommit.ErrOutcomeUnknown)
}

// A write larger than the server's max_payload is rejected on its own with
// payload_too_large; the writes around it are stored. A write that fits
// only without the batch headers is published alone and stored.
func TestOversizedWriteIsRejectedAlone(t *testing.T) {
	t.Parallel()
	const maxPayload = 64 << 10
	e := newEnv(t, waltest.Options{MaxPayload: maxPayload}, nil)
	c := start(t, e.nc, testConfig(nil), nil)

	msgs := names("small", 40)
	big := walMsg("big")
	big.Data = make([]byte, maxPayload+1)
	tight := walMsg("tight")
	tight.Data = []byte("payload-tight")
	tight.Data = append(tight.Data, make([]byte, maxPayload-len(tight.Data)-200)...)
	msgs = append(msgs[:20:20], append([]*nats.Msg{big, tight}, msgs[20:]...)...)

	out := publishAll(t, c, msgs)
	for _, o := range out {
		switch o.name {
		case "big":
			require.ErrorIs(t, o.err, item.ErrPayloadTooLarge)
		default:
			require.NoError(t, o.err, o.name)
		}
	}
	stored := readStream(t, e.js)
	require.Len(t, stored, 41)
	for i, o := range out {
		if o.name == "tight" {
			require.Equal(t, tight.Data, bySeq(stored)[o.ack.Seq].data)
			out[i].err = errSkipPayloadCheck
		}
	}
	requireAcksStored(t, out, stored)
	requireBatchesWhole(t, stored)
}

// When the server refuses a batch because of one write (here: the stream's
// max_msg_size was lowered after Start, so only the server knows), the
// batch is re-published write by write: the culprit gets payload_too_large,
// its neighbours are stored.
func TestServerRefusalOfOneWriteSplitsTheBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	reg := prometheus.NewRegistry()
	c := startWith(t, e.nc, testConfig(nil), nil, reg)
	ctx := context.Background()
	_, err := e.js.UpdateStream(ctx, streamConfig(func(sc *jetstream.StreamConfig) { sc.MaxMsgSize = 2000 }))
	require.NoError(t, err)

	for round := range 5 {
		msgs := names(fmt.Sprintf("r%d", round), 30)
		big := walMsg(fmt.Sprintf("big%d", round))
		big.Data = make([]byte, 5000)
		msgs = append(msgs, big)
		for _, o := range publishAll(t, c, msgs) {
			if strings.HasPrefix(o.name, "big") {
				require.ErrorIs(t, o.err, item.ErrPayloadTooLarge)
				continue
			}
			require.NoError(t, o.err, o.name)
		}
	}
	stored := readStream(t, e.js)
	require.Len(t, stored, 5*30)
	requireBatchesWhole(t, stored)
	require.Positive(t, metric(t, reg, "syncline_wal_groupcommit_batch_splits_total"), "no batch was refused and split")
}

// Writes with an idempotency key are published on their own, so a
// duplicate never fails the writes it arrived with: every write gets its
// own answer, a duplicate gets the original's sequence.
func TestDuplicatesAreAnsweredPerWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c := start(t, e.nc, testConfig(nil), nil)
	ctx := context.Background()

	earlier := walMsg("earlier")
	earlier.Header.Set(jetstream.MsgIDHeader, "key-earlier")
	first, err := c.Publish(ctx, earlier)
	require.NoError(t, err)
	require.False(t, first.Duplicate)

	msgs := names("plain", 60)
	for i := range 3 {
		m := walMsg(fmt.Sprintf("same-%d", i))
		m.Header.Set(jetstream.MsgIDHeader, "key-same")
		msgs = append(msgs, m)
	}
	again := walMsg("earlier-again")
	again.Header.Set(jetstream.MsgIDHeader, "key-earlier")
	msgs = append(msgs, again)

	out := publishAll(t, c, msgs)
	var sameSeqs []uint64
	originals := 0
	for _, o := range out {
		require.NoError(t, o.err, o.name)
		switch {
		case o.name == "earlier-again":
			require.True(t, o.ack.Duplicate)
			require.Equal(t, first.Seq, o.ack.Seq)
		case strings.HasPrefix(o.name, "same-"):
			sameSeqs = append(sameSeqs, o.ack.Seq)
			if !o.ack.Duplicate {
				originals++
			}
		default:
			require.False(t, o.ack.Duplicate, o.name)
		}
	}
	require.Equal(t, 1, originals, "exactly one of the same-key writes is stored")
	require.Equal(t, []uint64{sameSeqs[0], sameSeqs[0], sameSeqs[0]}, sameSeqs, "duplicates answer the original's seq")

	stored := readStream(t, e.js)
	require.Len(t, stored, 1+60+1)
	var plain []outcome
	for _, o := range out {
		if strings.HasPrefix(o.name, "plain") {
			plain = append(plain, o)
		}
	}
	requireAcksStored(t, plain, stored)
	requireBatchesWhole(t, stored)
}

// A full stream (DiscardNew) is backpressure: the writes that fit are
// stored, each overflowing write gets unavailable with Retry-After, and no
// batch is stored in part.
func TestStreamFullAnswersOverflowingWrites(t *testing.T) {
	t.Parallel()
	const capacity = 100
	e := newEnv(t, waltest.Options{}, func(sc *jetstream.StreamConfig) { sc.MaxMsgs = capacity })
	reg := prometheus.NewRegistry()
	c := startWith(t, e.nc, testConfig(func(c *groupcommit.Config) { c.MaxBatchWrites = 16 }), nil, reg)

	out := publishAll(t, c, names("w", 160))
	acked := 0
	for _, o := range out {
		if o.err == nil {
			acked++
			continue
		}
		requireUnavailable(t, o.err)
	}
	require.Equal(t, capacity, acked)
	require.Positive(t, metric(t, reg, "syncline_wal_groupcommit_batch_splits_total"), "no full batch was refused and split")
	stored := readStream(t, e.js)
	require.Len(t, stored, capacity)
	requireAcksStored(t, out, stored)
	requireBatchesWhole(t, stored)

	// Room again: the same writes go through.
	ctx := context.Background()
	s, err := e.js.Stream(ctx, testStream)
	require.NoError(t, err)
	require.NoError(t, s.Purge(ctx))
	for _, o := range publishAll(t, c, names("after", 50)) {
		require.NoError(t, o.err)
	}
}

// A stream without AllowAtomicPublish makes the Committer publish per
// message, and say so in the log.
func TestFallsBackWithoutAtomicPublish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, func(sc *jetstream.StreamConfig) { sc.AllowAtomicPublish = false })
	var logs logBuffer
	c := start(t, e.nc, testConfig(nil), logs.logger())
	require.False(t, c.Batching())
	require.Contains(t, logs.String(), "atomic batches unavailable")
	require.Contains(t, logs.String(), "AllowAtomicPublish")

	out := publishAll(t, c, names("w", 50))
	for _, o := range out {
		require.NoError(t, o.err)
	}
	stored := readStream(t, e.js)
	requireAcksStored(t, out, stored)
	require.Empty(t, requireBatchesWhole(t, stored))
}

// Atomic publish switched off while running: the refused batch is
// re-published per message (nothing lost, nothing failed) and the
// Committer stays per-message.
func TestFallsBackWhenAtomicPublishIsDisabledLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	var logs logBuffer
	c := start(t, e.nc, testConfig(nil), logs.logger())
	require.True(t, c.Batching())
	_, err := e.js.UpdateStream(context.Background(), streamConfig(func(sc *jetstream.StreamConfig) { sc.AllowAtomicPublish = false }))
	require.NoError(t, err)

	for round := range 3 {
		out := publishAll(t, c, names(fmt.Sprintf("r%d", round), 40))
		for _, o := range out {
			require.NoError(t, o.err)
		}
	}
	require.False(t, c.Batching())
	require.Contains(t, logs.String(), "atomic batches unavailable")
	stored := readStream(t, e.js)
	require.Len(t, stored, 120)
}

func TestPerMessageMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	var logs logBuffer
	c := start(t, e.nc, testConfig(func(c *groupcommit.Config) { c.Mode = groupcommit.ModePerMessage }), logs.logger())
	require.False(t, c.Batching())
	require.NotContains(t, logs.String(), "atomic batches unavailable", "a chosen mode is not a fallback")
	out := publishAll(t, c, names("w", 40))
	stored := readStream(t, e.js)
	requireAcksStored(t, out, stored)
	require.Empty(t, requireBatchesWhole(t, stored))
}

func TestReplicatedDurabilityNeedsReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c, err := groupcommit.New(e.nc, testConfig(func(c *groupcommit.Config) { c.Durability = groupcommit.DurabilityReplicated }), nil, nil)
	require.NoError(t, err)
	err = c.Start(context.Background())
	require.ErrorContains(t, err, "at least 3 replicas")
	require.NoError(t, c.Stop(context.Background()))

	c, err = groupcommit.New(e.nc, testConfig(func(c *groupcommit.Config) { c.Stream = "MISSING" }), nil, nil)
	require.NoError(t, err)
	require.ErrorIs(t, c.Start(context.Background()), jetstream.ErrStreamNotFound)
}

// A caller that gives up is answered at once: "not stored" if its write
// had not left yet, ErrOutcomeUnknown if it had.
func TestCallerGivingUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	c := start(t, e.nc, testConfig(nil), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Publish(ctx, walMsg("gave-up"))
	requireUnavailable(t, err)
	require.ErrorIs(t, err, context.Canceled)

	// Deadlines far shorter than an fsync: each answer is either an ack,
	// a definitive "not stored" or outcome unknown, and whatever was
	// acked is stored.
	var out []outcome
	for i := range 50 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%5)*50*time.Microsecond)
		m := walMsg(fmt.Sprintf("hurry-%d", i))
		ack, err := c.Publish(ctx, m)
		cancel()
		out = append(out, outcome{name: m.Header.Get("Sync-Id"), ack: ack, err: err})
		if err != nil {
			require.ErrorIs(t, err, item.ErrUnavailable)
		}
	}
	// A barrier: the stream handles one connection's messages in order, so
	// once this is acked every abandoned publish before it has landed.
	_, err = c.Publish(context.Background(), walMsg("barrier"))
	require.NoError(t, err)
	stored := readStream(t, e.js)
	requireAcksStored(t, out, stored)
	present := map[string]bool{}
	for _, s := range stored {
		present[s.header.Get("Sync-Id")] = true
	}
	for _, o := range out {
		if o.err != nil && !errors.Is(o.err, groupcommit.ErrOutcomeUnknown) {
			require.False(t, present[o.name], "%s was answered 'not stored' but is in the stream", o.name)
		}
	}
}

// Pins the server behaviour behind publishing idempotency keys alone:
// nats-server accepts Nats-Msg-Id in an atomic batch, but one duplicate id
// fails the whole batch (10201), storing none of its other writes.
func TestServerFailsAWholeAtomicBatchOnADuplicateMsgID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	ctx := context.Background()
	first := walMsg("first")
	first.Header.Set(jetstream.MsgIDHeader, "key")
	_, err := e.js.PublishMsg(ctx, first)
	require.NoError(t, err)

	dup := walMsg("dup")
	dup.Header.Set(jetstream.MsgIDHeader, "key")
	batch := []*nats.Msg{walMsg("innocent-1"), dup, walMsg("innocent-2")}
	_, err = jetstreamext.PublishMsgBatch(ctx, e.js, batch)
	var apiErr *jetstream.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, jetstreamext.JSErrCodeBatchPublishDuplicateMsgID, apiErr.ErrorCode)
	require.Len(t, readStream(t, e.js), 1, "the innocent writes were not stored either")
}
