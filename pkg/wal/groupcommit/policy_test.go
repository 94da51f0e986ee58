package groupcommit

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/synadia-io/orbit.go/jetstreamext"
	"github.com/syncline/syncline/pkg/item"
)

func TestPolicyDecide(t *testing.T) {
	t.Parallel()
	p := policy{maxWrites: 10, maxBytes: 1000, maxInFlight: 2, maxDelay: 2 * time.Millisecond}
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name      string
		s         queueState
		sinceAck  time.Duration // now - lastAt
		oldestAge time.Duration // now - oldest
		cut       bool
		wait      time.Duration
	}{
		{name: "nothing queued", s: queueState{}},
		{name: "idle: a lone writer goes at once", s: queueState{n: 1, bytes: 10, expect: 1}, sinceAck: 100 * time.Microsecond, cut: true},
		{name: "idle, first write ever: goes at once", s: queueState{n: 1, bytes: 10}, sinceAck: time.Since(time.Time{}), cut: true},
		{name: "idle: the expected writers are back", s: queueState{n: 7, bytes: 70, expect: 7}, sinceAck: 300 * time.Microsecond, cut: true},
		{name: "idle right after an ack: wait for the writers it released", s: queueState{n: 3, bytes: 30, expect: 8},
			sinceAck: 500 * time.Microsecond, oldestAge: 20 * time.Millisecond, wait: 1500 * time.Microsecond},
		{name: "idle: never more than max delay after the ack", s: queueState{n: 3, bytes: 30, expect: 8},
			sinceAck: 2 * time.Millisecond, cut: true},
		{name: "idle long after a big group: a new write goes at once", s: queueState{n: 1, bytes: 10, expect: 8}, sinceAck: time.Hour, cut: true},
		{name: "idle: count bound beats expectation", s: queueState{n: 10, bytes: 100, expect: 50}, cut: true},
		{name: "idle: byte bound beats expectation", s: queueState{n: 2, bytes: 1000, expect: 50}, cut: true},
		{name: "in flight: young queue waits out max delay", s: queueState{n: 3, bytes: 30, inflight: 1},
			oldestAge: 500 * time.Microsecond, wait: 1500 * time.Microsecond},
		{name: "in flight: max delay reached", s: queueState{n: 3, bytes: 30, inflight: 1}, oldestAge: 2 * time.Millisecond, cut: true},
		{name: "in flight: count reached", s: queueState{n: 10, bytes: 100, inflight: 1}, cut: true},
		{name: "in flight: bytes reached", s: queueState{n: 2, bytes: 1000, inflight: 1}, cut: true},
		{name: "all slots busy: wait for an ack, however full", s: queueState{n: 50, bytes: 5000, inflight: 2}, oldestAge: time.Second},
	} {
		now := t0
		tc.s.lastAt = now.Add(-tc.sinceAck)
		tc.s.oldest = now.Add(-tc.oldestAge)
		cut, wait := p.decide(tc.s, now)
		require.Equal(t, tc.cut, cut, tc.name)
		require.Equal(t, tc.wait, wait, tc.name)
	}

	// With one group in flight at most, the next group is cut when the
	// previous one is acked (classic group commit), however old the queue.
	one := policy{maxWrites: 10, maxBytes: 1000, maxInFlight: 1, maxDelay: time.Millisecond}
	cut, wait := one.decide(queueState{n: 3, bytes: 30, oldest: t0, inflight: 1}, t0.Add(time.Hour))
	require.False(t, cut)
	require.Zero(t, wait)
}

func TestPolicyTake(t *testing.T) {
	t.Parallel()
	p := policy{maxWrites: 4, maxBytes: 100}
	require.Equal(t, 1, p.take([]int{10}))
	require.Equal(t, 4, p.take([]int{10, 10, 10, 10, 10, 10}), "count bound")
	require.Equal(t, 2, p.take([]int{40, 60, 1}), "bytes bound is inclusive")
	require.Equal(t, 2, p.take([]int{40, 50, 20}), "bytes bound")
	require.Equal(t, 1, p.take([]int{500, 10}), "an oversized first write goes alone")
	require.Equal(t, 0, p.take(nil))
}

func TestQueuePopSkipsAbandonedWrites(t *testing.T) {
	t.Parallel()
	p := policy{maxWrites: 3, maxBytes: 1 << 20}
	var q queue
	ws := make([]*write, 5)
	for i := range ws {
		ws[i] = &write{size: 10, done: make(chan result, 1)}
		q.push(ws[i], time.Time{})
	}
	ws[1].state.Store(writeAbandoned)
	b := q.pop(p)
	require.Equal(t, []*write{ws[0], ws[2]}, b)
	require.Equal(t, writeTaken, ws[0].state.Load())
	require.Len(t, q.writes, 2)
	require.Equal(t, 20, q.bytes)
}

func TestSubjectMatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subject, filter string
		ok              bool
	}{
		{"t.wal.1", "t.wal.*", true},
		{"t.wal.1", "t.wal.1", true},
		{"t.wal.1", "t.wal.2", false},
		{"t.wal.1.x", "t.wal.*", false},
		{"t.wal", "t.wal.*", false},
		{"t.wal.1.x", "t.wal.>", true},
		{"t.wal", "t.wal.>", false},
		{"t.wal.1", ">", true},
		{"t.wal.1", "*.wal.*", true},
		{"s.wal.1", "t.>", false},
	} {
		require.Equal(t, tc.ok, subjectMatches(tc.subject, tc.filter), "%s ~ %s", tc.subject, tc.filter)
	}
}

