package writer_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/storepg"
	"github.com/syncline/syncline/pkg/wal"
)

// benchN is the number of pre-loaded messages: SYNCLINE_BENCH_WRITER_N,
// default 20000 (CI); the recorded figures use 200000.
func benchN(b *testing.B) int {
	if v := os.Getenv("SYNCLINE_BENCH_WRITER_N"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return 20000
}

func benchWrites(n int) []wal.Write {
	ws := make([]wal.Write, n)
	for i := range ws {
		p := make([]byte, 1024)
		_, _ = rand.Read(p)
		ws[i] = wal.Write{ID: fmt.Sprintf("bench.u%d.i%d", i%64, i), Op: wal.OpPut, Payload: p,
			ContentType: "application/octet-stream"}
	}
	return ws
}

// BenchmarkWriterDrain measures draining N pre-loaded 1 KiB WAL messages
// into PostgreSQL with one writer (batches of 1000), against
//
//	(a) bare:   the same rows upserted by pgx in batches of 1000 with one
//	            unnest INSERT ... ON CONFLICT DO UPDATE, no NATS, no LWW
//	            read, no merkle: the limit;
//	(b) permsg: a sink that commits one transaction per message (the full
//	            ApplyBatch) and acks each, measured on min(N, 5000) messages.
//
// It reports each rate and the ratios writer/bare (target >= 0.70) and
// writer/permsg (target >= 10).
//
//	SYNCLINE_BENCH_WRITER_N=200000 go test -run '^$' -bench WriterDrain -benchtime 3x ./pkg/engine/writer/
func BenchmarkWriterDrain(b *testing.B) {
	n := benchN(b)
	ws := benchWrites(n)
	var wr, bare, per []float64
	for range b.N {
		wr = append(wr, drainWriter(b, ws))
		bare = append(bare, bareUpsert(b, ws))
		per = append(per, perMessage(b, ws[:min(n, 5000)]))
	}
	mw, mb, mp := median(wr), median(bare), median(per)
	b.ReportMetric(mw, "writer_rows/s")
	b.ReportMetric(mb, "bare_rows/s")
	b.ReportMetric(mp, "permsg_rows/s")
	b.ReportMetric(mw/mb, "writer/bare")
	b.ReportMetric(mw/mp, "writer/permsg")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchEnv is a fresh pipeline on Postgres; b.StopTimer is the caller's.
func benchEnv(b *testing.B) *env {
	return newEnvTB(b, "postgres", wal.Config{Prefix: "bench", MaxAckPending: 100000}, store.Config{})
}

func drainWriter(b *testing.B, ws []wal.Write) float64 {
	b.StopTimer()
	e := benchEnv(b)
	e.publishAsync(ws)
	cfg := writer.Config{BatchSize: 1000, FetchWait: 20 * time.Millisecond}
	if v := os.Getenv("SYNCLINE_BENCH_WRITER_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		cfg.Concurrency = n
	}
	b.StartTimer()
	start := time.Now()
	e.start(cfg, nil, nil)
	e.waitDrained(10 * time.Minute)
	d := time.Since(start)
	b.StopTimer()
	n, err := e.sql.Count(context.Background(), store.Query{})
	require.NoError(b, err)
	require.EqualValues(b, len(ws), n)
	return float64(len(ws)) / d.Seconds()
}

func bareUpsert(b *testing.B, ws []wal.Write) float64 {
	b.StopTimer()
	e := benchEnv(b) // a fresh schema with the same table
	pool := e.sql.(*storepg.Store).Pool()
	b.StartTimer()
	start := time.Now()
	for i := 0; i < len(ws); i += 1000 {
		part := ws[i:min(i+1000, len(ws))]
		ids := make([]string, len(part))
		versions := make([]int64, len(part))
		payloads := make([][]byte, len(part))
		sums := make([][]byte, len(part))
		leaves := make([][]byte, len(part))
		for j, w := range part {
			ids[j], versions[j], payloads[j] = w.ID, int64(i+j+1), w.Payload
			s := sha256.Sum256(w.Payload)
			l := merkle.LeafHash(w.ID, uint64(i+j+1), s)
			sums[j], leaves[j] = s[:], l[:]
		}
		_, err := pool.Exec(context.Background(), `INSERT INTO sync_items
  (id, version, payload, content_type, deleted, leaf_hash, payload_sum, updated_at, wal_seq)
SELECT u.id, u.version, u.payload, 'application/octet-stream', false, u.leaf, u.sum, now(), u.version
FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[]) AS u(id, version, payload, leaf, sum)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, payload = excluded.payload,
  leaf_hash = excluded.leaf_hash, payload_sum = excluded.payload_sum, updated_at = excluded.updated_at
WHERE excluded.version > sync_items.version`, ids, versions, payloads, leaves, sums)
		require.NoError(b, err)
	}
	d := time.Since(start)
	b.StopTimer()
	return float64(len(ws)) / d.Seconds()
}

func perMessage(b *testing.B, ws []wal.Write) float64 {
	b.StopTimer()
	e := benchEnv(b)
	e.publishAsync(ws)
	c, err := wal.NewConsumer(context.Background(), e.js, e.wal)
	require.NoError(b, err)
	ctx := context.Background()
	b.StartTimer()
	start := time.Now()
	done := 0
	for done < len(ws) {
		msgs, err := c.Fetch(ctx, 1000, 0, time.Second)
		require.NoError(b, err)
		for _, m := range msgs {
			w, err := m.Write(0)
			require.NoError(b, err)
			_, err = e.sql.ApplyBatch(ctx, []store.Write{{Seq: m.Seq, ID: w.ID, Op: store.OpPut, Payload: w.Payload, ContentType: w.ContentType}})
			require.NoError(b, err)
			require.NoError(b, c.Settle(ctx, m, nil))
			done++
		}
	}
	d := time.Since(start)
	b.StopTimer()
	return float64(len(ws)) / d.Seconds()
}
