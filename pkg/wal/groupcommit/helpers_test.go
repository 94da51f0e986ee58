package groupcommit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

const testStream = "T_WAL"

// env is one embedded server (fsync before ack) with a test stream.
type env struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newEnv(t testing.TB, o waltest.Options, mod func(*jetstream.StreamConfig)) *env {
	t.Helper()
	o.SyncAlways = true
	s := waltest.Start(t, o)
	nc := waltest.Connect(t, s)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	e := &env{srv: s, nc: nc, js: js}
	e.createStream(t, mod)
	return e
}

func streamConfig(mod func(*jetstream.StreamConfig)) jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:               testStream,
		Subjects:           []string{"t.wal.*"},
		Storage:            jetstream.FileStorage,
		Discard:            jetstream.DiscardNew,
		AllowAtomicPublish: true,
		Duplicates:         2 * time.Minute,
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func (e *env) createStream(t testing.TB, mod func(*jetstream.StreamConfig)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.js.CreateStream(ctx, streamConfig(mod))
	require.NoError(t, err)
}

// testConfig is the Config of the tests: fsync durability, and atomic
// batches from two writes on, so that small tests exercise them.
func testConfig(mod func(*groupcommit.Config)) groupcommit.Config {
	cfg := groupcommit.Config{Stream: testStream, Durability: groupcommit.DurabilityFsync, MinBatchWrites: 2}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// start builds and starts a Committer on nc, stopped when the test ends.
func start(t testing.TB, nc *nats.Conn, cfg groupcommit.Config, log *slog.Logger) *groupcommit.Committer {
	t.Helper()
	return startWith(t, nc, cfg, log, nil)
}

func startWith(t testing.TB, nc *nats.Conn, cfg groupcommit.Config, log *slog.Logger, reg prometheus.Registerer) *groupcommit.Committer {
	t.Helper()
	c, err := groupcommit.New(nc, cfg, log, reg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c
}

// walMsg is a WAL-like message whose payload names the write.
func walMsg(name string) *nats.Msg {
	m := nats.NewMsg("t.wal." + strconv.Itoa(len(name)%4))
	m.Header.Set("Sync-Id", name)
	m.Header.Set("Sync-Op", "put")
	m.Data = []byte("payload-" + name)
	return m
}

// outcome is one write's answer.
type outcome struct {
	name string
	ack  groupcommit.Ack
	err  error
}

// publishAll publishes the messages concurrently, one goroutine each.
func publishAll(t testing.TB, c *groupcommit.Committer, msgs []*nats.Msg) []outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make([]outcome, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() {
			ack, err := c.Publish(ctx, m)
			out[i] = outcome{name: m.Header.Get("Sync-Id"), ack: ack, err: err}
		})
	}
	wg.Wait()
	return out
}

// stored is a message read back from the stream.
type stored struct {
	seq    uint64
	header nats.Header
	data   []byte
}

// readStream returns every message of the stream in sequence order.
func readStream(t testing.TB, js jetstream.JetStream) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, testStream)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	var out []stored
	for uint64(len(out)) < info.State.Msgs {
		batch, err := cons.Fetch(int(min(500, info.State.Msgs-uint64(len(out)))), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			md, err := m.Metadata()
			require.NoError(t, err)
			out = append(out, stored{seq: md.Sequence.Stream, header: m.Headers(), data: m.Data()})
		}
		require.NoError(t, batch.Error())
	}
	return out
}

// bySeq indexes stored messages.
func bySeq(msgs []stored) map[uint64]stored {
	m := make(map[uint64]stored, len(msgs))
	for _, s := range msgs {
		m[s.seq] = s
	}
	return m
}

// requireAcksStored checks that every acknowledged write is in the stream
// at its own sequence, byte-exact.
func requireAcksStored(t testing.TB, out []outcome, msgs []stored) {
	t.Helper()
	idx := bySeq(msgs)
	for _, o := range out {
		if o.err != nil && o.err != errSkipPayloadCheck {
			continue
		}
		s, ok := idx[o.ack.Seq]
		require.Truef(t, ok, "write %s acked at seq %d, not in the stream", o.name, o.ack.Seq)
		require.Equalf(t, o.name, s.header.Get("Sync-Id"), "seq %d holds another write", o.ack.Seq)
		if o.err == nil {
			require.Equal(t, "payload-"+o.name, string(s.data))
		}
	}
}

// errSkipPayloadCheck marks an outcome whose payload is not "payload-<name>".
var errSkipPayloadCheck = errors.New("payload not checked")

// batchRun is one atomic batch found in the stream.
type batchRun struct {
	id    string
	first uint64
	n     int
}

// requireBatchesWhole checks that every atomic batch in the stream is
// complete: contiguous sequences, batch sequence 1..n, commit on the last.
// It returns the batches in stream order.
func requireBatchesWhole(t testing.TB, msgs []stored) []batchRun {
	t.Helper()
	var runs []batchRun
	for i := 0; i < len(msgs); {
		id := msgs[i].header.Get("Nats-Batch-Id")
		if id == "" {
			i++
			continue
		}
		run := batchRun{id: id, first: msgs[i].seq}
		for j := i; ; j++ {
			require.Lessf(t, j, len(msgs), "batch %s has no commit message: partially stored", id)
			m := msgs[j]
			require.Equalf(t, id, m.header.Get("Nats-Batch-Id"), "batch %s interleaved at seq %d", id, m.seq)
			require.Equalf(t, run.first+uint64(j-i), m.seq, "batch %s not contiguous at seq %d", id, m.seq)
			require.Equal(t, strconv.Itoa(j-i+1), m.header.Get("Nats-Batch-Sequence"))
			if m.header.Get("Nats-Batch-Commit") != "" {
				run.n = j - i + 1
				i = j + 1
				break
			}
		}
		runs = append(runs, run)
	}
	return runs
}

// logBuffer captures a Committer's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func names(prefix string, n int) []*nats.Msg {
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = walMsg(fmt.Sprintf("%s-%d", prefix, i))
	}
	return msgs
}

// metric sums the samples of a counter, or the sample count of a
// histogram, over all label values.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}
