package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest/ingesttest"
)

// syncline runs the command line against p and returns stdout and the exit
// code.
func syncline(t *testing.T, p *ingesttest.Pipeline, stdin string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append(args, "--nats-url", p.Server.ClientURL())
	code := Main(ctx, args, strings.NewReader(stdin), &out, &errOut)
	if code != 0 {
		t.Logf("syncline %v: %s", args, errOut.String())
	}
	return out.String(), code
}

func TestQueryCommands(t *testing.T) {
	t.Parallel()
	p := ingesttest.Start(t, ingesttest.Options{})
	ctx := context.Background()
	for _, id := range []string{"q.a", "q.a.x", "q.ab", "q_b"} {
		_, err := p.Client.Put(ctx, id, []byte("v"), client.WithState("open"))
		require.NoError(t, err)
	}

	out, code := syncline(t, p, "", "list", "q.a", "--strong")
	require.Zero(t, code)
	var page client.ListPage
	require.NoError(t, json.Unmarshal([]byte(out), &page))
	require.Len(t, page.Items, 2)
	require.Equal(t, "q.a", page.Items[0].ID)

	out, code = syncline(t, p, "", "list", "--all", "--limit", "1", "--state", "open", "--strong")
	require.Zero(t, code)
	require.Equal(t, 4, strings.Count(out, "\n"), out)

	out, code = syncline(t, p, "", "count", "q.a", "--strong")
	require.Zero(t, code)
	require.JSONEq(t, `{"count":2}`, out)

	out, code = syncline(t, p, "", "setstate", "q.ab", "closed")
	require.Zero(t, code)
	var res client.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Positive(t, res.Seq)
	_, code = syncline(t, p, "", "setstate", "q.ab")
	require.NotZero(t, code, "a state or --clear")

	out, code = syncline(t, p, "", "mget", "q.a", "q.none")
	require.Zero(t, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"payload":"dg=="`)
	require.Contains(t, lines[1], `"found":false`)

	sum := sha256.Sum256([]byte("v"))
	out, code = syncline(t, p, "", "is-current", "q.a", "--sha256", hex.EncodeToString(sum[:]))
	require.Zero(t, code)
	require.Contains(t, out, `"current": true`)
	out, code = syncline(t, p, "other", "is-current", "q.a")
	require.Zero(t, code)
	require.Contains(t, out, `"current": false`)

	out, code = syncline(t, p, "", "delprefix", "q.a", "--origin", "cli")
	require.Zero(t, code)
	require.Contains(t, out, `"count": 2`)
	_, code = syncline(t, p, "", "delprefix")
	require.NotZero(t, code, "the whole keyspace needs --all")

	// The tombstones' record reaches the feed right after their commit.
	require.Eventually(t, func() bool {
		out, code = syncline(t, p, "", "changes", "--from", "1")
		return code == 0 && strings.Contains(out, `"origin":"cli"`)
	}, 10*time.Second, 50*time.Millisecond)
	require.Contains(t, out, `"seq":1,`)
	out, code = syncline(t, p, "", "changes", "--from", "1000")
	require.Zero(t, code)
	require.Empty(t, out, "nothing after the last record")

	_, code = syncline(t, p, "", "cache", "get", "x")
	require.NotZero(t, code, "no Redis in this pipeline")
}
