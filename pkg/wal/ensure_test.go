package wal_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// A second start changes nothing on the server (no stream or consumer
// update requests); a changed setting is applied.
func TestProvisionUpdatesOnlyWhatDiffers(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := wal.Config{Prefix: "ens"}
	require.NoError(t, wal.Provision(ctx, js, cfg))

	spy := waltest.Connect(t, s)
	updates, err := spy.SubscribeSync("$JS.API.STREAM.UPDATE.>")
	require.NoError(t, err)
	consumers, err := spy.SubscribeSync("$JS.API.CONSUMER.CREATE.>")
	require.NoError(t, err)
	require.NoError(t, spy.Flush())

	require.NoError(t, wal.Provision(ctx, js, cfg))
	require.NoError(t, nc.Flush())
	n, _, _ := updates.Pending()
	for i := 0; i < n; i++ {
		m, _ := updates.NextMsg(time.Second)
		t.Log("update:", m.Subject)
	}
	require.Zero(t, n, "an unchanged config is not re-applied")
	n, _, _ = consumers.Pending()
	require.Zero(t, n, "an unchanged consumer is not re-applied")

	cfg.MaxMsgs = 1000
	require.NoError(t, wal.Provision(ctx, js, cfg))
	require.NoError(t, nc.Flush())
	n, _, _ = updates.Pending()
	require.Equal(t, 1, n, "only the changed WAL is updated")
	st, err := js.Stream(ctx, "ENS_WAL")
	require.NoError(t, err)
	require.EqualValues(t, 1000, st.CachedInfo().Config.MaxMsgs)
}
