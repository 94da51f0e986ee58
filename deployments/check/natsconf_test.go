package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

// loadNATSConf parses a config of deployments/nats with the environment
// variables it references defined in front of it (the server reads them
// from its environment; in-file definitions behave the same and keep the
// test free of process-wide Setenv).
func loadNATSConf(t *testing.T, rel string, env map[string]string) *server.Options {
	t.Helper()
	src := repoPath(t, rel)
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Dir(src))
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".conf") {
			c, err := os.ReadFile(filepath.Join(filepath.Dir(src), e.Name()))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), c, 0o600))
		}
	}
	var vars strings.Builder
	for k, v := range env {
		vars.WriteString(k + ": " + v + "\n")
	}
	path := filepath.Join(dir, filepath.Base(src))
	require.NoError(t, os.WriteFile(path, []byte(vars.String()+string(b)), 0o600))
	opts, err := server.ProcessConfigFile(path)
	require.NoError(t, err, rel)
	return opts
}

func passwordEnv() map[string]string {
	env := map[string]string{}
	for _, role := range []string{"INGEST", "WRITER", "RECONCILER", "PRODUCER", "OPERATOR", "CLIENT", "SYS"} {
		env["SYNCLINE_"+role+"_PASSWORD"] = strings.ToLower(role) + "-secret"
	}
	return env
}

// userView is what must be identical for a user in every config.
type userView struct {
	Account     string
	Permissions *server.Permissions
}

func users(opts *server.Options) map[string]userView {
	out := map[string]userView{}
	for _, u := range opts.Users {
		out[u.Username] = userView{u.Account.Name, u.Permissions}
	}
	return out
}

func TestNATSConfigs(t *testing.T) {
	t.Parallel()
	dev := loadNATSConf(t, "deployments/nats/dev.conf", nil)
	test := loadNATSConf(t, "deployments/nats/test-auth.conf", nil)
	clusterEnv := passwordEnv()
	clusterEnv["NATS_SERVER_NAME"] = "nats-1"
	cluster := loadNATSConf(t, "deployments/nats/cluster.conf", clusterEnv)

	// dev: a single server, fsync before every ack (no replicas).
	require.True(t, dev.JetStream)
	require.True(t, dev.SyncAlways, "dev.conf: a single server needs sync_interval: always")
	require.Empty(t, dev.Routes)
	require.Equal(t, "127.0.0.1", dev.Host)

	// test: random port, loopback, no anonymous user, store set by the test.
	require.Equal(t, -1, test.Port)
	require.Equal(t, "127.0.0.1", test.Host)
	require.Empty(t, test.NoAuthUser)
	require.Empty(t, test.StoreDir)

	// cluster: 3 routes, JetStream on /data.
	require.Len(t, cluster.Routes, 3)
	require.Equal(t, "syncline", cluster.Cluster.Name)
	require.Equal(t, "nats-1", cluster.ServerName)

	// Every variant has the same users with the same permissions.
	want := users(test)
	require.Len(t, want, 7)
	for name, opts := range map[string]*server.Options{"dev.conf": dev, "cluster.conf": cluster} {
		require.Equal(t, want, users(opts), name)
		require.Equal(t, "SYS", opts.SystemAccount, name)
		require.Equal(t, test.MaxPayload, opts.MaxPayload, name)
	}
	require.Equal(t, "APP", want["client"].Account)
	for _, role := range []string{"ingest", "writer", "reconciler", "producer", "operator"} {
		require.Equal(t, "SYNCLINE", want[role].Account, role)
	}
	// At least 1 MiB of payload plus headers (DESIGN §1).
	require.Greater(t, test.MaxPayload, int32(1<<20))
}
