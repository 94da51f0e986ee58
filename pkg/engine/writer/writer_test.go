package writer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/merkle"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

func fast() writer.Config {
	return writer.Config{BatchSize: 100, FetchWait: 20 * time.Millisecond, BreakerMin: 20 * time.Millisecond,
		BreakerMax: 200 * time.Millisecond, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		InProgressEvery: 200 * time.Millisecond, PendingInterval: 50 * time.Millisecond}
}

func TestDrainsIntoSQL(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, backend, wal.Config{Prefix: "drain"}, store.Config{})
			ws := []wal.Write{
				{ID: "t.a", Op: wal.OpPut, Version: 3, Payload: []byte(`{"x":1}`), State: "open", CacheTTL: time.Minute},
				{ID: "t.b", Op: wal.OpPut, Payload: []byte("unversioned")},
				{ID: "t.a", Op: wal.OpPut, Version: 2, Payload: []byte("older")},
				{ID: "t.c", Op: wal.OpDel, Version: 5},
				{ID: "t.b", Op: wal.OpPut, Payload: []byte("later seq wins")},
			}
			seqs := e.publish(ws...)
			r := e.start(fast(), nil, nil)
			e.waitDrained(20 * time.Second)
			e.requireTable(want(ws, seqs))

			it, err := e.sql.Get(ctxT(t), "t.a")
			require.NoError(t, err)
			require.Equal(t, "application/json", it.ContentType)
			require.Equal(t, "open", it.State)
			require.Equal(t, time.Minute, it.CacheTTL)

			recs := e.commits()
			require.NotEmpty(t, recs)
			root, err := e.sql.Root(ctxT(t))
			require.NoError(t, err)
			require.Equal(t, root.String(), recs[len(recs)-1].Root, "the last record carries the SQL root")
			seen := map[string]wal.CommitChange{}
			for _, rec := range recs {
				for _, c := range rec.Changes {
					seen[c.ID] = c
				}
			}
			require.True(t, seen["t.c"].Deleted)
			require.Empty(t, seen["t.c"].Leaf)
			require.Equal(t, merkle.LeafOf("t.a", 3, []byte(`{"x":1}`)).String(), seen["t.a"].Leaf)
			require.Equal(t, "open", seen["t.a"].State)
			require.EqualValues(t, 60, seen["t.a"].CacheTTL)

			checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
				if s := r.stage.State(); s != lifecycle.Running {
					return fmt.Errorf("stage %s", s)
				}
				return nil
			})
			require.Equal(t, 5.0, counter(t, r.reg, "syncline_writer_rows_total"))
			require.Equal(t, 0.0, counter(t, r.reg, "syncline_writer_circuit_state"))
			require.Positive(t, counter(t, r.reg, "syncline_writer_commit_duration_seconds"))
			checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
				if v := counter(t, r.reg, "syncline_wal_pending"); v != 0 {
					return fmt.Errorf("pending gauge %v", v)
				}
				return nil
			})
		})
	}
}

// randomWAL makes n writes over a small id space with random versions
// (a quarter unversioned), duplicates and deletes.
func randomWAL(r *rand.Rand, n int) []wal.Write {
	out := make([]wal.Write, n)
	for i := range out {
		id := fmt.Sprintf("u%d.o%d", r.IntN(8), r.IntN(40))
		v := uint64(r.IntN(6))
		if r.IntN(6) == 0 {
			out[i] = wal.Write{ID: id, Op: wal.OpDel, Version: v}
		} else {
			out[i] = wal.Write{ID: id, Op: wal.OpPut, Version: v, Payload: fmt.Appendf(nil, "p%d", r.IntN(3))}
		}
		if r.IntN(10) == 0 && i > 0 {
			out[i] = out[i-1] // an exact duplicate
		}
	}
	return out
}

