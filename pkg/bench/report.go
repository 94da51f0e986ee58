package bench

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// Percentiles summarise a latency distribution in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   int     `json:"n"`
}

// percentiles of ds (sorted in place).
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(ds)-1))
		return float64(ds[i]) / float64(time.Millisecond)
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1), N: len(ds)}
}

func (r *run) report(start, acksDone time.Time) Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := Report{Writes: len(r.writes), Errors: r.errs, OfferedRate: r.cfg.Rate}
	var ack, sql, red []time.Duration
	var lastSQL time.Time
	for i := range r.writes {
		w := &r.writes[i]
		if !w.ok {
			continue
		}
		rep.Acked++
		ack = append(ack, w.acked.Sub(w.scheduled))
		if !w.sqlAt.IsZero() {
			sql = append(sql, max(0, w.sqlAt.Sub(w.acked)))
			if w.sqlAt.After(lastSQL) {
				lastSQL = w.sqlAt
			}
		}
		if r.cfg.Redis != nil && i%r.cfg.RedisSample == 0 {
			rep.RedisSampled++
			if !w.redisAt.IsZero() {
				red = append(red, max(0, w.redisAt.Sub(w.acked)))
			}
		}
	}
	rep.Seconds = acksDone.Sub(start).Seconds()
	if rep.Seconds > 0 {
		rep.Throughput = float64(rep.Acked) / rep.Seconds
	}
	rep.Ack = percentiles(ack)
	rep.SQLVisible = percentiles(sql)
	rep.SQLSeen = len(sql)
	if d := lastSQL.Sub(start).Seconds(); d > 0 {
		rep.SQLRowsPerS = float64(len(sql)) / d
	}
	if r.cfg.Redis != nil {
		p := percentiles(red)
		rep.RedisVisible = &p
		rep.RedisSeen = len(red)
	}
	return rep
}

// Print writes a human-readable report.
func (rep Report) Print(w io.Writer) {
	fmt.Fprintf(w, "writes %d, acknowledged %d in %.2fs: %.0f puts/s", rep.Writes, rep.Acked, rep.Seconds, rep.Throughput)
	if rep.OfferedRate > 0 {
		fmt.Fprintf(w, " (offered %.0f/s)", rep.OfferedRate)
	}
	fmt.Fprintln(w)
	for code, n := range rep.Errors {
		fmt.Fprintf(w, "  errors %s: %d\n", code, n)
	}
	pr := func(name string, p Percentiles) {
		fmt.Fprintf(w, "%-22s p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f ms  (n=%d)\n", name, p.P50, p.P90, p.P99, p.Max, p.N)
	}
	pr("ack latency", rep.Ack)
	pr("ack -> visible in SQL", rep.SQLVisible)
	fmt.Fprintf(w, "rows reaching SQL: %d (%.0f rows/s)\n", rep.SQLSeen, rep.SQLRowsPerS)
	if rep.RedisVisible != nil {
		pr("ack -> visible in Redis", *rep.RedisVisible)
		fmt.Fprintf(w, "Redis sample: %d of %d seen\n", rep.RedisSeen, rep.RedisSampled)
	}
}
