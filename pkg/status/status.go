// Package status gathers `syncline status`: every process's lifecycle
// states (over the syncline-stage micro service), WAL lag, DLQ depth, the
// SQL and Redis merkle roots, the filter snapshot and the reconciler leader,
// from NATS alone, so an operator needs no SQL or Redis credentials.
//
// The top-level JSON field names wal_pending, dlq_messages, sql_root,
// redis_root, in_sync, filter_entries, filter_trusted and leader are part of
// the contract (DESIGN.md §5).
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/syncline/syncline/pkg/engine/reconciler"
	"github.com/syncline/syncline/pkg/engine/stagesvc"
	"github.com/syncline/syncline/pkg/wal"
)

// Status is the whole report.
type Status struct {
	// WALPending counts WAL messages not yet committed to SQL: not yet
	// delivered plus delivered but unacknowledged.
	WALPending uint64 `json:"wal_pending"`
	// DLQMessages is the dead-letter stream's depth.
	DLQMessages uint64 `json:"dlq_messages"`
	// SQLRoot is the SQL merkle root (hex); empty when unknown.
	SQLRoot string `json:"sql_root"`
	// RedisRoot is the Redis merkle root; empty when there is no Redis tier.
	RedisRoot string `json:"redis_root"`
	// InSync is true when both roots are known and equal; null when Redis
	// is not in use or no reconciler answered.
	InSync *bool `json:"in_sync"`
	// FilterEntries and FilterTrusted describe the latest filter snapshot;
	// trusted means its root equals the current SQL root.
	FilterEntries uint64 `json:"filter_entries"`
	FilterTrusted bool   `json:"filter_trusted"`
	// Leader is the active reconciler's holder id; empty when none.
	Leader string `json:"leader"`

	WALLastSeq  uint64 `json:"wal_last_seq"`
	AckFloor    uint64 `json:"writers_ack_floor"`
	WALReplicas int    `json:"wal_replicas"`
	// Durability is what ingest's acknowledgements mean (replicated,
	// fsync or lazy; docs/guarantees.md), as the ingest processes report.
	Durability string            `json:"durability"`
	Processes  []stagesvc.Report `json:"processes"`
	Errors     []string          `json:"errors,omitempty"`
}

// Options tune the gathering.
type Options struct {
	// Wait is how long to collect replies from processes. Default 500ms.
	Wait time.Duration
}

// Gather builds the report. Parts that cannot be read are listed in
// Errors; Gather fails only when JetStream itself does not answer.
func Gather(ctx context.Context, nc *nats.Conn, names wal.Names, o Options) (Status, error) {
	if o.Wait == 0 {
		o.Wait = 500 * time.Millisecond
	}
	var st Status
	js, err := jetstream.New(nc)
	if err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	fail := func(what string, err error) { st.Errors = append(st.Errors, fmt.Sprintf("%s: %v", what, err)) }

	walStream, err := js.Stream(ctx, names.WALStream())
	if err != nil {
		return st, fmt.Errorf("status: WAL stream %s: %w", names.WALStream(), err)
	}
	if si, err := walStream.Info(ctx); err == nil {
		st.WALLastSeq = si.State.LastSeq
		st.WALReplicas = si.Config.Replicas
	}
	if c, err := walStream.Consumer(ctx, names.Consumer()); err != nil {
		fail("writers consumer", err)
	} else if ci, err := c.Info(ctx); err != nil {
		fail("writers consumer", err)
	} else {
		st.WALPending = ci.NumPending + uint64(ci.NumAckPending)
		st.AckFloor = ci.AckFloor.Stream
	}
	if s, err := js.Stream(ctx, names.DLQStream()); err != nil {
		fail("DLQ stream", err)
	} else if si, err := s.Info(ctx); err == nil {
		st.DLQMessages = si.State.Msgs
	}
	st.SQLRoot = lastCommitRoot(ctx, js, names, fail)
	st.Leader = leader(ctx, js, names, fail)
	if st.Leader != "" {
		verifyRoots(ctx, nc, names, &st, fail)
	}
	filter(ctx, js, names, &st, fail)
	st.Processes = processes(ctx, nc, o.Wait, fail)
	for _, p := range st.Processes {
		if p.Durability != "" {
			st.Durability = p.Durability
			break
		}
	}
	return st, nil
}

