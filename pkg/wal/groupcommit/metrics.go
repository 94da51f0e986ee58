package groupcommit

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/syncline/syncline/pkg/item"
)

// metrics are the Committer's Prometheus series; a nil *metrics (no
// registerer) records nothing.
type metrics struct {
	writes        *prometheus.CounterVec
	batchWrites   prometheus.Histogram
	batchDuration prometheus.Histogram
	splits        prometheus.Counter
	singles       prometheus.Counter
	batching      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_wal_groupcommit_writes_total",
			Help: "Writes answered by the WAL group committer, by result (ok, duplicate, or the error code; outcome_unknown when the ack was lost).",
		}, []string{"result"}),
		batchWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_wal_groupcommit_batch_writes",
			Help:    "Writes per group cut by the dispatcher (a group of one is published as a plain message).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 .. 1024
		}),
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_wal_groupcommit_batch_duration_seconds",
			Help:    "Time from sending an atomic batch to its ack (or failure).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100us .. 3.3s
		}),
		splits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_wal_groupcommit_batch_splits_total",
			Help: "Atomic batches the server refused that were re-published write by write.",
		}),
		singles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_wal_groupcommit_direct_publishes_total",
			Help: "Writes published on their own from the caller (idempotency key, per-message mode, oversized for a batch).",
		}),
		batching: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_wal_groupcommit_batching",
			Help: "1 while writes are grouped into atomic batches, 0 when publishing per message.",
		}),
	}
	for _, col := range []prometheus.Collector{m.writes, m.batchWrites, m.batchDuration, m.splits, m.singles, m.batching} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) answered(ack Ack, err error) {
	if m == nil {
		return
	}
	result := "ok"
	switch {
	case err != nil && errors.Is(err, ErrOutcomeUnknown):
		result = "outcome_unknown"
	case err != nil:
		result = string(item.CodeOf(err))
	case ack.Duplicate:
		result = "duplicate"
	}
	m.writes.WithLabelValues(result).Inc()
}

func (m *metrics) observeGroup(n int) {
	if m != nil {
		m.batchWrites.Observe(float64(n))
	}
}

func (m *metrics) observeBatch(d time.Duration) {
	if m != nil {
		m.batchDuration.Observe(d.Seconds())
	}
}

func (m *metrics) split() {
	if m != nil {
		m.splits.Inc()
	}
}

func (m *metrics) single() {
	if m != nil {
		m.singles.Inc()
	}
}

func (m *metrics) setBatching(on bool) {
	if m == nil {
		return
	}
	if on {
		m.batching.Set(1)
	} else {
		m.batching.Set(0)
	}
}
