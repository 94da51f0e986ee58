package e2e

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/syncline/syncline/pkg/bench"
)

// Targets of issue 10 (ratios and freshness at half load).
const (
	TargetVsUpsert     = 0.60 // e2e rows/s into SQL / raw batched upsert
	TargetVsNaive      = 10.0 // e2e rows/s into SQL / naive pipeline
	TargetSQLP99Ms     = 250.0
	TargetRedisP99Ms   = 500.0
	targetLoadFraction = 0.5
)

// Report is the outcome of a run.
type Report struct {
	// RunID tags the run's schemas (e2e_<id>_*), Redis keys (e2e:<id>:*)
	// and streams.
	RunID    string   `json:"run_id"`
	Machine  Machine  `json:"machine"`
	Command  string   `json:"command,omitempty"`
	Settings Settings `json:"settings"`
	Limits   Limits   `json:"limits"`
	// Naive is the naive pipeline's rows committed per second.
	Naive Rate `json:"naive"`
	// Max is the maximal run; Levels the paced runs; Scaling the maximal
	// runs with each writer count.
	Max      Phase     `json:"max"`
	Levels   []Phase   `json:"levels"`
	Scaling  []Phase   `json:"scaling,omitempty"`
	Verdicts []Verdict `json:"verdicts"`
	// Profiles lists the CPU profiles taken, if any.
	Profiles []string `json:"profiles,omitempty"`
}

// Settings echo the run's configuration.
type Settings struct {
	N             int     `json:"n"`
	Concurrency   int     `json:"concurrency"`
	PayloadSize   int     `json:"payload_size"`
	Tenants       int     `json:"tenants"`
	Writers       int     `json:"writers"`
	Durability    string  `json:"durability"`
	LevelSeconds  float64 `json:"level_seconds"`
	NaiveN        int     `json:"naive_n"`
	NaiveBudgetS  float64 `json:"naive_budget_seconds"`
	ServerSync    string  `json:"server_sync"`
	WriterBatch   int     `json:"writer_batch"`
	RedisSampling int     `json:"redis_sample_every"`
}

// Limits are the raw rates of each tier on its own.
type Limits struct {
	// Publish: asynchronous JetStream publishes into a file-storage stream.
	Publish Rate `json:"jetstream_publish"`
	// Upsert: pgx unnest upserts, 1000 rows per statement.
	Upsert Rate `json:"pg_batched_upsert"`
	// HSet: pipelined Redis HSETs, 1000 per pipeline.
	HSet Rate `json:"redis_pipelined_hset"`
}

// Phase is one load-generator run against the pipeline.
type Phase struct {
	Name string `json:"name"`
	// Fraction of the maximal rate offered (0: maximal run).
	Fraction float64 `json:"fraction,omitempty"`
	Writers  int     `json:"writers"`
	// Direct: the writes went straight into the WAL, not through ingest.
	Direct bool         `json:"direct,omitempty"`
	Result bench.Report `json:"result"`
	Procs  []ProcUsage  `json:"processes"`
	// LoadAvg is the 1-minute load average at the end of the phase.
	LoadAvg float64 `json:"load_avg"`
}

