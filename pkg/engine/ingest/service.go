package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/wal"
)

// Appender appends an encoded WAL message asynchronously and reports its
// acknowledgement through done (see wal.Publisher, which satisfies it; a
// group-committing publisher can replace it). done must be called exactly
// once unless PublishMsgAsync returns an error. Errors are *item.Error.
type Appender interface {
	PublishMsgAsync(m *nats.Msg, done wal.AckFunc) error
}

// Params are the Service's dependencies.
type Params struct {
	Conn      *nats.Conn
	JetStream jetstream.JetStream
	Publisher Appender
	WAL       wal.Config
	Config    Config
	// Reader serves get and exists; nil answers every read with 503.
	Reader Reader
	// Queries are the optional dependencies of the query endpoints and
	// routes (query.go); without them those endpoints are not served.
	Queries Queries
	// Registerer receives the syncline_ingest_* metrics.
	Registerer prometheus.Registerer
	// Stage, if set, is moved to Running on Start and ShuttingDown on Stop.
	Stage *lifecycle.Stage
}

// Service is the syncline micro service. Start registers it; Stop takes it
// down gracefully.
type Service struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	pub    Appender
	names  wal.Names
	cfg    Config
	reader Reader
	m      *metrics
	stage  *lifecycle.Stage

	prefixes [4]string // put, del, get, exists subject prefixes
	q        queries
	readSem  chan struct{}
	reads    sync.WaitGroup

	active   atomic.Int64 // handlers running
	inflight atomic.Int64 // writes published, not yet answered

	mu  sync.Mutex
	svc micro.Service
}

// New builds the service; nothing is subscribed before Start.
func New(p Params) (*Service, error) {
	if p.Conn == nil || p.JetStream == nil || p.Publisher == nil || p.Registerer == nil {
		return nil, errors.New("ingest: Conn, JetStream, Publisher and Registerer are required")
	}
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	wcfg := p.WAL.WithDefaults()
	if err := wcfg.Validate(); err != nil {
		return nil, err
	}
	cfg := p.Config.WithDefaults(wcfg.MaxPayload)
	names := wcfg.Names()
	s := &Service{
		nc: p.Conn, js: p.JetStream, pub: p.Publisher, names: names, cfg: cfg,
		reader: p.Reader, stage: p.Stage,
		readSem: make(chan struct{}, cfg.ReadConcurrency),
	}
	for i, verb := range []string{wal.VerbPut, wal.VerbDel, wal.VerbGet, wal.VerbExists} {
		s.prefixes[i] = names.APIPrefix(verb)
	}
	q, err := newQueries(p.Queries, names)
	if err != nil {
		return nil, err
	}
	s.q = q
	m, err := newMetrics(p.Registerer, func() float64 { return float64(s.inflight.Load()) })
	if err != nil {
		return nil, fmt.Errorf("ingest: metrics: %w", err)
	}
	s.m = m
	return s, nil
}

// Start registers the micro service and its endpoints.
func (s *Service) Start(_ context.Context) error {
	svc, err := micro.AddService(s.nc, micro.Config{
		Name:        wal.ServiceName,
		Version:     s.cfg.Version,
		Description: "Syncline ingest: durable writes into the WAL, reads from the tiers",
		QueueGroup:  s.cfg.QueueGroup,
		Metadata:    map[string]string{"prefix": s.names.Prefix()},
	})
	if err != nil {
		return fmt.Errorf("ingest: add service: %w", err)
	}
	g := svc.AddGroup(s.names.Prefix())
	endpoints := []struct {
		verb string
		h    micro.HandlerFunc
	}{
		{wal.VerbPut, s.handlePut},
		{wal.VerbDel, s.handleDel},
		{wal.VerbGet, s.handleGet},
		{wal.VerbExists, s.handleExists},
	}
	for _, e := range endpoints {
		if err := g.AddEndpoint(e.verb, s.track(e.h), micro.WithEndpointSubject(e.verb+".>")); err != nil {
			_ = svc.Stop()
			return fmt.Errorf("ingest: add endpoint %s: %w", e.verb, err)
		}
	}
	if err := s.addQueryEndpoints(g); err != nil {
		_ = svc.Stop()
		return err
	}
	s.mu.Lock()
	s.svc = svc
	s.mu.Unlock()
	if s.stage != nil {
		s.stage.Set(lifecycle.Running)
	}
	return nil
}

// Info returns the micro service's info (nil before Start).
func (s *Service) Info() *micro.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.svc == nil {
		return nil
	}
	info := s.svc.Info()
	return &info
}

func (s *Service) track(h micro.HandlerFunc) micro.HandlerFunc {
	return func(r micro.Request) {
		s.active.Add(1)
		defer s.active.Add(-1)
		h(r)
	}
}

// Stop stops taking requests and waits, bounded by ctx, until every request
// already received has been answered: writes once their PubAck (or error)
// is in, reads once done. The connection is left to its owner.
func (s *Service) Stop(ctx context.Context) error {
	if s.stage != nil {
		s.stage.Set(lifecycle.ShuttingDown)
	}
	s.mu.Lock()
	svc := s.svc
	s.svc = nil
	s.mu.Unlock()
	if svc == nil {
		return nil
	}
	var errs []error
	if err := svc.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("ingest: stop service: %w", err))
	}
	// After the flush the server has processed the unsubscribes: every
	// request for us is already in the client's queues.
	if s.nc.IsConnected() {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second) // Flush needs a deadline
		err := s.nc.FlushWithContext(fctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("ingest: flush: %w", err))
		}
	}
	// The drained subscriptions dispatch what is queued; wait until the
	// handlers and the writes in flight are idle on two consecutive ticks.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	idle := 0
	for idle < 2 {
		select {
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("ingest: stop: %d writes in flight: %w", s.inflight.Load(), ctx.Err()))
			return errors.Join(errs...)
		case <-tick.C:
		}
		if s.active.Load() == 0 && s.inflight.Load() == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	done := make(chan struct{})
	go func() { s.reads.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("ingest: stop: reads still running: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}