// Three writers on one consumer, with injected failures after commit (the
// commit stands, the ack is never sent: a crash between commit and ack) and
// before commit (an outage), converge on the exact LWW table and root.
func TestThreeWritersConverge(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, backend, wal.Config{Prefix: "three", AckWait: 2 * time.Second}, store.Config{})
			ws := randomWAL(rand.New(rand.NewPCG(7, 8)), 1500)
			var seqs []uint64
			for i := 0; i < len(ws); i += 100 {
				seqs = append(seqs, e.publish(ws[i:min(i+100, len(ws))]...)...)
			}
			var afterCommit, outages atomic.Int64
			var writers []*running
			for i := range 3 {
				r := rand.New(rand.NewPCG(uint64(i), 99))
				var mu atomicRand
				mu.r = r
				sink := sinkFunc{Backend: e.sql, apply: func(ctx context.Context, batch []store.Write) (store.Result, error) {
					switch mu.intN(8) {
					case 0:
						outages.Add(1)
						return store.Result{}, store.Unavailable(errInjected)
					case 1:
						res, err := e.sql.ApplyBatch(ctx, batch)
						if err == nil {
							afterCommit.Add(1)
							return store.Result{}, errInjected // committed, never acknowledged
						}
						return res, err
					}
					return e.sql.ApplyBatch(ctx, batch)
				}}
				cfg := fast()
				cfg.BatchSize = 37 + 20*i
				cfg.MaxDeliver = 1000
				writers = append(writers, e.start(cfg, sink, nil))
			}
			e.waitDrained(60 * time.Second)
			e.requireTable(want(ws, seqs))
			require.Empty(t, e.dlq())
			require.Positive(t, afterCommit.Load())
			require.Positive(t, outages.Load())
			redelivered := 0.0
			for _, w := range writers {
				redelivered += counter(t, w.reg, "syncline_writer_redeliveries_total")
			}
			require.Positive(t, redelivered)
		})
	}
}

// A writer that committed and died before acknowledging: the redelivered
// messages are no-ops.
func TestCommitThenCrashRedeliveryIsNoOp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "postgres", wal.Config{Prefix: "crash", AckWait: time.Second}, store.Config{})
	ws := randomWAL(rand.New(rand.NewPCG(1, 1)), 200)
	seqs := e.publish(ws...)

	// The doomed writer: fetch, commit, drop without acking.
	c, err := wal.NewConsumer(ctxT(t), e.js, e.wal)
	require.NoError(t, err)
	msgs, err := c.Fetch(ctxT(t), 500, 0, time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, len(ws))
	batch := make([]store.Write, len(msgs))
	for i, m := range msgs {
		w, err := m.Write(0)
		require.NoError(t, err)
		op := store.OpPut
		if w.Op == wal.OpDel {
			op = store.OpDelete
		}
		batch[i] = store.Write{Seq: m.Seq, ID: w.ID, Op: op, Version: w.Version, Payload: w.Payload, ContentType: w.ContentType}
	}
	res, err := e.sql.ApplyBatch(ctxT(t), batch)
	require.NoError(t, err)
	e.requireTable(want(ws, seqs))

	r := e.start(fast(), nil, nil)
	e.waitDrained(20 * time.Second)
	e.requireTable(want(ws, seqs))
	root, err := e.sql.Root(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, res.Root, root)
	require.Equal(t, float64(len(ws)), counter(t, r.reg, "syncline_writer_rows_total", "outcome", "unchanged"))
	require.Equal(t, 0.0, counter(t, r.reg, "syncline_writer_rows_total", "outcome", "changed"))
	require.Equal(t, float64(len(ws)), counter(t, r.reg, "syncline_writer_redeliveries_total"))
	// The feed record the crashed writer never published is repaired: every
	// redelivered id is announced again with its current SQL state.
	announced := map[string]bool{}
	for _, r := range e.commits() {
		for _, c := range r.Changes {
			announced[c.ID] = true
		}
	}
	for _, w := range ws {
		require.True(t, announced[w.ID], "redelivered %s is announced again", w.ID)
	}
}

