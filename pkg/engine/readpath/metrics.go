package readpath

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Ops and sources of syncline_read_requests_total{op,source}.
type op int

const (
	opGet op = iota
	opExists
)

var opNames = [...]string{opGet: "get", opExists: "exists"}

type source int

const (
	sourceL1     source = iota // L1 answered
	sourceL2                   // Redis answered
	sourceL3                   // SQL answered with the item
	sourceFilter               // a trusted filter said absent
	sourceMiss                 // SQL said absent (or tombstoned)
)

var sourceNames = [...]string{sourceL1: "l1", sourceL2: "l2", sourceL3: "l3", sourceFilter: "filter", sourceMiss: "miss"}

// Reasons of syncline_read_fallthrough_total{reason}: why a read went past
// a tier.
type reason int

const (
	reasonL1MinSeq        reason = iota // the L1 entry may not include the write at minSeq
	reasonL2MinSeq                      // Redis is skipped for reads with minSeq
	reasonL2Miss                        // Redis has no copy
	reasonL2Error                       // Redis failed or timed out
	reasonL2Down                        // Redis skipped while backing off after a failure
	reasonL2Stale                       // Redis holds a version older than one seen committed
	reasonFilterUntrusted               // no trusted, caught-up filter to rule the id out
	reasonFilterPositive                // the filter says the id may exist
)

var reasonNames = [...]string{
	reasonL1MinSeq: "l1_min_seq", reasonL2MinSeq: "l2_min_seq", reasonL2Miss: "l2_miss", reasonL2Error: "l2_error",
	reasonL2Down: "l2_down", reasonL2Stale: "l2_stale", reasonFilterUntrusted: "filter_untrusted",
	reasonFilterPositive: "filter_positive",
}

const followerL1, followerFl = "l1", "filter"

type metrics struct {
	requests     *prometheus.CounterVec
	fallthroughs *prometheus.CounterVec
	// The children of requests and fallthroughs, resolved once: reads
	// count without a label lookup.
	reqs          [len(opNames)][len(sourceNames)]prometheus.Counter
	falls         [len(reasonNames)]prometheus.Counter
	invalidations prometheus.Counter
	fills         *prometheus.CounterVec
	gaps          *prometheus.CounterVec
	staleDeletes  prometheus.Counter
	filterLoads   *prometheus.CounterVec
}

// newMetrics registers the read path's metrics. The gauges read the
// Reader's state when scraped.
func newMetrics(reg prometheus.Registerer, r *Reader) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_read_requests_total",
			Help: "Reads answered by ingest, by op (get, exists) and the source that answered (l1, l2, l3, filter: a trusted filter said absent, miss: storage said absent).",
		}, []string{"op", "source"}),
		fallthroughs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_read_fallthrough_total",
			Help: "Reads that went past a tier, by reason (l1_min_seq, l2_min_seq, l2_miss, l2_error, l2_down, l2_stale, filter_untrusted, filter_positive).",
		}, []string{"reason"}),
		invalidations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_read_l1_invalidations_total",
			Help: "L1 entries dropped because the commit feed showed a newer version or a delete.",
		}),
		fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_read_redis_fills_total",
			Help: "Redis fills after SQL hits, by result (applied, unchanged, dropped: queue full, skipped: expired or superseded, error, deleted: a fill undone by a later delete).",
		}, []string{"result"}),
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_read_feed_gaps_total",
			Help: "Commit feed records a follower missed, by follower (l1: L1 purged; filter: filter untrusted).",
		}, []string{"follower"}),
		staleDeletes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_ingest_filter_stale_deletes_total",
			Help: "Deletes seen on the feed that the ingest filter did not apply (insert-only: deleted ids test present until a newer snapshot replaces the filter).",
		}),
		filterLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_ingest_filter_loads_total",
			Help: "Filter snapshot loads by result (ok, none: no snapshot, untrusted: its feed records are gone, error).",
		}, []string{"result"}),
	}
	gauges := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "syncline_l1_bytes",
			Help: "Bytes accounted to L1 entries (payload, id, state plus a fixed overhead each).",
		}, func() float64 { return float64(r.l1.bytes.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "syncline_l1_entries",
			Help: "Entries in L1.",
		}, func() float64 { return float64(r.l1.entries.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "syncline_ingest_filter_trusted",
			Help: "1 when this ingest's filter copy answers \"absent\": a snapshot replayed from its sequence without gaps and caught up with the feed.",
		}, func() float64 {
			if r.filter.usable() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "syncline_ingest_filter_entries",
			Help: "Ids held by this ingest's filter copy.",
		}, func() float64 { return float64(r.filter.entries()) }),
	}
	for _, c := range append([]prometheus.Collector{m.requests, m.fallthroughs, m.invalidations, m.fills, m.gaps,
		m.staleDeletes, m.filterLoads}, gauges...) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("readpath: metrics: %w", err)
		}
	}
	for o, on := range opNames {
		for src, sn := range sourceNames {
			m.reqs[o][src] = m.requests.WithLabelValues(on, sn)
		}
	}
	for rs, rn := range reasonNames {
		m.falls[rs] = m.fallthroughs.WithLabelValues(rn)
	}
	return m, nil
}

func (m *metrics) request(o op, s source) { m.reqs[o][s].Inc() }

func (m *metrics) fell(r reason) { m.falls[r].Inc() }
