// Package stagesvc announces a process's stages over NATS: it registers a
// micro service named "syncline-stage" whose info carries the process kind
// and HTTP address, and whose stats and `<prefix>.admin.state.<id>` endpoint
// answer with every stage's lifecycle state. `syncline status` gathers
// them with one `$SRV.STATS.syncline-stage` request.
package stagesvc

import (
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
)

// ServiceName is the micro service every Syncline process registers.
const ServiceName = "syncline-stage"

// Config names the process.
type Config struct {
	// Prefix is the subject prefix (default "sync").
	Prefix string
	// Process is the process kind: ingest, writer, reconciler or dev.
	Process string
	// Version is the build version reported in the service info.
	Version string
	// Durability is what this process's WAL acknowledgements mean
	// (ingest only; docs/guarantees.md).
	Durability string
}

// Report is what each process answers with.
type Report struct {
	Process  string `json:"process"`
	Instance string `json:"instance"`
	Host     string `json:"host"`
	PID      int    `json:"pid"`
	HTTPAddr string `json:"http_addr,omitempty"`
	// Durability is set by processes that acknowledge writes.
	Durability string            `json:"durability,omitempty"`
	Stages     map[string]string `json:"stages"`
	Ready      bool              `json:"ready"`
}

// Announcer owns the micro service.
type Announcer struct {
	cfg     Config
	nc      *nats.Conn
	tracker *lifecycle.Tracker
	http    *lifecycle.Server
	svc     micro.Service
	id      atomic.Value // string: the service instance id, set by Start
}

// New returns an unstarted announcer; http may be nil.
func New(cfg Config, nc *nats.Conn, tracker *lifecycle.Tracker, http *lifecycle.Server) *Announcer {
	if cfg.Prefix == "" {
		cfg.Prefix = "sync"
	}
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	return &Announcer{cfg: cfg, nc: nc, tracker: tracker, http: http}
}

// Report builds this process's report.
func (a *Announcer) Report() Report {
	host, _ := os.Hostname()
	r := Report{Process: a.cfg.Process, Durability: a.cfg.Durability, Host: host, PID: os.Getpid(), Stages: map[string]string{}, Ready: a.tracker.Ready()}
	// Not a.svc.Info(): micro calls StatsHandler holding the service's
	// lock, which Info takes too.
	r.Instance, _ = a.id.Load().(string)
	if a.http != nil {
		r.HTTPAddr = a.http.Addr()
	}
	for k, v := range a.tracker.Snapshot() {
		r.Stages[k] = v.String()
	}
	return r
}

// Start registers the service.
func (a *Announcer) Start() error {
	svc, err := micro.AddService(a.nc, micro.Config{
		Name:        ServiceName,
		Version:     a.cfg.Version,
		Description: "Syncline process lifecycle states",
		Metadata:    map[string]string{"process": a.cfg.Process},
		StatsHandler: func(*micro.Endpoint) any {
			return a.Report()
		},
	})
	if err != nil {
		return fmt.Errorf("stagesvc: add service: %w", err)
	}
	a.svc = svc
	id := svc.Info().ID
	a.id.Store(id)
	subject := fmt.Sprintf("%s.admin.state.%s", a.cfg.Prefix, id)
	err = svc.AddEndpoint("state", micro.HandlerFunc(func(req micro.Request) {
		b, _ := json.Marshal(a.Report())
		_ = req.Respond(b)
	}), micro.WithEndpointSubject(subject))
	if err != nil {
		_ = svc.Stop()
		return fmt.Errorf("stagesvc: add endpoint: %w", err)
	}
	return nil
}

// Stop unregisters the service.
func (a *Announcer) Stop() error {
	if a.svc == nil {
		return nil
	}
	if err := a.svc.Stop(); err != nil {
		return fmt.Errorf("stagesvc: stop: %w", err)
	}
	return nil
}
