package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/syncline/syncline/pkg/bench/e2e"
)

func newBenchE2E(e *env) *cobra.Command {
	var cfg e2e.Config
	var asJSON, quiet bool
	var plotPath, savePath, fromPath string
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "End-to-end benchmark: the limits, a naive pipeline, and ingest + writers + reconciler as processes",
		Long: `Measures in one run, with --size byte payloads and ids tenant.<t>.orders.<uuid>:

  limits     async JetStream publishes into a file stream; pgx unnest upserts
             (1000 rows per statement); pipelined Redis HSETs; --n each
  naive      a JetStream consumer that upserts one row per message and acks it
  Syncline   nats-server, reconciler, --writers writer(s) and ingest as child
             processes (built with go build from the current module unless
             --bin-dir has them): a maximal run of --n puts (acks/s, rows/s
             into SQL), paced runs at --levels of that maximum for
             --level-duration each (freshness: ack until visible in SQL and
             in Redis), and maximal runs with --scale-writers writers;
             CPU seconds and peak RSS of every process

PostgreSQL (--sql-url, default the local test database) gets private schemas
and Redis (--redis-url, default 127.0.0.1:6379) a private key prefix; both
are removed at the end. NATS is never the machine's: the bench starts its own
servers on free ports. Prints Markdown tables (or --json) and draws --plot.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if strings.HasPrefix(e.s.SQLURL, "postgres") {
				cfg.PostgresURL = e.s.SQLURL
			} else if e.s.SQLURL != "" {
				return fmt.Errorf("bench e2e: --sql-url must be a postgres:// URL")
			}
			cfg.RedisURL = e.s.RedisURL
			cfg.Log = e.stderr
			if !quiet {
				cfg.Progress = e.stderr
			}
			var rep *e2e.Report
			if fromPath != "" {
				b, err := os.ReadFile(fromPath)
				if err != nil {
					return err
				}
				rep = new(e2e.Report)
				if err := json.Unmarshal(b, rep); err != nil {
					return fmt.Errorf("bench e2e: %s: %w", fromPath, err)
				}
			} else {
				var err error
				if rep, err = e2e.Run(ctx, cfg); err != nil {
					return err
				}
				rep.Command = commandLine(cmd)
			}
			if savePath != "" {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(savePath, append(b, '\n'), 0o644); err != nil {
					return err
				}
			}
			if plotPath != "" {
				if err := e2e.WritePlot(rep, plotPath); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "plot: %s\n", plotPath)
			}
			if asJSON {
				return printJSON(e.stdout, rep)
			}
			rep.Print(e.stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 100000, "puts of the maximal run and of each scaling run; rows of each limit")
	f.IntVar(&cfg.Concurrency, "concurrency", 256, "puts (and limit publishes) in flight")
	f.IntVar(&cfg.PayloadSize, "size", 1024, "payload bytes")
	f.IntVar(&cfg.Tenants, "tenants", 10, "tenants in the ids")
	f.Float64SliceVar(&cfg.Levels, "levels", []float64{0.25, 0.5, 0.7, 0.9}, "offered loads of the paced runs, as fractions of the maximal rate")
	f.DurationVar(&cfg.LevelDuration, "level-duration", 0, "how long each paced run offers load (default 30s)")
	f.IntVar(&cfg.Writers, "writers", 1, "writer processes in the maximal and paced runs")
	f.IntSliceVar(&cfg.ScaleWriters, "scale-writers", []int{1, 2, 3}, "writer counts of the scaling runs")
	f.BoolVar(&cfg.NoScaling, "no-scaling", false, "skip the scaling runs")
	f.IntVar(&cfg.NaiveN, "naive-n", 20000, "most messages of the naive pipeline")
	f.DurationVar(&cfg.NaiveBudget, "naive-budget", 0, "most time of the naive pipeline (default 15s)")
	f.IntVar(&cfg.Warmup, "warmup", 0, "unmeasured puts before the maximal run (default n/20)")
	f.StringVar(&cfg.Durability, "durability", "auto", "ingest durability: auto (= fsync on one server) or lazy; the server's fsync setting follows")
	f.StringVar(&cfg.BinDir, "bin-dir", "", "directory with prebuilt ingest, writer, reconciler and nats-server (default: go build)")
	f.StringVar(&cfg.ProfileDir, "profile-dir", "", "take CPU profiles of every process during the maximal and the 50% run into this directory")
	f.IntVar(&cfg.ProfileSeconds, "profile-seconds", 10, "length of each CPU profile")
	f.BoolVar(&cfg.Keep, "keep", false, "keep the temp dir (binaries, server stores, stage logs)")
	f.StringVar(&plotPath, "plot", "docs/bench/e2e.png", "PNG of throughput and freshness against offered load (empty: none)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&savePath, "save", "", "also write the report as JSON to this file")
	f.StringVar(&fromPath, "from", "", "run nothing: print and plot a report saved with --save")
	f.BoolVar(&quiet, "quiet", false, "no progress bars")
	return cmd
}

// commandLine is the command as given, with the flags that were set; URLs
// and secrets are left out (they may carry passwords).
func commandLine(cmd *cobra.Command) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if strings.HasSuffix(f.Name, "-url") || strings.Contains(f.Name, "password") || strings.Contains(f.Name, "creds") {
			parts = append(parts, "--"+f.Name+"=...")
			return
		}
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		parts = append(parts, "--"+f.Name+"="+v)
	})
	return strings.Join(parts, " ")
}