func TestServerVersions(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{
		"2.12.0": true, "2.12.0-beta.1": true, "2.15.2": true, "3.0.0": true, "v2.13.1": true,
		"2.11.9": false, "2.9.0": false, "1.99.0": false, "": false, "garbage": false,
	} {
		require.Equal(t, ok, serverAtLeast(v, 2, 12), v)
	}
	require.Contains(t, atomicUnsupported("2.11.4", true), "older than 2.12")
	require.Contains(t, atomicUnsupported("2.12.1", false), "AllowAtomicPublish")
	require.Empty(t, atomicUnsupported("2.12.1", true))
	require.Empty(t, atomicUnsupported("", true), "not connected right now: the next batch checks again")
}

// The size reserved for batch headers covers what jetstreamext adds at the
// largest batch sequence.
func TestBatchHeaderOverhead(t *testing.T) {
	t.Parallel()
	h := nats.Header{"Sync-Id": {"a.b"}}
	with := nats.Header{"Sync-Id": {"a.b"}}
	with.Set(jetstreamext.BatchIDHeader, "OK9Bqmd3mOLmTbJ1dkFGCr") // a nuid: 22 characters
	with.Set(jetstreamext.BatchSeqHeader, fmt.Sprint(ServerMaxBatchWrites))
	with.Set(jetstreamext.BatchCommitHeader, "1")
	require.LessOrEqual(t, headerLen(with)-headerLen(h), batchHeaderOverhead)
	require.Equal(t, len("NATS/1.0\r\nSync-Id: a.b\r\n\r\n"), headerLen(h))
	require.Zero(t, headerLen(nil))
}

func TestHasJetStreamHeader(t *testing.T) {
	t.Parallel()
	require.False(t, hasJetStreamHeader(nats.Header{"Sync-Id": {"x"}, "Content-Type": {"a"}}))
	require.True(t, hasJetStreamHeader(nats.Header{jetstream.MsgIDHeader: {"x"}}))
	require.True(t, hasJetStreamHeader(nats.Header{"nats-expected-last-sequence": {"1"}}))
}

func TestClassify(t *testing.T) {
	t.Parallel()
	api := func(code jetstream.ErrorCode, status int, desc string) error {
		return fmt.Errorf("wrapped: %w", &jetstream.APIError{ErrorCode: code, Code: status, Description: desc})
	}
	for _, tc := range []struct {
		name string
		err  error
		sent bool
		want verdict
	}{
		{"stream full", api(errCodeStoreFailed, 503, "maximum messages exceeded"), true, rejected},
		{"stream bytes full", api(errCodeStoreFailed, 503, "maximum bytes exceeded"), true, rejected},
		{"store closed mid-commit", api(errCodeStoreFailed, 503, "store closed"), true, unknown},
		{"too large", api(errCodeMessageTooLarge, 400, "message size exceeds maximum allowed"), true, rejected},
		{"atomic disabled", api(errCodeAtomicDisabled, 400, "atomic publish is disabled"), true, rejected},
		{"too many batches", api(errCodeAtomicTooManyOpen, 429, "too many"), true, transient},
		{"incomplete", api(errCodeBatchIncomplete, 400, "incomplete"), true, transient},
		{"no responders", nats.ErrNoResponders, true, transient},
		{"no stream response", jetstream.ErrNoStreamResponse, true, transient},
		{"timeout after send", nats.ErrTimeout, true, unknown},
		{"disconnected after send", nats.ErrDisconnected, true, unknown},
		{"closed before send", nats.ErrConnectionClosed, false, transient},
	} {
		require.Equal(t, tc.want, classify(tc.err, tc.sent), tc.name)
	}
}

func TestItemErrors(t *testing.T) {
	t.Parallel()
	c := &Committer{cfg: Config{RetryAfter: 1500 * time.Millisecond}}
	full := &jetstream.APIError{ErrorCode: errCodeStoreFailed, Code: 503, Description: "maximum messages exceeded"}
	e := c.toItemError(full, rejected)
	require.Equal(t, item.CodeUnavailable, e.Code)
	require.Equal(t, 2, e.RetryAfterSeconds)
	require.ErrorIs(t, e, full)

	e = c.toItemError(&jetstream.APIError{ErrorCode: errCodeMessageTooLarge, Code: 400}, rejected)
	require.Equal(t, item.CodePayloadTooLarge, e.Code)

	e = c.toItemError(nats.ErrTimeout, unknown)
	require.Equal(t, item.CodeUnavailable, e.Code)
	require.ErrorIs(t, e, ErrOutcomeUnknown)
	require.ErrorIs(t, e, nats.ErrTimeout)

	e = c.toItemError(&jetstream.APIError{ErrorCode: 10071, Code: 400, Description: "wrong last sequence"}, rejected)
	require.Equal(t, item.CodeInternal, e.Code)
	require.False(t, errors.Is(e, ErrOutcomeUnknown))
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, Config{Stream: "S"}.Validate())
	d := Config{Stream: "S"}.withDefaults()
	require.NoError(t, d.Validate())
	require.Equal(t, DurabilityReplicated, d.Durability)
	require.Equal(t, ModeBatch, d.Mode)
	require.Equal(t, DefaultMaxBatchWrites, d.MaxBatchWrites)
	for _, bad := range []Config{
		{},
		{Stream: "S", Durability: "eventually"},
		{Stream: "S", Mode: "turbo"},
		{Stream: "S", MaxBatchWrites: ServerMaxBatchWrites + 1},
		{Stream: "S", MaxBatchBytes: -1},
		{Stream: "S", MaxDelay: -time.Second},
		{Stream: "S", MaxInFlight: 33},
		{Stream: "S", AckTimeout: -1},
	} {
		require.Error(t, bad.Validate(), "%+v", bad)
	}
}