func TestPoisonMessagesReachDLQ(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, backend, wal.Config{Prefix: "poison"}, store.Config{})
			good := []wal.Write{
				{ID: "g.1", Op: wal.OpPut, Version: 1, Payload: []byte("a")},
				{ID: "g.2", Op: wal.OpPut, Version: 1, Payload: []byte("b")},
				{ID: "g.rejected", Op: wal.OpPut, Version: 1, Payload: []byte("SQL says no")},
				{ID: "g.3", Op: wal.OpDel, Version: 1},
				{ID: "g.4", Op: wal.OpPut, Version: 1, Payload: []byte("d")},
			}
			subj := e.names.WALSubject(0)
			hdr := func(kv ...string) nats.Header {
				h := nats.Header{}
				for i := 0; i < len(kv); i += 2 {
					h.Set(kv[i], kv[i+1])
				}
				return h
			}
			var seqs []uint64
			seqs = append(seqs, e.publish(good[0])...)
			bad1 := e.publishRaw(subj, hdr(wal.HeaderOp, "put"), []byte("no id"))
			seqs = append(seqs, e.publish(good[1])...)
			bad2 := e.publishRaw(subj, hdr(wal.HeaderID, "x.y", wal.HeaderOp, "put", wal.HeaderVersion, "0"), []byte("v0"))
			bad3 := e.publishRaw(subj, hdr(wal.HeaderID, "x.z", wal.HeaderOp, "put", wal.HeaderContentType, "application/json"), []byte("{not json"))
			seqs = append(seqs, e.publish(good[2:]...)...)

			// SQL rejects g.rejected without naming the row: the writer
			// bisects down to it.
			sink := sinkFunc{Backend: e.sql, apply: func(ctx context.Context, ws []store.Write) (store.Result, error) {
				for _, w := range ws {
					if w.ID == "g.rejected" {
						return store.Result{}, &store.RowError{Index: -1, Err: errInjected}
					}
				}
				return e.sql.ApplyBatch(ctx, ws)
			}}
			r := e.start(fast(), sink, nil)
			e.waitDrained(20 * time.Second)
			w := want(good, seqs)
			delete(w, "g.rejected")
			e.requireTable(w)

			dead := e.dlq()
			require.Len(t, dead, 4)
			reasons := map[string]string{}
			for _, m := range dead {
				reasons[m.Headers().Get(wal.HeaderDLQSeq)] = m.Headers().Get(wal.HeaderDLQReason)
			}
			require.Equal(t, map[string]string{
				fmt.Sprint(bad1):    "invalid_id",
				fmt.Sprint(bad2):    "invalid_version",
				fmt.Sprint(bad3):    "invalid_json",
				fmt.Sprint(seqs[2]): writer.ReasonRejected,
			}, reasons)
			require.Equal(t, 1.0, counter(t, r.reg, "syncline_writer_dlq_total", "reason", "invalid_id"))
			require.Equal(t, 1.0, counter(t, r.reg, "syncline_writer_dlq_total", "reason", writer.ReasonRejected))
			info := e.consumerInfo()
			require.Zero(t, info.NumAckPending)
		})
	}
}

// A row that fails every time (not an outage, not a rejection) is retried
// with NakWithDelay up to MaxDeliver and then dead-lettered alone; its
// batch mates commit.
func TestRepeatedFailureDeadLettersOnlyTheCulprit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", wal.Config{Prefix: "repeat"}, store.Config{})
	ws := []wal.Write{
		{ID: "r.1", Op: wal.OpPut, Version: 1, Payload: []byte("a")},
		{ID: "r.bad", Op: wal.OpPut, Version: 1, Payload: []byte("b")},
		{ID: "r.2", Op: wal.OpPut, Version: 1, Payload: []byte("c")},
	}
	seqs := e.publish(ws...)
	var calls atomic.Int64
	sink := sinkFunc{Backend: e.sql, apply: func(ctx context.Context, batch []store.Write) (store.Result, error) {
		calls.Add(1)
		for _, w := range batch {
			if w.ID == "r.bad" {
				return store.Result{}, errInjected
			}
		}
		return e.sql.ApplyBatch(ctx, batch)
	}}
	cfg := fast()
	cfg.MaxDeliver = 3
	r := e.start(cfg, sink, nil)
	e.waitDrained(20 * time.Second)
	w := want(ws, seqs)
	delete(w, "r.bad")
	e.requireTable(w)
	dead := e.dlq()
	require.Len(t, dead, 1)
	require.Equal(t, writer.ReasonApplyFailed, dead[0].Headers().Get(wal.HeaderDLQReason))
	require.Equal(t, fmt.Sprint(seqs[1]), dead[0].Headers().Get(wal.HeaderDLQSeq))
	require.GreaterOrEqual(t, counter(t, r.reg, "syncline_writer_redeliveries_total"), 2.0, "r.bad was delivered MaxDeliver times")
}

