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
		"SYNCLINE_SQL_URL":           "postgres://u:secret@127.0.0.1:5432/db?search_path=p1",
		"SYNCLINE_PREFIX":            "p1",
		"SYNCLINE_WRITER_BATCH_SIZE": "500",
	}
	var logs bytes.Buffer
	require.NoError(t, fx.ValidateApp(options(nil, func(k string) string { return env[k] }, &logs)))
	require.NotContains(t, logs.String(), "secret", "passwords never reach the logs")
	require.NoError(t, fx.ValidateApp(options([]string{"--sql-url", "sqlite:/tmp/x.db", "--prefix", "p2",
		"--nats-url", "nats://a:4222,nats://b:4222", "--tombstone-retention", "1h"},
		func(string) string { return "" }, io.Discard)))
}

func TestOptionsRejectBadInput(t *testing.T) {
	t.Parallel()
	none := func(string) string { return "" }
	sql := []string{"--sql-url", "sqlite:/tmp/x.db"}
	require.Error(t, fx.ValidateApp(options(nil, none, io.Discard)), "the SQL URL is required")
	require.Error(t, fx.ValidateApp(options([]string{"--sql-url", "mysql://x"}, none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(append(sql, "--prefix", "a.b"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(append(sql, "--batch-size", "-5"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(append(sql, "--no-such-flag"), none, io.Discard)))
	require.Error(t, fx.ValidateApp(options(sql, func(k string) string {
		if k == "SYNCLINE_WRITER_BATCH_SIZE" {
			return "many"
		}
		return ""
	}, io.Discard)))
}
