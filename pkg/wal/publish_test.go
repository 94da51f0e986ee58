package wal_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func TestPublishAcksWithSequence(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "pub"})
	p, err := wal.NewPublisher(e.nc, e.cfg)
	require.NoError(t, err)
	for i := 1; i <= 3; i++ {
		ack, err := p.Publish(ctx(t), wal.Write{ID: fmt.Sprintf("a.%d", i), Op: wal.OpPut, Payload: []byte("x")})
		require.NoError(t, err)
		require.EqualValues(t, i, ack.Seq)
		require.False(t, ack.Duplicate)
	}
	st, err := e.js.Stream(ctx(t), "PUB_WAL")
	require.NoError(t, err)
	raw, err := st.GetMsg(ctx(t), 2)
	require.NoError(t, err)
	require.Equal(t, "a.2", raw.Header.Get(wal.HeaderID))
	require.Equal(t, e.cfg.Names().WALSubjectFor("a.2"), raw.Subject)
	require.NoError(t, p.Close(ctx(t)))
	_, err = p.Publish(ctx(t), wal.Write{ID: "a", Op: wal.OpDel})
	require.ErrorIs(t, err, item.ErrUnavailable)
}

func TestPublishDuplicateReturnsOriginalSeq(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "dup"})
	p, err := wal.NewPublisher(e.nc, e.cfg)
	require.NoError(t, err)
	w := wal.Write{ID: "a", Op: wal.OpPut, Payload: []byte("x"), MsgID: "k1"}
	first, err := p.Publish(ctx(t), w)
	require.NoError(t, err)
	_, err = p.Publish(ctx(t), wal.Write{ID: "b", Op: wal.OpPut, Payload: []byte("y")})
	require.NoError(t, err)
	again, err := p.Publish(ctx(t), w)
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, first.Seq, again.Seq)
}

func TestPublishStreamFullIsUnavailable(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "full", MaxMsgs: 2, RetryAfterFull: 3 * time.Second})
	p, err := wal.NewPublisher(e.nc, e.cfg)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		_, err := p.Publish(ctx(t), wal.Write{ID: "a", Op: wal.OpPut, Payload: []byte("x")})
		require.NoError(t, err)
	}
	_, err = p.Publish(ctx(t), wal.Write{ID: "a", Op: wal.OpPut, Payload: []byte("x")})
	var ie *item.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, item.CodeUnavailable, ie.Code)
	require.Equal(t, 3, ie.RetryAfterSeconds)
	require.Contains(t, ie.Message, "full")
}

func TestPublishWithoutStreamIsUnavailable(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	p, err := wal.NewPublisher(nc, wal.Config{Prefix: "nostream"}) // never provisioned
	require.NoError(t, err)
	start := time.Now()
	_, err = p.Publish(ctx(t), wal.Write{ID: "a", Op: wal.OpPut, Payload: []byte("x")})
	require.ErrorIs(t, err, item.ErrUnavailable)
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestPublishTooLargeForStream(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "big", MaxPayload: 1024})
	p, err := wal.NewPublisher(e.nc, e.cfg)
	require.NoError(t, err)
	_, err = p.Publish(ctx(t), wal.Write{ID: "a", Op: wal.OpPut, Payload: make([]byte, 1024+wal.HeaderAllowance+1)})
	require.ErrorIs(t, err, item.ErrPayloadTooLarge)
}

func TestPublishAsyncManyAndClose(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "many", PublishMaxPending: 16})
	p, err := wal.NewPublisher(e.nc, e.cfg)
	require.NoError(t, err)
	const n = 500
	var mu sync.Mutex
	seqs := map[uint64]bool{}
	for i := 0; i < n; i++ {
		err := p.PublishAsync(wal.Write{ID: fmt.Sprintf("k.%d", i), Op: wal.OpPut, Payload: []byte("v")}, func(a wal.Ack, err error) {
			require.NoError(t, err)
			mu.Lock()
			seqs[a.Seq] = true
			mu.Unlock()
		})
		require.NoError(t, err)
	}
	require.NoError(t, p.Close(ctx(t)))
	require.Zero(t, p.InFlight())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seqs, n)
}

func TestAckedWriteSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := waltest.Start(t, waltest.Options{StoreDir: dir})
	nc := waltest.Connect(t, s)
	cfg := wal.Config{Prefix: "restart"}
	js := mustJS(t, nc)
	require.NoError(t, wal.Provision(ctx(t), js, cfg))
	p, err := wal.NewPublisher(nc, cfg)
	require.NoError(t, err)
	ack, err := p.Publish(ctx(t), wal.Write{ID: "keep.me", Op: wal.OpPut, Payload: []byte("durable")})
	require.NoError(t, err)
	nc.Close()
	s.Shutdown()
	s.WaitForShutdown()

	s2 := waltest.Start(t, waltest.Options{StoreDir: dir})
	nc2 := waltest.Connect(t, s2)
	st, err := mustJS(t, nc2).Stream(ctx(t), "RESTART_WAL")
	require.NoError(t, err)
	raw, err := st.GetMsg(ctx(t), ack.Seq)
	require.NoError(t, err)
	require.Equal(t, "keep.me", raw.Header.Get(wal.HeaderID))
	require.Equal(t, "durable", string(raw.Data))
}
