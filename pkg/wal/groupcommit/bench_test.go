package groupcommit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// benchPhase is how long each mode runs in one round of
// BenchmarkGroupCommit.
const benchPhase = time.Second

// BenchmarkGroupCommit compares, against one server that fsyncs before
// every ack, per-message asynchronous publishing (the baseline: each
// client publishes with PublishMsgAsync and waits for its ack) with the
// group committer (production defaults for DurabilityFsync), at 1, 16 and
// 256 concurrent clients each doing synchronous Publish calls.
//
// Each round runs both modes back to back for benchPhase each (which goes
// first alternates), on the same server and connection, so that their
// ratio is taken under the same machine load (the -count repetitions are
// the rounds; b.N is not used).
// Reported per round: acks/s, p50_ms, p99_ms of group commit; the
// baseline's as base_acks/s, base_p50_ms, base_p99_ms; ratio (acks/s over
// base_acks/s) and p50_delta_ms (p50_ms minus base_p50_ms).
func BenchmarkGroupCommit(b *testing.B) {
	e := newEnv(b, waltest.Options{}, nil)
	ctx := context.Background()
	stream, err := e.js.Stream(ctx, testStream)
	require.NoError(b, err)
	c := start(b, e.nc, groupcommit.Config{Stream: testStream, Durability: groupcommit.DurabilityFsync}, nil)
	base, err := jetstream.New(e.nc)
	require.NoError(b, err)

	perMessage := func(ctx context.Context, m *nats.Msg) error {
		f, err := base.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		select {
		case <-f.Ok():
			return nil
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	groupCommit := func(ctx context.Context, m *nats.Msg) error {
		_, err := c.Publish(ctx, m)
		return err
	}
	for _, clients := range []int{1, 16, 256} {
		round := 0
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			// Alternate which mode goes first, so that neither always
			// runs on the disk state the other left behind.
			round++
			var bl, gc benchResult
			for i := range 2 {
				require.NoError(b, stream.Purge(ctx))
				if (i+round)%2 == 0 {
					bl = runClients(b, clients, benchPhase, perMessage)
				} else {
					gc = runClients(b, clients, benchPhase, groupCommit)
				}
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(gc.rate, "acks/s")
			b.ReportMetric(gc.p50, "p50_ms")
			b.ReportMetric(gc.p99, "p99_ms")
			b.ReportMetric(bl.rate, "base_acks/s")
			b.ReportMetric(bl.p50, "base_p50_ms")
			b.ReportMetric(bl.p99, "base_p99_ms")
			b.ReportMetric(gc.rate/bl.rate, "ratio")
			b.ReportMetric(gc.p50-bl.p50, "p50_delta_ms")
		})
	}
}

type benchResult struct{ rate, p50, p99 float64 }

// runClients runs clients goroutines for d, each publishing one write at a
// time and waiting for its ack, and measures every ack's latency.
func runClients(b *testing.B, clients int, d time.Duration, publish func(context.Context, *nats.Msg) error) benchResult {
	b.Helper()
	lat := make([][]time.Duration, clients)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	began := time.Now()
	deadline := began.Add(d)
	for g := range clients {
		wg.Go(func() {
			m := nats.NewMsg(fmt.Sprintf("t.wal.%d", g%4))
			m.Header.Set("Sync-Id", fmt.Sprintf("bench.client%d", g))
			m.Header.Set("Sync-Op", "put")
			m.Header.Set("Content-Type", "application/json")
			m.Data = []byte(`{"v":"0123456789012345678901234567890123456789012345678901234567890123456789"}`)
			l := make([]time.Duration, 0, 1024)
			for t0 := time.Now(); t0.Before(deadline); t0 = time.Now() {
				if err := publish(ctx, m); err != nil {
					b.Error(err)
					return
				}
				l = append(l, time.Since(t0))
			}
			lat[g] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return benchResult{}
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(int(p*float64(len(all))), len(all)-1)]) / float64(time.Millisecond)
	}
	return benchResult{rate: float64(len(all)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99)}
}

// BenchmarkBatchCost measures what one group of k writes costs a server
// that fsyncs before every ack, sent as one atomic batch or as k plain
// messages pipelined on one connection; it is the basis of
// DefaultMinBatchWritesFsync. Reported: ms per group and writes/s. An
// atomic batch into an R1 file stream has a fixed cost (the server creates,
// fsyncs and deletes a staging store per batch) that k plain fsyncs only
// exceed for larger k.
func BenchmarkBatchCost(b *testing.B) {
	e := newEnv(b, waltest.Options{}, nil)
	for _, k := range []int{2, 4, 8, 16, 32, 128, 500} {
		for _, mode := range []string{"atomic", "plain"} {
			b.Run(fmt.Sprintf("k=%d/mode=%s", k, mode), func(b *testing.B) {
				msgs := make([]*nats.Msg, k)
				for i := range msgs {
					msgs[i] = walMsg(fmt.Sprintf("cost-%d", i))
				}
				ctx := context.Background()
				began := time.Now()
				for b.Loop() {
					if mode == "atomic" {
						_, err := jetstreamext.PublishMsgBatch(ctx, e.js, msgs, jetstreamext.BatchFlowControl{})
						require.NoError(b, err)
						continue
					}
					fs := make([]jetstream.PubAckFuture, k)
					for i, m := range msgs {
						f, err := e.js.PublishMsgAsync(m)
						require.NoError(b, err)
						fs[i] = f
					}
					for _, f := range fs {
						select {
						case <-f.Ok():
						case err := <-f.Err():
							b.Fatal(err)
						}
					}
				}
				per := time.Since(began) / time.Duration(b.N)
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(float64(per)/float64(time.Millisecond), "ms/group")
				b.ReportMetric(float64(k)/per.Seconds(), "writes/s")
			})
		}
	}
}
