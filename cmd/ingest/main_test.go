package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SYNCLINE_PREFIX": "p1", "SYNCLINE_HTTP_ADDR": "127.0.0.1:0"}
	require.NoError(t, fx.ValidateApp(options(nil, func(k string) string { return env[k] }, io.Discard)))
	require.NoError(t, fx.ValidateApp(options([]string{"--prefix", "p2", "--nats-url", "nats://a:4222,nats://b:4222"},
		func(string) string { return "" }, io.Discard)))
}

func TestOptionsRejectBadInput(t *testing.T) {
	t.Parallel()
	none := func(string) string { return "" }
	require.Error(t, fx.ValidateApp(options([]string{"--prefix", "a.b"}, none, io.Discard)))
	require.Error(t, fx.ValidateApp(options([]string{"--no-such-flag"}, none, io.Discard)))
	require.Error(t, fx.ValidateApp(options([]string{"--nats-creds", "x", "--nats-user", "u"}, none, io.Discard)))
}

func TestAppServesPutsAgainstEmbeddedServer(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	env := map[string]string{"SYNCLINE_NATS_URL": s.ClientURL(), "SYNCLINE_PREFIX": "app"}
	app := fxtest.New(t, options(nil, func(k string) string { return env[k] }, io.Discard))
	app.RequireStart()

	nc := waltest.Connect(t, s)
	cl, err := client.New(nc, client.WithPrefix("app"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := cl.Put(ctx, "x.y", []byte(`{"a":1}`))
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Seq)
	_, err = cl.Get(ctx, "x.y")
	require.ErrorIs(t, err, item.ErrUnavailable) // no reader wired in this binary yet
	app.RequireStop()

	_, err = cl.Put(ctx, "x.y", []byte("after stop"))
	require.ErrorIs(t, err, item.ErrUnavailable)
}