// SQL goes away: the writer holds its batch, keeps it alive with
// InProgress (no redelivery, no delivery counted), stops fetching, acks
// nothing; when SQL is back it commits everything.
func TestOutageHoldsBatchUntilRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "postgres", wal.Config{Prefix: "outage", AckWait: time.Second}, store.Config{})
	cfg := fast()
	cfg.BatchSize = 50
	cfg.InProgressEvery = 200 * time.Millisecond
	r := e.start(cfg, nil, nil)
	e.proxy.Down()
	ws := randomWAL(rand.New(rand.NewPCG(3, 3)), 300)
	seqs := e.publish(ws...)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if v := counter(t, r.reg, "syncline_writer_circuit_state"); v == 0 {
			return fmt.Errorf("circuit %v", v)
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	before := e.consumerInfo().NumAckPending
	require.LessOrEqual(t, before, 2*50, "at most one batch per loop is held")
	time.Sleep(3 * time.Second) // three AckWaits: held messages must not be redelivered
	info := e.consumerInfo()
	require.Equal(t, before, info.NumAckPending, "nothing more fetched while the circuit is open")
	require.Zero(t, info.NumRedelivered)
	require.Equal(t, 0.0, counter(t, r.reg, "syncline_writer_redeliveries_total"))
	require.Equal(t, 0.0, counter(t, r.reg, "syncline_writer_rows_total"))

	e.proxy.Up()
	e.waitDrained(30 * time.Second)
	e.requireTable(want(ws, seqs))
	require.Equal(t, 0.0, counter(t, r.reg, "syncline_writer_circuit_state"))
	require.Equal(t, 0.0, counter(t, r.reg, "syncline_writer_redeliveries_total"))
	require.Empty(t, e.dlq())
}

// Stopping during an outage hands the held batch back promptly.
func TestStopDuringOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "postgres", wal.Config{Prefix: "stop"}, store.Config{})
	r := e.start(fast(), nil, nil)
	e.proxy.Down()
	e.publish(wal.Write{ID: "s.1", Op: wal.OpPut, Version: 1, Payload: []byte("x")})
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if v := counter(t, r.reg, "syncline_writer_circuit_state"); v == 0 {
			return fmt.Errorf("circuit %v", v)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, r.Stop(ctx))
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, lifecycle.ShuttingDown, r.stage.State())
	e.proxy.Up()
	e.start(fast(), nil, nil)
	e.waitDrained(20 * time.Second)
	_, err := e.sql.Get(ctxT(t), "s.1")
	require.NoError(t, err)
}

func TestTombstoneGC(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)}
	e := newEnv(t, "sqlite", wal.Config{Prefix: "gc"}, store.Config{Now: clk.Now})
	e.publish(
		wal.Write{ID: "d.1", Op: wal.OpDel, Version: 1},
		wal.Write{ID: "d.2", Op: wal.OpPut, Version: 1, Payload: []byte("x")},
		wal.Write{ID: "d.2", Op: wal.OpDel, Version: 2},
		wal.Write{ID: "live", Op: wal.OpPut, Version: 1, Payload: []byte("y")},
	)
	cfg := fast()
	cfg.GCInterval = 20 * time.Millisecond
	cfg.TombstoneRetention = time.Hour
	r := e.start(cfg, nil, clk.Now)
	e.waitDrained(20 * time.Second)
	n, err := r.GC(ctxT(t))
	require.NoError(t, err)
	require.Zero(t, n, "within the retention")
	clk.add(61 * time.Minute)
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if v := counter(t, r.reg, "syncline_writer_tombstones_collected_total"); v != 2 {
			return fmt.Errorf("collected %v", v)
		}
		return nil
	})
	rows, err := e.sql.Scan(ctxT(t), "", 10)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "live", rows[0].ID)
}

// atomicRand is a rand shared by concurrent callers.
type atomicRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (a *atomicRand) intN(n int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.r.IntN(n)
}
