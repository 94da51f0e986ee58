package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
)

func TestMicroServiceDiscovery(t *testing.T) {
	t.Parallel()
	h := start(t, opts{wal: wal.Config{Prefix: "acme"}})
	resp, err := h.nc.Request("$SRV.INFO.syncline", nil, 5*time.Second)
	require.NoError(t, err)
	var info micro.Info
	require.NoError(t, json.Unmarshal(resp.Data, &info))
	require.Equal(t, "syncline", info.Name)
	subjects := map[string]string{}
	for _, e := range info.Endpoints {
		subjects[e.Name] = e.Subject
		require.Equal(t, "syncline", e.QueueGroup)
	}
	require.Equal(t, map[string]string{"put": "acme.put.>", "del": "acme.del.>", "get": "acme.get.>", "exists": "acme.exists.>"}, subjects)
	r, err := h.cl.Put(tctx(t), "x", []byte("y"))
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Seq)
}

func TestPipelineThroughIngest(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	p, err := h.cl.NewPipeline(64)
	require.NoError(t, err)
	defer p.Close()
	const n = 1000
	futs := make([]*client.Future, 0, n)
	for i := 0; i < n; i++ {
		f, err := p.Put(tctx(t), fmt.Sprintf("bulk.%d", i), []byte("v"))
		require.NoError(t, err)
		futs = append(futs, f)
	}
	require.NoError(t, p.Wait(tctx(t)))
	seen := map[uint64]bool{}
	for _, f := range futs {
		r, err := f.Result()
		require.NoError(t, err)
		require.False(t, seen[r.Seq])
		seen[r.Seq] = true
	}
	// Errors come back per future.
	f, err := p.Put(tctx(t), "bad", []byte("{"), client.WithContentType(item.ContentTypeJSON))
	require.NoError(t, err)
	_, err = f.Result()
	require.ErrorIs(t, err, item.ErrInvalidJSON)
}

func TestGracefulStopAnswersEveryAcceptedWrite(t *testing.T) {
	t.Parallel()
	h := start(t, opts{})
	p, err := h.cl.NewPipeline(256)
	require.NoError(t, err)
	defer p.Close()
	const n = 2000
	futs := make([]*client.Future, 0, n)
	stopped := make(chan error, 1)
	for i := 0; i < n; i++ {
		if i == n/2 {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				stopped <- h.svc.Stop(ctx)
			}()
		}
		f, err := p.Put(tctx(t), fmt.Sprintf("g.%d", i), []byte("v"))
		require.NoError(t, err)
		futs = append(futs, f)
	}
	require.NoError(t, <-stopped)
	require.Equal(t, lifecycle.ShuttingDown, h.stage.State())
	var ok, unavailable int
	var maxSeq uint64
	for _, f := range futs {
		r, err := f.Result()
		switch {
		case err == nil:
			ok++
			maxSeq = max(maxSeq, r.Seq)
		case item.CodeOf(err) == item.CodeUnavailable:
			unavailable++ // sent after the service stopped: no responders
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	require.Equal(t, n, ok+unavailable)
	require.Greater(t, ok, 0)
	// Every acknowledged write is in the WAL, and nothing else is.
	st, err := h.js.Stream(tctx(t), "SYNC_WAL")
	require.NoError(t, err)
	info, err := st.Info(tctx(t))
	require.NoError(t, err)
	require.EqualValues(t, ok, info.State.Msgs)
	require.Equal(t, maxSeq, info.State.LastSeq)
}
