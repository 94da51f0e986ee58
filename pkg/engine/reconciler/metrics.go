package reconciler

import "github.com/prometheus/client_golang/prometheus"

// metrics are the reconciler's Prometheus series. Labels are bounded: the
// tree side and the repair kind, never an id.
type metrics struct {
	rootsInSync     prometheus.Gauge
	outOfSync       prometheus.Gauge
	repairs         *prometheus.CounterVec
	nodeReads       *prometheus.CounterVec
	filterEntries   prometheus.Gauge
	filterLoad      prometheus.Gauge
	filterTrusted   prometheus.Gauge
	leader          prometheus.Gauge
	feedLag         prometheus.Gauge
	freshness       prometheus.Histogram
	redisAvailable  prometheus.Gauge
	phaseDuration   *prometheus.GaugeVec
	snapshots       *prometheus.CounterVec
	deepVerified    prometheus.Counter
	deepMismatches  prometheus.Counter
	passes          *prometheus.CounterVec
	filterRebuilds  prometheus.Counter
	feedRecords     prometheus.Counter
	redisWriteFails prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rootsInSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_reconciler_roots_in_sync",
			Help: "1 when the Redis merkle root equals the SQL root at the last check, else 0.",
		}),
		outOfSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_reconciler_out_of_sync_seconds",
			Help: "Seconds the roots have differed without interruption (0 when in sync).",
		}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_reconciler_repairs_total",
			Help: "Redis items rewritten or removed by repair, by kind (put, delete, forced, vanished).",
		}, []string{"kind"}),
		nodeReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_reconciler_node_reads_total",
			Help: "Merkle node reads (root, children, leaf) made by branch diffs, by side (sql, redis).",
		}, []string{"side"}),
		filterEntries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_filter_entries",
			Help: "Ids held by the reconciler's cuckoo filter.",
		}),
		filterLoad: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_filter_load_factor",
			Help: "Fraction of the cuckoo filter's slots in use.",
		}),
		filterTrusted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_filter_trusted",
			Help: "1 when the reconciler's filter describes SQL (restored from a matching snapshot or rebuilt, and fed without gaps).",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_reconciler_leader",
			Help: "1 while this instance holds the reconciler lease.",
		}),
		feedLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_reconciler_feed_lag_seconds",
			Help: "Age of the last commit-feed record applied when it was applied.",
		}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_reconciler_freshness_seconds",
			Help:    "Time from a commit-feed record's publication to its changes being in Redis.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		redisAvailable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_reconciler_redis_available",
			Help: "0 while Redis writes fail (the reconciler keeps running and repairs on return).",
		}),
		phaseDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "syncline_reconciler_start_phase_seconds",
			Help: "Duration of each start-up phase at the last start.",
		}, []string{"phase"}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_reconciler_filter_snapshots_total",
			Help: "Filter snapshots published, by result (ok, error).",
		}, []string{"result"}),
		deepVerified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_reconciler_deep_verified_items_total",
			Help: "Redis items whose leaf was recomputed from their value by deep verify.",
		}),
		deepMismatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_reconciler_deep_mismatches_total",
			Help: "Redis items whose value did not match their leaf or SQL's.",
		}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_reconciler_passes_total",
			Help: "Root checks, by outcome (in_sync, repaired, error).",
		}, []string{"outcome"}),
		filterRebuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_reconciler_filter_rebuilds_total",
			Help: "Filter rebuilds from a SQL scan.",
		}),
		feedRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_reconciler_feed_records_total",
			Help: "Commit-feed records applied.",
		}),
		redisWriteFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_reconciler_redis_write_failures_total",
			Help: "Fast-path Redis writes that failed and were left to the repair.",
		}),
	}
	reg.MustRegister(m.rootsInSync, m.outOfSync, m.repairs, m.nodeReads, m.filterEntries, m.filterLoad,
		m.filterTrusted, m.leader, m.feedLag, m.freshness, m.redisAvailable, m.phaseDuration, m.snapshots,
		m.deepVerified, m.deepMismatches, m.passes, m.filterRebuilds, m.feedRecords, m.redisWriteFails)
	m.redisAvailable.Set(1)
	return m
}
