package writer

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/pkg/wal"
)

// held is the set of fetched messages not yet settled. Its keep-alive
// goroutine extends them with InProgress until they are settled.
type held struct {
	mu   sync.Mutex
	msgs map[*wal.Msg]struct{}
}

func newHeld(msgs []*wal.Msg) *held {
	h := &held{msgs: make(map[*wal.Msg]struct{}, len(msgs))}
	for _, m := range msgs {
		h.msgs[m] = struct{}{}
	}
	return h
}

func (h *held) done(m *wal.Msg) {
	h.mu.Lock()
	delete(h.msgs, m)
	h.mu.Unlock()
}

func (h *held) list() []*wal.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*wal.Msg, 0, len(h.msgs))
	for m := range h.msgs {
		out = append(out, m)
	}
	return out
}

// keepAlive sends InProgress for every held message every interval until
// the returned stop function is called; stop waits for the goroutine.
func (h *held) keepAlive(every time.Duration) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				for _, m := range h.list() {
					_ = m.InProgress() // a failure means a redelivery: LWW makes it harmless
				}
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// breaker is the SQL circuit breaker (see the package doc), shared by the
// writer's fetch loops.
type breaker struct {
	min, max time.Duration
	gauge    prometheus.Gauge

	mu    sync.Mutex
	state int
	next  time.Duration
}

// failure opens the breaker and returns how long to wait before probing.
func (b *breaker) failure() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerClosed || b.next == 0 {
		b.next = b.min
	} else {
		b.next = min(2*b.next, b.max)
	}
	b.set(breakerOpen)
	return b.next
}

// probe moves an open breaker to half-open.
func (b *breaker) probe() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerOpen {
		b.set(breakerHalfOpen)
	}
}

// success closes the breaker.
func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next = 0
	b.set(breakerClosed)
}

func (b *breaker) open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != breakerClosed
}

func (b *breaker) set(s int) {
	b.state = s
	b.gauge.Set(float64(s))
}

// wait sleeps d unless ctx ends or stopping closes; it reports whether d
// elapsed.
func wait(ctx context.Context, stopping <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stopping:
		return false
	}
}
