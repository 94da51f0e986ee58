package ingest_test

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

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

const (
	benchInFlight = 256
	benchPayload  = 1024
)

// BenchmarkIngestVsDirect measures acknowledged puts/s and ack latency of
// 1 KiB puts with 256 requests in flight through ingest, against the limit:
// direct async JetStream publishes of the same WAL messages, in the same
// run, to the same stream. A third phase paces ingest puts at half the rate
// it just reached and reports that latency.
func BenchmarkIngestVsDirect(b *testing.B) {
	walCfg := wal.Config{PublishMaxPending: 4096}.WithDefaults()
	h := start(b, opts{server: waltest.Options{}, wal: walCfg})
	cnc := waltest.Connect(b, h.srv) // the load generator's own connection
	cl, err := client.New(cnc)
	require.NoError(b, err)
	payload := make([]byte, benchPayload)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench.tenant%d.item%d", i%64, i)
	}

	// Interleave the two modes in rounds so that a change in machine load
	// during the run hits both alike.
	const rounds = 8
	var direct, viaIngest samples
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		lo, hi := r*len(ids)/rounds, (r+1)*len(ids)/rounds
		if lo == hi {
			continue
		}
		direct.add(runDirect(b, cnc, walCfg.Names(), ids[lo:hi], payload))
		viaIngest.add(runIngest(b, cl, ids[lo:hi], payload, 0))
	}
	b.StopTimer()
	d, v := direct.phase(), viaIngest.phase()
	b.ReportMetric(direct.cpuPerOp(), "direct_cpu_us/put")
	b.ReportMetric(viaIngest.cpuPerOp(), "ingest_cpu_us/put")
	b.ReportMetric(direct.cpuPerOp()/viaIngest.cpuPerOp(), "cpu_ratio")
	half := runIngest(b, cl, ids[:min(len(ids), max(2000, len(ids)/4))], payload, v.rate/2).phase()
	b.ReportMetric(d.rate, "direct_puts/s")
	b.ReportMetric(v.rate, "ingest_puts/s")
	b.ReportMetric(v.rate/d.rate, "ratio")
	b.ReportMetric(ms(d.p50), "direct_p50_ms")
	b.ReportMetric(ms(d.p99), "direct_p99_ms")
	b.ReportMetric(ms(v.p50), "ingest_p50_ms")
	b.ReportMetric(ms(v.p99), "ingest_p99_ms")
	b.ReportMetric(ms(half.p50), "half_rate_p50_ms")
	b.ReportMetric(ms(half.p99), "half_rate_p99_ms")
}

type phase struct {
	rate     float64
	p50, p99 time.Duration
}

// samples accumulates latencies, wall time and process CPU time over
// rounds.
type samples struct {
	lat     []time.Duration
	elapsed time.Duration
	cpu     time.Duration
}

func (s *samples) add(o samples) {
	s.lat = append(s.lat, o.lat...)
	s.elapsed += o.elapsed
	s.cpu += o.cpu
}

// cpuPerOp is the process CPU time per acknowledged put, in microseconds.
func (s samples) cpuPerOp() float64 {
	return float64(s.cpu) / float64(time.Microsecond) / float64(len(s.lat))
}

func (s samples) phase() phase {
	lat := slices.Clone(s.lat)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	return phase{rate: float64(len(lat)) / s.elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runDirect publishes the WAL messages straight to JetStream, 256 in flight.
func runDirect(b *testing.B, nc *nats.Conn, names wal.Names, ids []string, payload []byte) samples {
	lat := make([]time.Duration, len(ids))
	starts := make([]time.Time, len(ids))
	var wg sync.WaitGroup
	var mu sync.Mutex
	index := make(map[*nats.Msg]int, benchInFlight)
	done := func(m *nats.Msg) {
		mu.Lock()
		i := index[m]
		delete(index, m)
		mu.Unlock()
		lat[i] = time.Since(starts[i])
		wg.Done()
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(benchInFlight),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) { done(m) }),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			b.Errorf("direct publish: %v", err)
			done(m)
		}),
	)
	require.NoError(b, err)
	t0, c0 := time.Now(), processCPU()
	for i, id := range ids {
		m := wal.Write{ID: id, Op: wal.OpPut, Payload: payload, ContentType: "application/octet-stream"}.Encode(names)
		mu.Lock()
		index[m] = i
		mu.Unlock()
		wg.Add(1)
		starts[i] = time.Now()
		for {
			_, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Second))
			if err == nil {
				break
			}
			require.ErrorIs(b, err, jetstream.ErrTooManyStalledMsgs)
		}
	}
	wg.Wait()
	return samples{lat: lat, elapsed: time.Since(t0), cpu: processCPU() - c0}
}

// runIngest puts through the ingest service with 256 in flight; rate > 0
// paces the sends at that many per second.
func runIngest(b *testing.B, cl *client.Client, ids []string, payload []byte, rate float64) samples {
	p, err := cl.NewPipeline(benchInFlight)
	require.NoError(b, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	lat := make([]time.Duration, len(ids))
	t0, c0 := time.Now(), processCPU()
	for i, id := range ids {
		if rate > 0 {
			if wait := time.Until(t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		start := time.Now()
		err := p.PutFunc(ctx, id, payload, func(_ client.Result, err error) {
			if err != nil {
				b.Errorf("ingest put: %v", err)
			}
			lat[i] = time.Since(start)
		}, client.WithContentType("application/octet-stream"))
		require.NoError(b, err)
	}
	require.NoError(b, p.Wait(ctx))
	return samples{lat: lat, elapsed: time.Since(t0), cpu: processCPU() - c0}
}
