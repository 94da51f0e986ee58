package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
)

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SYNCLINE_SQL_URL":                  "postgres://u:secret@127.0.0.1:5432/db?search_path=p1",
		"SYNCLINE_REDIS_URL":                "redis://:redispw@127.0.0.1:6379/0",
		"SYNCLINE_REDIS_PREFIX":             "p1:",
		"SYNCLINE_PREFIX":                   "p1",
		"SYNCLINE_RECONCILER_REPAIR_LIMIT":  "500",
		"SYNCLINE_RECONCILER_DEEP_INTERVAL": "-1s",
	}
	var logs bytes.Buffer
	require.NoError(t, fx.ValidateApp(options(nil, func(k string) string { return env[k] }, &logs)))
	require.NotContains(t, logs.String(), "secret", "passwords never reach the logs")
	require.NotContains(t, logs.String(), "redispw", "passwords never reach the logs")
	require.NoError(t, fx.ValidateApp(options([]string{"--sql-url", "sqlite:/tmp/x.db", "--redis-url", "redis://127.0.0.1:6379",
		"--prefix", "p2", "--root-check-interval", "1s", "--name", "r1"},
		func(string) string { return "" }, io.Discard)))
}

func TestOptionsRejectBadInput(t *testing.T) {
	t.Parallel()
	none := func(string) string { return "" }
	both := []string{"--sql-url", "sqlite:/tmp/x.db", "--redis-url", "redis://127.0.0.1:6379"}
	with := func(extra ...string) []string { return append(append([]string{}, both...), extra...) }
	require.Error(t, fx.ValidateApp(options(nil, none, io.Discard)), "the SQL URL is required")
	require.Error(t, fx.ValidateApp(options([]string{"--sql-url", "sqlite:/tmp/x.db"}, none, io.Discard)), "the Redis URL is required")
	require.Error(t, fx.ValidateApp(options(with("--redis-url", "http://x"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(with("--prefix", "a.b"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(with("--repair-limit", "-5"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(with("--no-such-flag"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(both, func(k string) string {
		if k == "SYNCLINE_RECONCILER_SNAPSHOT_CHANGES" {
			return "many"
		}
		return ""
	}, io.Discard)))
}
