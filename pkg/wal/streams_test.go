package wal_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
)

func TestProvisionIsIdempotent(t *testing.T) {
	t.Parallel()
	cfg := wal.Config{Prefix: "prov", MaxMsgs: 1000, DuplicateWindow: time.Minute, BackOff: []time.Duration{time.Second, 2 * time.Second}}
	e := setup(t, cfg)
	require.NoError(t, wal.Provision(ctx(t), e.js, e.cfg), "second provision")

	st, err := e.js.Stream(ctx(t), "PROV_WAL")
	require.NoError(t, err)
	info := st.CachedInfo()
	require.Equal(t, []string{"prov.wal.*"}, info.Config.Subjects)
	require.Equal(t, jetstream.FileStorage, info.Config.Storage)
	require.Equal(t, jetstream.DiscardNew, info.Config.Discard)
	require.EqualValues(t, 1000, info.Config.MaxMsgs)
	require.Equal(t, time.Minute, info.Config.Duplicates)
	require.True(t, info.Config.AllowAtomicPublish, "server %s supports atomic publish", e.nc.ConnectedServerVersion())

	for _, name := range []string{"PROV_DLQ", "PROV_COMMITS"} {
		_, err := e.js.Stream(ctx(t), name)
		require.NoError(t, err, name)
	}
	cons, err := e.js.Consumer(ctx(t), "PROV_WAL", "writers")
	require.NoError(t, err)
	cc := cons.CachedInfo().Config
	require.Equal(t, jetstream.AckExplicitPolicy, cc.AckPolicy)
	require.Equal(t, -1, cc.MaxDeliver)
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second}, cc.BackOff)

	_, err = e.js.ObjectStore(ctx(t), "PROV_FILTERS")
	require.NoError(t, err)
	kv, err := e.js.KeyValue(ctx(t), "PROV_LEASES")
	require.NoError(t, err)
	status, err := kv.Status(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, status.TTL())

	// A changed limit is applied by the next provision.
	cfg.MaxMsgs = 5
	require.NoError(t, wal.Provision(ctx(t), e.js, cfg))
	info, err = st.Info(ctx(t))
	require.NoError(t, err)
	require.EqualValues(t, 5, info.Config.MaxMsgs)
}

func TestProvisionRejectsBadConfig(t *testing.T) {
	t.Parallel()
	e := setup(t, wal.Config{Prefix: "ok"})
	require.Error(t, wal.Provision(ctx(t), e.js, wal.Config{Prefix: "a.b"}))
}
