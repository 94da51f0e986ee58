package natsconn_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/natsconn"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	require.Equal(t, "nats://u:xxxxx@h:4222,nats://h2:4222", natsconn.Redact("nats://u:secret@h:4222, nats://h2:4222"))
	require.Equal(t, "nats://xxxxx@h:4222", natsconn.Redact("nats://tok3n@h:4222"))
	require.NotContains(t, natsconn.Redact("nats://u:p%40ss@h"), "p%40ss")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, natsconn.Config{}.Validate())
	require.NoError(t, natsconn.Config{URLs: "nats://a:1,nats://b:2", User: "u", Password: "p"}.Validate())
	require.Error(t, natsconn.Config{CredsFile: "c", User: "u"}.Validate())
	require.Error(t, natsconn.Config{Password: "p"}.Validate())
	require.Error(t, natsconn.Config{URLs: "nats://a:1,,"}.Validate())
	require.Error(t, natsconn.Config{ReconnectWait: -time.Second}.Validate())
}

func TestConnectWithUserPasswordAndDrain(t *testing.T) {
	t.Parallel()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		Users: []*server.User{{Username: "app", Password: "s3cret"}}})
	require.NoError(t, err)
	go s.Start()
	require.True(t, s.ReadyForConnections(5*time.Second))
	t.Cleanup(s.Shutdown)

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	url := s.ClientURL()
	_, err = natsconn.Connect(natsconn.Config{URLs: url, User: "app", Password: "wrong", MaxReconnects: 1}, log)
	require.Error(t, err)

	nc, err := natsconn.Connect(natsconn.Config{URLs: url, User: "app", Password: "s3cret", Name: "t"}, log)
	require.NoError(t, err)
	require.True(t, nc.IsConnected())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, natsconn.Drain(ctx, nc))
	require.True(t, nc.IsClosed())
	require.NotContains(t, logs.String(), "s3cret")
	require.Contains(t, logs.String(), "nats connected")
}
