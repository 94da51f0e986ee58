package procflags_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/internal/procflags"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFlagsWinOverEnvironmentOverDefaults(t *testing.T) {
	t.Parallel()
	e := map[string]string{
		"SYNCLINE_NATS_URL":      "nats://env:4222",
		"SYNCLINE_PREFIX":        "envp",
		"SYNCLINE_WAL_MAX_MSGS":  "500",
		"SYNCLINE_SQL_URL":       "sqlite:/tmp/x.db",
		"SYNCLINE_WAL_REPLICAS":  "3",
		"SYNCLINE_NATS_PASSWORD": "pw",
		"SYNCLINE_NATS_USER":     "u",
	}
	var batch int
	s, err := procflags.Parse("t", []string{"--prefix", "flagp"}, env(e), io.Discard, procflags.NeedSQL|procflags.NeedHTTP, func(f *envflag.Set) {
		f.Int(&batch, "batch", "SYNCLINE_T_BATCH", 7, "")
	})
	require.NoError(t, err)
	require.Equal(t, "flagp", s.WAL.Prefix, "a flag wins over the environment")
	require.Equal(t, "nats://env:4222", s.NATS.URLs, "the environment wins over the default")
	require.EqualValues(t, 500, s.WAL.MaxMsgs)
	require.EqualValues(t, -1, s.WAL.MaxBytes)
	require.Equal(t, 3, s.WAL.Replicas)
	require.Equal(t, 7, batch)
	require.Equal(t, "127.0.0.1:0", s.HTTP.Addr)
}

func TestParseRejectsBadInput(t *testing.T) {
	t.Parallel()
	none := env(nil)
	_, err := procflags.Parse("t", nil, none, io.Discard, procflags.NeedSQL, nil)
	require.Error(t, err, "SQL URL required")
	_, err = procflags.Parse("t", []string{"--sql-url", "mysql://x"}, none, io.Discard, procflags.NeedSQL, nil)
	require.Error(t, err)
	_, err = procflags.Parse("t", nil, env(map[string]string{"SYNCLINE_WAL_MAX_MSGS": "lots"}), io.Discard, 0, nil)
	require.Error(t, err)
	_, err = procflags.Parse("t", []string{"--log-level", "loud"}, none, io.Discard, 0, nil)
	require.Error(t, err)
	_, err = procflags.Parse("t", []string{"--nope"}, none, io.Discard, 0, nil)
	require.Error(t, err)
}

func TestResolveDurability(t *testing.T) {
	t.Parallel()
	d, err := procflags.ResolveDurability("auto", 3)
	require.NoError(t, err)
	require.Equal(t, procflags.DurabilityReplicated, d)
	d, err = procflags.ResolveDurability("", 1)
	require.NoError(t, err)
	require.Equal(t, procflags.DurabilityFsync, d)
	_, err = procflags.ResolveDurability("eventually", 1)
	require.Error(t, err)
}