// lastCommitRoot reads the SQL root from the latest commit record.
func lastCommitRoot(ctx context.Context, js jetstream.JetStream, names wal.Names, fail func(string, error)) string {
	s, err := js.Stream(ctx, names.CommitsStream())
	if err != nil {
		fail("commit feed", err)
		return ""
	}
	m, err := s.GetLastMsgForSubject(ctx, names.CommitsSubject())
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return ""
	}
	if err != nil {
		fail("commit feed", err)
		return ""
	}
	rec, err := wal.DecodeCommit(m.Data)
	if err != nil {
		fail("commit feed", err)
		return ""
	}
	return rec.Root
}

func leader(ctx context.Context, js jetstream.JetStream, names wal.Names, fail func(string, error)) string {
	kv, err := js.KeyValue(ctx, names.LeasesBucket())
	if err != nil {
		fail("leases bucket", err)
		return ""
	}
	e, err := kv.Get(ctx, reconciler.Config{}.WithDefaults().LeaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ""
	}
	if err != nil {
		fail("lease", err)
		return ""
	}
	var v reconciler.LeaseValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		fail("lease", err)
		return ""
	}
	return v.Holder
}

// verifyRoots asks the active reconciler for a (shallow) verify, which
// compares the SQL and Redis roots.
func verifyRoots(ctx context.Context, nc *nats.Conn, names wal.Names, st *Status, fail func(string, error)) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := json.Marshal(reconciler.AdminRequest{})
	m, err := nc.RequestWithContext(rctx, reconciler.VerifySubject(names.Prefix()), body)
	if err != nil {
		fail("reconciler verify", err)
		return
	}
	var rep reconciler.AdminReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		fail("reconciler verify", err)
		return
	}
	if rep.Error != nil {
		fail("reconciler verify", fmt.Errorf("%s: %s", rep.Error.Code, rep.Error.Message))
		return
	}
	st.SQLRoot, st.RedisRoot = rep.SQLRoot, rep.RedisRoot
	in := rep.Report != nil && rep.Report.InSync
	st.InSync = &in
}

func filter(ctx context.Context, js jetstream.JetStream, names wal.Names, st *Status, fail func(string, error)) {
	obs, err := js.ObjectStore(ctx, names.FiltersBucket())
	if err != nil {
		fail("filters bucket", err)
		return
	}
	info, err := obs.GetInfo(ctx, reconciler.SnapshotObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return
	}
	if err != nil {
		fail("filter snapshot", err)
		return
	}
	meta, err := reconciler.ParseSnapshotMeta(info.Metadata)
	if err != nil {
		fail("filter snapshot", err)
		return
	}
	st.FilterEntries = meta.Entries
	st.FilterTrusted = st.SQLRoot != "" && meta.Root.String() == st.SQLRoot
}

// processes collects every process's report from the micro stats.
func processes(ctx context.Context, nc *nats.Conn, wait time.Duration, fail func(string, error)) []stagesvc.Report {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		fail("processes", err)
		return nil
	}
	defer func() { _ = sub.Unsubscribe() }()
	subject, _ := micro.ControlSubject(micro.StatsVerb, stagesvc.ServiceName, "")
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		fail("processes", err)
		return nil
	}
	var out []stagesvc.Report
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			break
		}
		m, err := sub.NextMsg(left)
		if err != nil {
			break
		}
		var stats micro.Stats
		if err := json.Unmarshal(m.Data, &stats); err != nil {
			continue
		}
		for _, ep := range stats.Endpoints {
			var r stagesvc.Report
			if json.Unmarshal(ep.Data, &r) == nil && r.Process != "" {
				out = append(out, r)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Process != out[j].Process {
			return out[i].Process < out[j].Process
		}
		return out[i].Instance < out[j].Instance
	})
	return out
}
