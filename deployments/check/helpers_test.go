package check

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoPath returns the absolute path of rel, a path relative to the
// repository root (this package lives in deployments/check).
func repoPath(t testing.TB, rel string) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	return filepath.Join(root, filepath.FromSlash(rel))
}

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, rel))
	require.NoError(t, err)
	return b
}

// metricCatalog reads deployments/metrics.txt: one metric name per line.
func metricCatalog(t testing.TB) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(readFile(t, "deployments/metrics.txt"))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		require.NotEmpty(t, line, "metrics.txt: blank line")
		require.Regexp(t, `^[a-zA-Z_:][a-zA-Z0-9_:]*$`, line, "metrics.txt: not a metric name")
		require.False(t, names[line], "metrics.txt: %s listed twice", line)
		names[line] = true
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, names)
	return names
}
