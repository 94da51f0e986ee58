package wal_test

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
)

func TestCarryTraceKeepsTheClientsTrace(t *testing.T) {
	t.Parallel()
	in := nats.Header{"traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	out := nats.Header{}
	id := wal.CarryTrace(in, out)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", id)
	require.Equal(t, id, wal.TraceID(out))
}

func TestCarryTraceStartsOneWhenAbsentOrInvalid(t *testing.T) {
	t.Parallel()
	for _, in := range []nats.Header{{}, {"traceparent": {"garbage"}}, {"Traceparent": {"00-00000000000000000000000000000000-0000000000000000-01"}}} {
		out := nats.Header{}
		id := wal.CarryTrace(in, out)
		require.Len(t, id, 32)
		require.NotEqual(t, "00000000000000000000000000000000", id)
		require.Equal(t, id, wal.TraceID(out))
	}
}

func FuzzCarryTrace(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, parent, state string) {
		out := nats.Header{}
		id := wal.CarryTrace(nats.Header{"traceparent": {parent}, "tracestate": {state}}, out)
		if len(id) != 32 || wal.TraceID(out) != id {
			t.Fatalf("trace id %q not carried: %v", id, out)
		}
	})
}
