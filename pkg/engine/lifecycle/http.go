package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a fresh registry with the Go and process collectors:
// one per process (fx app), never the global default.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// HTTPConfig configures the observability endpoint.
type HTTPConfig struct {
	// Addr is host:port; port 0 picks a free port (printed at start).
	// Empty disables the server. Default "127.0.0.1:0".
	Addr string
	// Pprof mounts net/http/pprof under /debug/pprof/.
	Pprof bool
}

// Validate checks the config.
func (c HTTPConfig) Validate() error {
	if c.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("lifecycle: http addr %q: %w", c.Addr, err)
	}
	return nil
}

// Server serves /metrics, /healthz and /readyz.
type Server struct {
	cfg     HTTPConfig
	reg     *prometheus.Registry
	tracker *Tracker
	log     *slog.Logger

	mu   sync.Mutex
	srv  *http.Server
	addr string
	done chan struct{}
}

// NewServer builds the server; Start listens.
func NewServer(cfg HTTPConfig, reg *prometheus.Registry, tracker *Tracker, log *slog.Logger) *Server {
	return &Server{cfg: cfg, reg: reg, tracker: tracker, log: log}
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		snap := s.tracker.Snapshot()
		body := map[string]any{}
		stages := map[string]string{}
		for k, v := range snap {
			stages[k] = v.String()
		}
		body["stages"] = stages
		ready := s.tracker.Ready()
		body["ready"] = ready
		w.Header().Set("Content-Type", "application/json")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	if s.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	}
	return mux
}

// Start listens and serves in a goroutine owned by the server.
func (s *Server) Start(_ context.Context) error {
	if s.cfg.Addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("lifecycle: listen %s: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.addr = ln.Addr().String()
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	s.mu.Unlock()
	s.log.Info("http listening", "http_addr", s.addr, "endpoints", "/metrics /healthz /readyz")
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the listening address once started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop shuts the server down and waits for its goroutine.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("lifecycle: http shutdown: %w", err)
	}
	return nil
}
