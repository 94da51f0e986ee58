package cli

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/syncline/syncline/pkg/bench"
)

func newBench(e *env) *cobra.Command {
	var cfg bench.Config
	var asJSON, quiet bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load generator: puts with a progress bar, then throughput, ack latency and time until visible in SQL and Redis",
		Long: `Puts --n items of --size bytes (ids tenant.<t>.orders.<uuid>) with --concurrency
in flight, at --rate puts/s (0: as fast as acknowledgements come back), and
reports acknowledged puts/s, ack latency percentiles, and the time from ack
until each write's commit record appears on the commit feed (visible in SQL)
and, with --redis-url, until a sample of ids is in Redis.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, _, err := e.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			if e.s.RedisURL != "" {
				opts, err := redis.ParseURL(e.s.RedisURL)
				if err != nil {
					return fmt.Errorf("redis url: %w", err)
				}
				rc := redis.NewClient(opts)
				defer rc.Close()
				cfg.Redis, cfg.RedisPrefix = rc, e.s.RedisPrefix
			}
			if !quiet {
				cfg.Progress = e.stderr
			}
			rep, err := bench.Run(context.WithoutCancel(cmd.Context()), nc, e.s.WAL.Names(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, rep)
			}
			rep.Print(e.stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.N, "n", 100000, "number of puts")
	f.IntVar(&cfg.Concurrency, "concurrency", 256, "puts in flight")
	f.IntVar(&cfg.PayloadSize, "size", 1024, "payload bytes")
	f.IntVar(&cfg.Tenants, "tenants", 10, "tenants in the ids")
	f.Float64Var(&cfg.Rate, "rate", 0, "offered load in puts/s (0: maximum)")
	f.DurationVar(&cfg.VisibleTimeout, "visible-timeout", 0, "how long to wait for visibility after the last ack (default 60s)")
	f.IntVar(&cfg.RedisSample, "redis-sample", 50, "poll every Nth id in Redis")
	f.BoolVar(&cfg.Direct, "direct", false, "publish straight into the WAL stream (a trusted producer) instead of through ingest")
	f.BoolVar(&cfg.GroupCommit, "group-commit", false, "with --direct: publish in group-committed atomic batches (for a server that syncs before every ack)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	cmd.AddCommand(newBenchE2E(e))
	return cmd
}
