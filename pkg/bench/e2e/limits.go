package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/syncline/syncline/pkg/bench"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/wal"
)

// upsertBatch is the rows per statement of the raw upsert limit.
const upsertBatch = 1000

// Rate is one measured throughput.
type Rate struct {
	// N is the number of writes (messages, rows, items).
	N int `json:"n"`
	// Seconds is the wall time they took.
	Seconds float64 `json:"seconds"`
	// PerSecond is N / Seconds.
	PerSecond float64 `json:"per_second"`
	// CPUSeconds is the CPU time of the process that did the work, where
	// one process did (the nats-server child for publishing).
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

func rate(n int, d time.Duration) Rate {
	r := Rate{N: n, Seconds: d.Seconds()}
	if r.Seconds > 0 {
		r.PerSecond = float64(n) / r.Seconds
	}
	return r
}

// rows are the writes a limit is measured with: n ids of the shape the
// load generator uses and one random payload.
type rows struct {
	ids     []string
	payload []byte
}

func makeRows(n, tenants, size int) rows {
	r := rows{ids: make([]string, n), payload: make([]byte, size)}
	for i := range r.ids {
		r.ids[i] = bench.NewID(i % tenants)
	}
	_, _ = rand.Read(r.payload)
	return r
}

// walMsgs encodes r as WAL messages of names (what ingest publishes).
func (r rows) write(i int) wal.Write {
	return wal.Write{ID: r.ids[i], Op: wal.OpPut, Payload: r.payload, ContentType: item.ContentTypeBinary}
}

// publishLimit publishes every row as a WAL message to a fresh file-storage
// stream with asynchronous publishes, inflight unacknowledged at most, and
// returns the rate from the first publish to the last ack.
func publishLimit(ctx context.Context, js jetstream.JetStream, cfg wal.Config, r rows, inflight int) (Rate, error) {
	names := cfg.Names()
	if _, err := js.CreateStream(ctx, wal.WALStreamConfig(cfg, false)); err != nil {
		return Rate{}, fmt.Errorf("e2e: limit stream: %w", err)
	}
	futs := make([]jetstream.PubAckFuture, 0, len(r.ids))
	start := time.Now()
	for i := range r.ids {
		f, err := js.PublishMsgAsync(r.write(i).Encode(names))
		if err != nil {
			return Rate{}, fmt.Errorf("e2e: publish: %w", err)
		}
		futs = append(futs, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return Rate{}, ctx.Err()
	}
	d := time.Since(start)
	for _, f := range futs {
		select {
		case err := <-f.Err():
			return Rate{}, fmt.Errorf("e2e: publish ack: %w", err)
		default:
		}
	}
	return rate(len(r.ids), d), nil
}

// upsertSQL is the raw batched upsert: the item table's columns from
// arrays, one statement per batch, applied only when newer.
const upsertSQL = `INSERT INTO sync_items
  (id, version, payload, content_type, deleted, leaf_hash, payload_sum, updated_at, wal_seq)
SELECT u.id, u.version, u.payload, 'application/octet-stream', false, u.leaf, u.sum, now(), u.version
FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[]) AS u(id, version, payload, leaf, sum)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, payload = excluded.payload,
  leaf_hash = excluded.leaf_hash, payload_sum = excluded.payload_sum, updated_at = excluded.updated_at
WHERE excluded.version > sync_items.version`

// upsertLimit upserts every row into sync_items on conn, upsertBatch rows
// per statement (each its own transaction), computing the payload and leaf
// hashes a writer stores: no NATS, no last-writer-wins read, no merkle.
func upsertLimit(ctx context.Context, conn *pgx.Conn, r rows) (Rate, error) {
	start := time.Now()
	sum := sha256.Sum256(r.payload)
	for i := 0; i < len(r.ids); i += upsertBatch {
		part := r.ids[i:min(i+upsertBatch, len(r.ids))]
		versions := make([]int64, len(part))
		payloads := make([][]byte, len(part))
		sums := make([][]byte, len(part))
		leaves := make([][]byte, len(part))
		for j, id := range part {
			v := uint64(i + j + 1)
			versions[j], payloads[j], sums[j] = int64(v), r.payload, sum[:]
			l := merkle.LeafHash(id, v, sum)
			leaves[j] = l[:]
		}
		if _, err := conn.Exec(ctx, upsertSQL, part, versions, payloads, leaves, sums); err != nil {
			return Rate{}, fmt.Errorf("e2e: raw upsert: %w", err)
		}
	}
	return rate(len(r.ids), time.Since(start)), nil
}

// hsetLimit writes every row as a Redis hash <prefix>item:<id> (the item
// layout's fields) with pipelines of upsertBatch HSETs on one connection:
// no version guard, no merkle.
func hsetLimit(ctx context.Context, rc redis.UniversalClient, prefix string, r rows) (Rate, error) {
	start := time.Now()
	for i := 0; i < len(r.ids); i += upsertBatch {
		pipe := rc.Pipeline()
		for j := i; j < min(i+upsertBatch, len(r.ids)); j++ {
			pipe.HSet(ctx, prefix+"item:"+r.ids[j], "version", j+1, "payload", r.payload, "content_type", item.ContentTypeBinary)
		}
		cmds, err := pipe.Exec(ctx)
		if err != nil {
			return Rate{}, fmt.Errorf("e2e: raw hset: %w", err)
		}
		for _, c := range cmds {
			if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return Rate{}, fmt.Errorf("e2e: raw hset: %w", err)
			}
		}
	}
	return rate(len(r.ids), time.Since(start)), nil
}
