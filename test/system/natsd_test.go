package system

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsServer is a NATS server with JetStream (file store) in the test
// process that a test can stop and start again on the same port and store,
// as an operator restarting nats-server would.
type natsServer struct {
	t      testing.TB
	scheme string

	mu   sync.Mutex
	opts *server.Options // the template; Port is fixed after the first start
	srv  *server.Server
}

// startNATS starts a server on a random port with its store in a temp dir;
// mutate adjusts the options (auth, TLS, limits) before the first start.
// It is shut down when the test ends.
func startNATS(t testing.TB, mutate func(*server.Options)) *natsServer {
	t.Helper()
	o := &server.Options{
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 2 << 20,
	}
	if mutate != nil {
		mutate(o)
	}
	return runNATS(t, o)
}

// runNATS starts a server from fully prepared options.
func runNATS(t testing.TB, o *server.Options) *natsServer {
	t.Helper()
	n := &natsServer{t: t, opts: o, scheme: "nats"}
	if o.TLSConfig != nil {
		n.scheme = "tls"
	}
	if err := n.Start(); err != nil {
		t.Fatalf("nats: %v", err)
	}
	t.Cleanup(n.Shutdown)
	return n
}

// Start starts the server (again) with the same options, port and store.
func (n *natsServer) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	s, err := server.NewServer(n.opts.Clone())
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("server not ready after 20s")
	}
	if n.opts.Port <= 0 {
		n.opts.Port = s.Addr().(*net.TCPAddr).Port
	}
	n.srv = s
	return nil
}

// Shutdown stops the server and waits until it is down.
func (n *natsServer) Shutdown() {
	n.mu.Lock()
	s := n.srv
	n.srv = nil
	n.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// URL is the client URL; stable across restarts.
func (n *natsServer) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return fmt.Sprintf("%s://127.0.0.1:%d", n.scheme, n.opts.Port)
}
