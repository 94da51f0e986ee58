package wal_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
)

func publishN(t *testing.T, e env, n int) {
	t.Helper()
	p, err := wal.NewPublisher(e.nc, e.cfg)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		_, err := p.Publish(ctx(t), wal.Write{ID: fmt.Sprintf("id.%d", i), Op: wal.OpPut, Payload: []byte("p")})
		require.NoError(t, err)
	}
}

func TestFetchAndAck(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "fetch"})
	publishN(t, e, 5)
	c, err := wal.NewConsumer(ctx(t), e.js, e.cfg)
	require.NoError(t, err)

	msgs, err := c.Fetch(ctx(t), 3, 0, time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 3)
	for i, m := range msgs {
		require.EqualValues(t, i+1, m.Seq)
		require.EqualValues(t, 1, m.Delivered)
		w, err := m.Write(0)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("id.%d", i), w.ID)
		require.NoError(t, c.Settle(ctx(t), m, nil))
	}
	// A byte-limited fetch returns fewer; an empty one waits maxWait and is no error.
	msgs, err = c.Fetch(ctx(t), 10, 1, 200*time.Millisecond)
	require.NoError(t, err)
	require.LessOrEqual(t, len(msgs), 1)
	for _, m := range msgs {
		require.NoError(t, c.Settle(ctx(t), m, nil))
	}
	msgs, err = c.Fetch(ctx(t), 10, 0, 200*time.Millisecond)
	require.NoError(t, err)
	for _, m := range msgs {
		require.NoError(t, m.DoubleAck(ctx(t)))
	}
	empty, err := c.Fetch(ctx(t), 10, 0, 100*time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, empty)

	info, err := e.js.Consumer(ctx(t), "FETCH_WAL", "writers")
	require.NoError(t, err)
	ci, err := info.Info(ctx(t))
	require.NoError(t, err)
	require.EqualValues(t, 5, ci.AckFloor.Stream)
}

func TestSettleRetryAfterRedelivers(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "retry"})
	publishN(t, e, 1)
	c, err := wal.NewConsumer(ctx(t), e.js, e.cfg)
	require.NoError(t, err)
	msgs, err := c.Fetch(ctx(t), 1, 0, time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.NoError(t, msgs[0].InProgress())
	require.NoError(t, c.Settle(ctx(t), msgs[0], wal.RetryAfter(50*time.Millisecond, errors.New("sql busy"))))

	again, err := c.Fetch(ctx(t), 1, 0, 2*time.Second)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.EqualValues(t, 1, again[0].Seq)
	require.EqualValues(t, 2, again[0].Delivered)
	// A plain error is retried too (default delay), never dropped.
	require.NoError(t, c.Settle(ctx(t), again[0], errors.New("unexpected")))
}

func TestSettlePermanentCopiesToDLQAndTerminates(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "perm"})
	// A trusted producer publishes an invalid write straight into the WAL.
	bad := &nats.Msg{Subject: "perm.wal.3", Header: nats.Header{}, Data: []byte("payload")}
	bad.Header.Set(wal.HeaderID, "a..b")
	bad.Header.Set(wal.HeaderOp, "put")
	bad.Header.Set(wal.HeaderMsgID, "orig-1")
	bad.Header.Set("X-Custom", "kept")
	_, err := e.js.PublishMsg(ctx(t), bad)
	require.NoError(t, err)
	publishN(t, e, 1) // a valid one behind it is not blocked

	c, err := wal.NewConsumer(ctx(t), e.js, e.cfg)
	require.NoError(t, err)
	var handled []uint64
	rctx, cancel := context.WithCancel(ctx(t))
	done := make(chan error, 1)
	go func() {
		done <- c.Run(rctx, 10, 100*time.Millisecond, func(_ context.Context, m *wal.Msg) error {
			handled = append(handled, m.Seq)
			_, err := m.Write(0)
			if len(handled) >= 2 {
				cancel()
			}
			return err
		})
	}()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, []uint64{1, 2}, handled)

	dlq, err := e.js.Stream(ctx(t), "PERM_DLQ")
	require.NoError(t, err)
	raw, err := dlq.GetLastMsgForSubject(ctx(t), "perm.dlq.invalid_id")
	require.NoError(t, err)
	require.Equal(t, "payload", string(raw.Data))
	require.Equal(t, "invalid_id", raw.Header.Get(wal.HeaderDLQReason))
	require.Equal(t, "1", raw.Header.Get(wal.HeaderDLQSeq))
	require.Equal(t, "a..b", raw.Header.Get(wal.HeaderID))
	require.Equal(t, "kept", raw.Header.Get("X-Custom"))
	require.Equal(t, "orig-1", raw.Header.Get(wal.HeaderDLQMsgID))

	// Everything is settled: nothing is redelivered.
	cons, err := e.js.Consumer(ctx(t), "PERM_WAL", "writers")
	require.NoError(t, err)
	checkFor(t, 2*time.Second, 20*time.Millisecond, func() error {
		ci, err := cons.Info(ctx(t))
		if err != nil {
			return err
		}
		if ci.AckFloor.Stream != 2 || ci.NumAckPending != 0 {
			return fmt.Errorf("ack floor %d, pending %d", ci.AckFloor.Stream, ci.NumAckPending)
		}
		return nil
	})
}

func TestCopyToDLQDeduplicates(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "dlqdup"})
	publishN(t, e, 1)
	c, err := wal.NewConsumer(ctx(t), e.js, e.cfg)
	require.NoError(t, err)
	msgs, err := c.Fetch(ctx(t), 1, 0, time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	a1, err := wal.CopyToDLQ(ctx(t), e.js, e.cfg.Names(), msgs[0], "Weird Reason!")
	require.NoError(t, err)
	a2, err := wal.CopyToDLQ(ctx(t), e.js, e.cfg.Names(), msgs[0], "Weird Reason!")
	require.NoError(t, err)
	require.True(t, a2.Duplicate)
	require.Equal(t, a1.Sequence, a2.Sequence)
	dlq, err := e.js.Stream(ctx(t), "DLQDUP_DLQ")
	require.NoError(t, err)
	raw, err := dlq.GetMsg(ctx(t), a1.Sequence)
	require.NoError(t, err)
	require.Equal(t, "dlqdup.dlq.weird_reason_", raw.Subject)
}
