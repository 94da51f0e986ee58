package writer

import "github.com/prometheus/client_golang/prometheus"

// Circuit breaker states, the values of syncline_writer_circuit_state.
const (
	breakerClosed   = 0
	breakerOpen     = 1
	breakerHalfOpen = 2
)

type metrics struct {
	batchSize      prometheus.Histogram
	commitDuration prometheus.Histogram
	rows           *prometheus.CounterVec
	dlq            *prometheus.CounterVec
	redeliveries   prometheus.Counter
	circuit        prometheus.Gauge
	pending        prometheus.Gauge
	gc             prometheus.Counter
	feedErrors     prometheus.Counter
	errors         *prometheus.CounterVec
	dlqMessages    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_writer_batch_size",
			Help:    "WAL messages per fetched batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_writer_commit_duration_seconds",
			Help:    "Duration of successful SQL batch commits.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_writer_rows_total",
			Help: "Committed writes; outcome=changed replaced a row, outcome=unchanged lost to LWW or repeated a committed write.",
		}, []string{"outcome"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_writer_dlq_total",
			Help: "WAL messages dead-lettered, by reason.",
		}, []string{"reason"}),
		redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_writer_redeliveries_total",
			Help: "Fetched WAL messages that had been delivered before.",
		}),
		circuit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_writer_circuit_state",
			Help: "SQL circuit breaker: 0 closed, 1 open, 2 half-open.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_wal_pending",
			Help: "WAL messages not yet committed to SQL: the writers consumer's pending plus unacknowledged messages.",
		}),
		gc: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_writer_tombstones_collected_total",
			Help: "Tombstones deleted after the retention.",
		}),
		feedErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_writer_commit_feed_errors_total",
			Help: "Commit feed records that could not be published (the feed is a hint).",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_writer_errors_total",
			Help: "Writer failures by kind: sql_unavailable, sql_error (a batch SQL rejected), dlq_copy, commit_feed, fetch, gc.",
		}, []string{"kind"}),
		dlqMessages: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_dlq_messages",
			Help: "Messages in the dead-letter stream.",
		}),
	}
	for _, k := range []string{"sql_unavailable", "sql_error", "dlq_copy", "commit_feed", "fetch", "gc"} {
		m.errors.WithLabelValues(k)
	}
	for _, c := range []prometheus.Collector{m.batchSize, m.commitDuration, m.rows, m.dlq, m.redeliveries,
		m.circuit, m.pending, m.gc, m.feedErrors, m.errors, m.dlqMessages} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
