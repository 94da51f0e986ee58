// Package waltest starts real, embedded NATS servers with JetStream for
// tests: random port, store in t.TempDir(), shut down with the test.
package waltest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options tweak the embedded server.
type Options struct {
	// StoreDir reuses a store directory (to restart a server on the same
	// data); empty means a fresh t.TempDir().
	StoreDir string
	// Port is the listen port; 0 means a random one.
	Port int
	// SyncAlways makes JetStream fsync before every ack.
	SyncAlways bool
	// MaxPayload overrides the server's max_payload (0 = default 1 MiB).
	MaxPayload int32
}

// Start runs an embedded nats-server with JetStream and stops it when the
// test ends.
func Start(t testing.TB, o Options) *server.Server {
	t.Helper()
	if o.StoreDir == "" {
		o.StoreDir = t.TempDir()
	}
	port := o.Port
	if port == 0 {
		port = -1
	}
	opts := &server.Options{
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: o.MaxPayload,
		SyncAlways: o.SyncAlways,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("waltest: new server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatalf("waltest: server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect opens a client connection to s, closed when the test ends.
func Connect(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("waltest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
