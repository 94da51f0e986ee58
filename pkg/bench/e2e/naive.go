package e2e

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/wal"
)

// naiveSQL is the naive pipeline's statement: one row, in its own
// (autocommit) transaction, applied only when newer.
const naiveSQL = `INSERT INTO sync_items
  (id, version, payload, content_type, deleted, leaf_hash, payload_sum, updated_at, wal_seq)
VALUES ($1, $2, $3, $4, false, $5, $6, now(), $2)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, payload = excluded.payload,
  content_type = excluded.content_type, leaf_hash = excluded.leaf_hash,
  payload_sum = excluded.payload_sum, updated_at = excluded.updated_at
WHERE excluded.version > sync_items.version`

// naivePipeline pre-loads every row into a fresh WAL-shaped stream
// (untimed), then drains it the way a first attempt would: one pull
// consumer, and for each message decode, upsert one row, ack. It stops
// after every row or after budget, whichever comes first, and returns the
// rows committed per second.
func naivePipeline(ctx context.Context, js jetstream.JetStream, cfg wal.Config, conn *pgx.Conn, r rows, budget time.Duration) (Rate, error) {
	if _, err := publishLimit(ctx, js, cfg, r, 256); err != nil {
		return Rate{}, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Names().WALStream(), jetstream.ConsumerConfig{
		Durable:   "naive",
		AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		return Rate{}, fmt.Errorf("e2e: naive consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return Rate{}, fmt.Errorf("e2e: naive consumer: %w", err)
	}
	defer it.Stop()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	stop := context.AfterFunc(ctx, it.Stop) // unblocks Next at the budget
	defer stop()
	start := time.Now()
	done := 0
	for done < len(r.ids) {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				break
			}
			return Rate{}, fmt.Errorf("e2e: naive next: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return Rate{}, fmt.Errorf("e2e: naive: %w", err)
		}
		w, err := wal.DecodeWrite(natsMsg(m), 0)
		if err != nil {
			return Rate{}, fmt.Errorf("e2e: naive decode: %w", err)
		}
		v := w.EffectiveVersion(meta.Sequence.Stream)
		sum := sha256.Sum256(w.Payload)
		leaf := merkle.LeafHash(w.ID, v, sum)
		if _, err := conn.Exec(ctx, naiveSQL, w.ID, int64(v), w.Payload, w.ContentType, leaf[:], sum[:]); err != nil {
			if ctx.Err() != nil {
				break
			}
			return Rate{}, fmt.Errorf("e2e: naive upsert: %w", err)
		}
		if err := m.Ack(); err != nil {
			return Rate{}, fmt.Errorf("e2e: naive ack: %w", err)
		}
		done++
	}
	return rate(done, time.Since(start)), nil
}

// natsMsg is the core message wal.DecodeWrite reads.
func natsMsg(m jetstream.Msg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()}
}