// ProcUsage is one process's resource use during a phase.
type ProcUsage struct {
	Process    string  `json:"process"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerMillion is CPU seconds per million acknowledged writes.
	CPUPerMillion float64 `json:"cpu_seconds_per_million"`
	// PeakRSSMiB is the process's peak RSS (VmHWM) at the phase's end.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// Verdict is one target, met or not.
type Verdict struct {
	Target string  `json:"target"`
	Value  float64 `json:"value"`
	Goal   string  `json:"goal"`
	Met    bool    `json:"met"`
}

// MaxRate is the pipeline's sustainable maximum: the lower of acknowledged
// puts/s and rows/s reaching SQL in the maximal run.
func (r *Report) MaxRate() float64 {
	return math.Min(r.Max.Result.Throughput, r.Max.Result.SQLRowsPerS)
}

// HalfLoad returns the paced run closest to half load, if any.
func (r *Report) HalfLoad() (Phase, bool) {
	best, ok := Phase{}, false
	for _, p := range r.Levels {
		if !ok || math.Abs(p.Fraction-targetLoadFraction) < math.Abs(best.Fraction-targetLoadFraction) {
			best, ok = p, true
		}
	}
	return best, ok
}

// judge fills Verdicts.
func (r *Report) judge() {
	sql := r.Max.Result.SQLRowsPerS
	r.Verdicts = nil
	if r.Limits.Upsert.PerSecond > 0 {
		v := sql / r.Limits.Upsert.PerSecond
		r.Verdicts = append(r.Verdicts, Verdict{"rows/s into SQL vs raw batched upsert", v, fmt.Sprintf(">= %.2f", TargetVsUpsert), v >= TargetVsUpsert})
	}
	if r.Naive.PerSecond > 0 {
		v := sql / r.Naive.PerSecond
		r.Verdicts = append(r.Verdicts, Verdict{"rows/s into SQL vs naive pipeline", v, fmt.Sprintf(">= %.0fx", TargetVsNaive), v >= TargetVsNaive})
	}
	if h, ok := r.HalfLoad(); ok {
		name := fmt.Sprintf("freshness p99 into SQL at %.0f%% load (ms)", 100*h.Fraction)
		r.Verdicts = append(r.Verdicts, Verdict{name, h.Result.SQLVisible.P99, fmt.Sprintf("< %.0f", TargetSQLP99Ms),
			h.Result.SQLVisible.N > 0 && h.Result.SQLVisible.P99 < TargetSQLP99Ms})
		if red := h.Result.RedisVisible; red != nil {
			name := fmt.Sprintf("freshness p99 into Redis at %.0f%% load (ms)", 100*h.Fraction)
			r.Verdicts = append(r.Verdicts, Verdict{name, red.P99, fmt.Sprintf("< %.0f", TargetRedisP99Ms),
				red.N > 0 && red.P99 < TargetRedisP99Ms})
		}
	}
}

// Print writes the report as Markdown tables.
func (r *Report) Print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %s, Go %s; PostgreSQL %s, Redis %s, nats-server %s\n",
		m.NProc, m.CPUModel, m.Memory, m.GoVersion, m.Postgres, m.Redis, m.NATS)
	fmt.Fprintf(w, "Commit: %s\n", m.Commit)
	if r.Command != "" {
		fmt.Fprintf(w, "Command: %s\n", r.Command)
	}
	fmt.Fprintf(w, "Load average (1, 5, 15 min): at start %s, at end %s\n", m.LoadStart, m.LoadEnd)
	s := r.Settings
	fmt.Fprintf(w, "Settings: n=%d, %d in flight, %d-byte payloads, %d tenants, ingest durability %s (server sync %s), %d writer(s), paced runs %.0fs each\n\n",
		s.N, s.Concurrency, s.PayloadSize, s.Tenants, s.Durability, s.ServerSync, s.Writers, s.LevelSeconds)

	fmt.Fprintln(w, "| what | writes | rows or acks/s | note |")
	fmt.Fprintln(w, "|---|---|---|---|")
	lim := func(name string, x Rate, note string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, thousands(float64(x.N)), thousands(x.PerSecond), note)
	}
	lim("limit: async JetStream publish, file stream", r.Limits.Publish, fmt.Sprintf("server CPU %.1f s per million", perMillion(r.Limits.Publish.CPUSeconds, r.Limits.Publish.N)))
	lim("limit: pgx unnest upsert, 1000 rows/stmt", r.Limits.Upsert, fmt.Sprintf("one connection, no merkle; backend CPU %.1f s per million", perMillion(r.Limits.Upsert.CPUSeconds, r.Limits.Upsert.N)))
	lim("limit: pipelined Redis HSET, 1000/pipeline", r.Limits.HSet, "one connection, no version guard")
	lim("naive: consume, upsert 1 row, ack", r.Naive, fmt.Sprintf("one consumer, one connection; backend CPU %.0f s per million", perMillion(r.Naive.CPUSeconds, r.Naive.N)))
	mx := r.Max.Result
	fmt.Fprintf(w, "| **Syncline: acknowledged puts/s** | %s | **%s** | ack p50 %.1f / p99 %.1f ms |\n", thousands(float64(mx.Acked)), thousands(mx.Throughput), mx.Ack.P50, mx.Ack.P99)
	fmt.Fprintf(w, "| **Syncline: rows/s reaching SQL** | %s | **%s** | first put to last commit |\n\n", thousands(float64(mx.SQLSeen)), thousands(mx.SQLRowsPerS))

	fmt.Fprintln(w, "| target | value | goal | met |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, v := range r.Verdicts {
		fmt.Fprintf(w, "| %s | %.2f | %s | %s |\n", v.Target, v.Value, v.Goal, yesNo(v.Met))
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Freshness against offered load (maximum %s puts/s = min(acks/s, SQL rows/s) of the maximal run):\n\n", thousands(r.MaxRate()))
	fmt.Fprintln(w, "| offered | puts/s offered | acks/s | SQL rows/s | ack p50 / p99 ms | SQL p50 / p99 ms | Redis p50 / p99 ms | Redis seen | load avg |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, p := range append([]Phase{r.Max}, r.Levels...) {
		res := p.Result
		off, rate := "max", "-"
		if p.Fraction > 0 {
			off, rate = fmt.Sprintf("%.0f%%", 100*p.Fraction), thousands(res.OfferedRate)
		}
		red, seen := "-", "-"
		if res.RedisVisible != nil {
			red = fmt.Sprintf("%.0f / %.0f", res.RedisVisible.P50, res.RedisVisible.P99)
			seen = fmt.Sprintf("%d/%d", res.RedisSeen, res.RedisSampled)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.1f / %.1f | %.0f / %.0f | %s | %s | %.1f |\n", off, rate, thousands(res.Throughput), thousands(res.SQLRowsPerS),
			res.Ack.P50, res.Ack.P99, res.SQLVisible.P50, res.SQLVisible.P99, red, seen, p.LoadAvg)
	}
	fmt.Fprintln(w)

	if len(r.Scaling) > 0 {
		fmt.Fprintln(w, "Writer processes (maximal runs; \"direct\": published straight into the WAL, bypassing ingest):")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| writers | through ingest: acks/s | through ingest: SQL rows/s | direct: publishes/s | direct: SQL rows/s | direct: writers' CPU s per million | direct: postgres CPU s per million | load avg |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, k := range scalingWriters(r.Scaling) {
			via, dir := findPhase(r.Scaling, k, false), findPhase(r.Scaling, k, true)
			var wcpu, pcpu float64
			for _, u := range dir.Procs {
				switch {
				case strings.HasPrefix(u.Process, "writer"):
					wcpu += u.CPUPerMillion
				case u.Process == PostgresBackends:
					pcpu += u.CPUPerMillion
				}
			}
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %.0f | %.0f | %.1f |\n", k, thousands(via.Result.Throughput), thousands(via.Result.SQLRowsPerS),
				thousands(dir.Result.Throughput), thousands(dir.Result.SQLRowsPerS), wcpu, pcpu, dir.LoadAvg)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "Processes, maximal run (%s acknowledged writes):\n\n", thousands(float64(r.Max.Result.Acked)))
	printProcs(w, r.Max)
	fmt.Fprintf(w, "CPU ceiling: %d CPUs / the CPU per write of all processes above = %s writes/s, if the pipeline had the machine to itself.\n\n",
		r.Machine.NProc, thousands(CPUCeiling(r.Max, r.Machine.NProc)))
	if h, ok := r.HalfLoad(); ok {
		fmt.Fprintf(w, "Processes, %.0f%% load (%s acknowledged writes):\n\n", 100*h.Fraction, thousands(float64(h.Result.Acked)))
		printProcs(w, h)
	}
	for _, p := range r.Profiles {
		fmt.Fprintf(w, "profile: %s\n", p)
	}
}

func printProcs(w io.Writer, p Phase) {
	fmt.Fprintln(w, "| process | CPU s | CPU s per million writes | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|")
	var total float64
	for _, u := range p.Procs {
		rss := fmt.Sprintf("%.0f", u.PeakRSSMiB)
		if u.Process == PostgresBackends {
			rss = "-"
		}
		fmt.Fprintf(w, "| %s | %.1f | %.0f | %s |\n", u.Process, u.CPUSeconds, u.CPUPerMillion, rss)
		total += u.CPUPerMillion
	}
	fmt.Fprintf(w, "| all | | %.0f | |\n\n", total)
}

// CPUCeiling is the rate at which the phase's processes would use every
// CPU of the machine: nproc / CPU seconds per write, summed over the
// processes measured (Redis's CPU is not among them).
func CPUCeiling(p Phase, nproc int) float64 {
	var total float64
	for _, u := range p.Procs {
		total += u.CPUPerMillion
	}
	if total == 0 {
		return 0
	}
	return float64(nproc) / total * 1e6
}

func perMillion(v float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return v / float64(n) * 1e6
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

// thousands formats x rounded, with thousands separators.
func thousands(x float64) string {
	n := int64(math.Round(x))
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// scalingWriters lists the writer counts of the scaling runs, in order.
func scalingWriters(ps []Phase) []int {
	var ks []int
	for _, p := range ps {
		if len(ks) == 0 || ks[len(ks)-1] != p.Writers {
			ks = append(ks, p.Writers)
		}
	}
	return ks
}

// findPhase returns the scaling run with k writers and mode direct.
func findPhase(ps []Phase, k int, direct bool) Phase {
	for _, p := range ps {
		if p.Writers == k && p.Direct == direct {
			return p
		}
	}
	return Phase{}
}
