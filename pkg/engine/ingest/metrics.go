package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are ingest's Prometheus series; labels are bounded (op, code).
type metrics struct {
	requests *prometheus.CounterVec
	ackTime  *prometheus.HistogramVec
	// Hot-path children, resolved once.
	okPut, okDel   prometheus.Counter
	ackPut, ackDel prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, inflight func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_ingest_requests_total",
			Help: "Requests answered, by operation and outcome code (ok or an error code).",
		}, []string{"op", "code"}),
		ackTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "syncline_ingest_ack_latency_seconds",
			Help:    "Time from a write request's arrival to the WAL's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"op"}),
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncline_ingest_writes_in_flight",
		Help: "Writes sent to the WAL and not yet acknowledged.",
	}, inflight)
	for _, c := range []prometheus.Collector{m.requests, m.ackTime, g} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.okPut, m.okDel = m.requests.WithLabelValues("put", "ok"), m.requests.WithLabelValues("del", "ok")
	m.ackPut, m.ackDel = m.ackTime.WithLabelValues("put"), m.ackTime.WithLabelValues("del")
	return m, nil
}
