package wal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/wal"
)

func TestNamesDefaultPrefix(t *testing.T) {
	t.Parallel()
	n := wal.DefaultConfig().Names()
	require.Equal(t, "sync", n.Prefix())
	require.Equal(t, 16, n.Partitions())
	require.Equal(t, "SYNC_WAL", n.WALStream())
	require.Equal(t, "sync.wal.*", n.WALSubjects())
	require.Equal(t, "sync.wal.7", n.WALSubject(7))
	require.Equal(t, "SYNC_DLQ", n.DLQStream())
	require.Equal(t, "sync.dlq.*", n.DLQSubjects())
	require.Equal(t, "sync.dlq.invalid_id", n.DLQSubject("invalid_id"))
	require.Equal(t, "SYNC_COMMITS", n.CommitsStream())
	require.Equal(t, "sync.commits", n.CommitsSubject())
	require.Equal(t, "SYNC_FILTERS", n.FiltersBucket())
	require.Equal(t, "SYNC_LEASES", n.LeasesBucket())
	require.Equal(t, "writers", n.Consumer())
	require.Equal(t, "sync.put.a.b", n.APISubject(wal.VerbPut, "a.b"))
	require.Equal(t, "sync.exists.", n.APIPrefix(wal.VerbExists))
}

func TestNamesCustomPrefix(t *testing.T) {
	t.Parallel()
	n := wal.NewNames("acme-2", 4)
	require.Equal(t, "ACME-2_WAL", n.WALStream())
	require.Equal(t, "acme-2.wal.*", n.WALSubjects())
	require.Panics(t, func() { wal.NewNames("a.b", 4) })
	require.Panics(t, func() { wal.NewNames("a", 0) })
}

func TestValidatePrefix(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"sync", "S_1-x", strings.Repeat("p", wal.MaxPrefixLen)} {
		require.NoError(t, wal.ValidatePrefix(ok), ok)
	}
	for _, bad := range []string{"", "a.b", "a b", "a*", "a>", "é", strings.Repeat("p", wal.MaxPrefixLen+1)} {
		require.Error(t, wal.ValidatePrefix(bad), bad)
	}
}

func TestPartitionIsFNV1a32(t *testing.T) {
	t.Parallel()
	// FNV-1a-32 reference values: "" = 0x811c9dc5, "a" = 0xe40c292c,
	// "foobar" = 0xbf9cf968.
	require.Equal(t, int(uint32(0x811c9dc5)%16), wal.Partition("", 16))
	require.Equal(t, int(uint32(0xe40c292c)%16), wal.Partition("a", 16))
	require.Equal(t, int(uint32(0xbf9cf968)%1000), wal.Partition("foobar", 1000))
	for i := 0; i < 1000; i++ {
		p := wal.Partition(strings.Repeat("x", i), 7)
		require.GreaterOrEqual(t, p, 0)
		require.Less(t, p, 7)
	}
}

func TestSanitizeReason(t *testing.T) {
	t.Parallel()
	require.Equal(t, "invalid_id", wal.SanitizeReason("invalid_id"))
	require.Equal(t, "unknown", wal.SanitizeReason(""))
	require.Equal(t, "bad_reason__x", wal.SanitizeReason("Bad.reason *x"))
	require.Len(t, wal.SanitizeReason(strings.Repeat("a", 100)), 64)
}

func TestConfigDefaultsAndValidate(t *testing.T) {
	t.Parallel()
	c := wal.DefaultConfig()
	require.NoError(t, c.Validate())
	require.Equal(t, 2*time.Minute, c.DuplicateWindow)
	require.EqualValues(t, -1, c.MaxMsgs)
	require.EqualValues(t, -1, c.MaxDeliver)
	require.Equal(t, 1<<20, c.MaxPayload)
	require.NoError(t, wal.Config{}.Validate())

	bad := []wal.Config{
		{Prefix: "a.b"},
		{Partitions: -1},
		{Replicas: 7},
		{MaxMsgs: -5},
		{MaxPayload: -1},
		{AckWait: -time.Second},
		{BackOff: []time.Duration{0}},
		{BackOff: []time.Duration{time.Second, time.Second}, MaxDeliver: 2},
	}
	for i, c := range bad {
		require.Error(t, c.Validate(), "case %d", i)
	}
}

func TestSupportsAtomicPublish(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"2.12.0": true, "2.15.2": true, "v2.12.1-beta": true, "3.0.0": true,
		"2.11.9": false, "2.9": false, "": false, "x.y": false} {
		require.Equal(t, want, wal.SupportsAtomicPublish(v), v)
	}
}
