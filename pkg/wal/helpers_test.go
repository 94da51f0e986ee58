package wal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

type env struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg wal.Config
}

// setup starts a server, provisions cfg and returns a connected env.
func setup(t *testing.T, cfg wal.Config) env {
	t.Helper()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	cfg = cfg.WithDefaults()
	require.NoError(t, wal.Provision(ctx(t), js, cfg))
	return env{nc: nc, js: js, cfg: cfg}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// checkFor retries f until it succeeds or total passes.
func checkFor(t *testing.T, total, step time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(step)
	}
	t.Fatalf("condition not met after %s: %v", total, err)
}

func mustJS(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

var errNotYet = errors.New("not yet")
