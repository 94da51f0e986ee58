package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

// TestEvalChunkLoadsMissingScript runs a script Redis has never seen (its
// source is unique), so the first EVALSHA of the pipeline answers NOSCRIPT
// and evalChunk must load it and retry exactly the calls that failed.
func TestEvalChunkLoadsMissingScript(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.Client(t)
	c, err := New(client, Config{Prefix: prefix})
	require.NoError(t, err)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := redis.NewScript("-- " + hex.EncodeToString(b) + "\nreturn redis.call('INCR', KEYS[1])")
	calls := []scriptCall{{keys: []string{prefix + "n"}}, {keys: []string{prefix + "n"}}, {keys: []string{prefix + "m"}}}
	res, err := c.evalChunk(context.Background(), "test", s, calls)
	require.NoError(t, err)
	require.Equal(t, []any{int64(1), int64(2), int64(1)}, res, "each call ran once")
}
