// Package lifecycle tracks the lifecycle state of each pipeline stage
// (DESIGN.md §5), exports it as a metric, and serves /metrics, /healthz and
// /readyz.
//
// A stage moves connecting -> draining -> syncing -> warming -> ready ->
// running -> shutting_down; states may be skipped but never go back, except
// that a stage can be marked degraded-free by moving forward again. A process
// is ready (HTTP 200 on /readyz) once every stage it runs is at ready or
// later and none is shutting down.
package lifecycle

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// State is a stage's lifecycle state.
type State int

// The states, in order.
const (
	Connecting State = iota
	Draining
	Syncing
	Warming
	Ready
	Running
	ShuttingDown
)

var stateNames = [...]string{"connecting", "draining", "syncing", "warming", "ready", "running", "shutting_down"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}

// IsReady reports whether a stage in state s serves traffic.
func (s State) IsReady() bool { return s >= Ready && s < ShuttingDown }

// Tracker holds the states of a process's stages.
type Tracker struct {
	mu     sync.Mutex
	stages map[string]State
	gauge  *prometheus.GaugeVec
}

// NewTracker registers syncline_stage_state on reg.
func NewTracker(reg prometheus.Registerer) *Tracker {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "syncline_stage_state",
		Help: "1 for the lifecycle state each stage is in, 0 for the others.",
	}, []string{"stage", "state"})
	reg.MustRegister(g)
	return &Tracker{stages: map[string]State{}, gauge: g}
}

// Stage is one stage's handle on the tracker.
type Stage struct {
	t    *Tracker
	name string
}

// Stage registers a stage in state Connecting and returns its handle.
func (t *Tracker) Stage(name string) *Stage {
	s := &Stage{t: t, name: name}
	s.Set(Connecting)
	return s
}

// Set moves the stage to st.
func (s *Stage) Set(st State) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.t.stages[s.name] = st
	for i, n := range stateNames {
		v := 0.0
		if State(i) == st {
			v = 1
		}
		s.t.gauge.WithLabelValues(s.name, n).Set(v)
	}
}

// State returns the stage's state.
func (s *Stage) State() State {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return s.t.stages[s.name]
}

// Snapshot returns every stage's state, by name.
func (t *Tracker) Snapshot() map[string]State {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]State, len(t.stages))
	for k, v := range t.stages {
		out[k] = v
	}
	return out
}

// Ready reports whether every stage is ready; with no stage, false.
func (t *Tracker) Ready() bool {
	snap := t.Snapshot()
	if len(snap) == 0 {
		return false
	}
	for _, st := range snap {
		if !st.IsReady() {
			return false
		}
	}
	return true
}

// Names returns the stage names, sorted.
func (t *Tracker) Names() []string {
	snap := t.Snapshot()
	out := make([]string, 0, len(snap))
	for k := range snap {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
