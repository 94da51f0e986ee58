// Package devnats runs an in-process nats-server with JetStream, the NATS
// of `syncline dev`. Other NATS clients (the nats CLI, other languages)
// connect to it like to any server.
package devnats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrPortTaken reports that the NATS port is already in use; the error is
// a *PortTakenError.
var ErrPortTaken = errors.New("devnats: port is taken")

// PortTakenError names the address that is taken.
type PortTakenError struct {
	Addr string
	Err  error
}

func (e *PortTakenError) Error() string {
	return fmt.Sprintf("%v: %s (another NATS server? pick one with --nats-port): %v", ErrPortTaken, e.Addr, e.Err)
}

// Is matches ErrPortTaken.
func (e *PortTakenError) Is(target error) bool { return target == ErrPortTaken }

// Unwrap returns the listen error.
func (e *PortTakenError) Unwrap() error { return e.Err }

// Config configures the embedded server.
type Config struct {
	// Host to listen on. Default 127.0.0.1.
	Host string
	// Port to listen on; 0 picks a free one, -1 also. Default 4222.
	Port int
	// StoreDir holds the JetStream file store. Required.
	StoreDir string
	// SyncAlways makes JetStream fsync before every acknowledgement
	// (durable on one node at a throughput cost); otherwise the server
	// syncs every SyncInterval.
	SyncAlways bool
	// SyncInterval is the background fsync interval (0 = server default,
	// 2 minutes).
	SyncInterval time.Duration
	// MaxPayload is the server's max_payload (0 = 1 MiB).
	MaxPayload int32
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.StoreDir == "" {
		return errors.New("devnats: store dir is required")
	}
	if c.Port < -1 || c.Port > 65535 {
		return fmt.Errorf("devnats: port %d out of range", c.Port)
	}
	return nil
}

// Server is the embedded server.
type Server struct {
	cfg Config
	log *slog.Logger
	srv *server.Server
}

// New returns an unstarted server.
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	return &Server{cfg: cfg, log: log}
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start(ctx context.Context) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	port := s.cfg.Port
	if port == 0 {
		port = -1
	}
	if port > 0 {
		addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return &PortTakenError{Addr: addr, Err: err}
		}
		_ = ln.Close()
	}
	opts := &server.Options{
		ServerName:   "syncline-dev",
		Host:         s.cfg.Host,
		Port:         port,
		JetStream:    true,
		StoreDir:     filepath.Join(s.cfg.StoreDir),
		NoSigs:       true,
		NoLog:        true,
		MaxPayload:   s.cfg.MaxPayload,
		SyncAlways:   s.cfg.SyncAlways,
		SyncInterval: s.cfg.SyncInterval,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("devnats: %w", err)
	}
	go srv.Start()
	deadline := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		deadline = time.Until(d)
	}
	if !srv.ReadyForConnections(deadline) {
		srv.Shutdown()
		return fmt.Errorf("devnats: server on %s:%d not ready after %s", s.cfg.Host, port, deadline)
	}
	s.srv = srv
	sync := "every " + durOrDefault(s.cfg.SyncInterval)
	if s.cfg.SyncAlways {
		sync = "always (before every ack)"
	}
	s.log.Info("embedded NATS running", "nats_url", srv.ClientURL(), "store_dir", s.cfg.StoreDir, "fsync", sync)
	return nil
}

func durOrDefault(d time.Duration) string {
	if d == 0 {
		return "2m0s (server default)"
	}
	return d.String()
}

// ClientURL returns the URL clients connect to (valid after Start).
func (s *Server) ClientURL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.ClientURL()
}

// Stop shuts the server down (JetStream flushes its store) and waits.
func (s *Server) Stop(_ context.Context) error {
	if s.srv == nil {
		return nil
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	return nil
}
