package storepg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/internal/plan"
)

// maxAttempts bounds the transparent retries of one batch after a race with
// a concurrent writer (see errRaced) or a deadlock/serialization abort.
const maxAttempts = 8

// errRaced reports that a concurrent transaction inserted an id this one had
// read as absent, so the merkle delta computed from "absent" is wrong; the
// transaction is rolled back and retried, and the retry locks the row.
var errRaced = errors.New("storepg: concurrent insert of an id read as absent")

// ApplyBatch implements store.Backend.
//
// One transaction (READ COMMITTED):
//
//  1. SELECT the batch's existing rows ORDER BY id FOR UPDATE: rows are
//     locked in id order, the fixed lock order of every writer.
//  2. Decide LWW in Go (plan.Decide) and compute the merkle deltas from the
//     stored leaves.
//  3. In one pipelined round trip: INSERT the ids that were absent (ON
//     CONFLICT DO NOTHING; a short row count means another writer inserted
//     one of them meanwhile: roll back and retry), UPDATE the existing rows
//     (guarded by the same LWW predicate), add the edge deltas in (parent,
//     child) order, and read the root edges.
//  4. Delete edges whose hash became zero (only when there are any), commit.
func (s *Store) ApplyBatch(ctx context.Context, writes []store.Write) (store.Result, error) {
	rows, err := plan.Prepare(writes)
	if err != nil {
		return store.Result{}, err
	}
	if len(rows) == 0 {
		root, err := s.Root(ctx)
		return store.Result{Root: root}, err
	}
	for attempt := 1; ; attempt++ {
		res, err := s.applyOnce(ctx, rows)
		if err == nil {
			return res, nil
		}
		if attempt >= maxAttempts || !(errors.Is(err, errRaced) || retryable(err)) {
			return store.Result{}, translate(err)
		}
		select {
		case <-ctx.Done():
			return store.Result{}, ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Millisecond):
		}
	}
}

func (s *Store) applyOnce(ctx context.Context, rows []plan.Row) (store.Result, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return store.Result{}, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	existing, err := lockExisting(ctx, tx, plan.IDs(rows))
	if err != nil {
		return store.Result{}, err
	}
	winners, changes := plan.Decide(rows, existing)
	upd := s.cfg.Tree.Deltas(changes)
	if s.noTree {
		upd = merkle.Update{}
	}
	var inserts, updates []plan.Row
	for _, r := range winners {
		if _, ok := existing[r.ID]; ok {
			updates = append(updates, r)
		} else {
			inserts = append(inserts, r)
		}
	}
	now := s.cfg.Now()
	var b pgx.Batch
	if err := s.queueRows(ctx, tx, &b, inserts, updates, now); err != nil {
		return store.Result{}, err
	}
	queueEdges(&b, upd.Edges)
	b.Queue(sqlRootEdges)
	br := tx.SendBatch(ctx, &b)
	root, zero, err := s.readBatch(br, len(inserts), len(updates), len(upd.Edges) > 0)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return store.Result{}, err
	}
	if len(zero) > 0 {
		if err := deleteZeroEdges(ctx, tx, zero); err != nil {
			return store.Result{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Result{}, err
	}
	return store.Result{Changes: plan.Changes(winners), Root: root}, nil
}

const sqlLockExisting = `SELECT id, version, deleted, payload_sum, leaf_hash
FROM sync_items WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`

func lockExisting(ctx context.Context, tx pgx.Tx, ids []string) (map[string]plan.Existing, error) {
	rs, err := tx.Query(ctx, sqlLockExisting, ids)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make(map[string]plan.Existing, len(ids))
	for rs.Next() {
		var (
			id       string
			version  int64
			deleted  bool
			sum, lf  []byte
			existing plan.Existing
		)
		if err := rs.Scan(&id, &version, &deleted, &sum, &lf); err != nil {
			return nil, err
		}
		existing.Stamp = store.Stamp{Version: uint64(version), Deleted: deleted}
		copy(existing.Stamp.PayloadSum[:], sum)
		if !deleted && len(lf) == merkle.Size {
			copy(existing.Leaf[:], lf)
		}
		out[id] = existing
	}
	return out, rs.Err()
}

// readBatch consumes the results queued by queueRows, queueEdges and the
// root query, in that order.
func (s *Store) readBatch(br pgx.BatchResults, nIns, nUpd int, edges bool) (merkle.Hash, []merkle.Edge, error) {
	var root merkle.Hash
	if err := s.readRows(br, nIns, nUpd); err != nil {
		return root, nil, err
	}
	var zero []merkle.Edge
	if edges {
		rs, err := br.Query()
		if err != nil {
			return root, nil, err
		}
		for rs.Next() {
			var e merkle.Edge
			if err := rs.Scan(&e.Parent, &e.Child); err != nil {
				rs.Close()
				return root, nil, err
			}
			zero = append(zero, e)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return root, nil, err
		}
	}
	rs, err := br.Query()
	if err != nil {
		return root, nil, err
	}
	root, err = sumLanes(rs)
	return root, zero, err
}

// sumLanes adds up rows of 8 lanes.
func sumLanes(rs pgx.Rows) (merkle.Hash, error) {
	defer rs.Close()
	var root merkle.Hash
	for rs.Next() {
		var l [merkle.Lanes]int64
		if err := rs.Scan(&l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &l[6], &l[7]); err != nil {
			return root, err
		}
		root = root.Add(plan.JoinLanes(l))
	}
	return root, rs.Err()
}

// checkCount compares a statement's row count with what the locked read
// predicted.
func checkCount(what string, got int64, want int) error {
	if got == int64(want) {
		return nil
	}
	if what == "insert" {
		return errRaced
	}
	return fmt.Errorf("storepg: %s touched %d rows, expected %d", what, got, want)
}
