package check

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// docAnchors returns the anchors GitHub generates for the headings of
// docs/operations.md: lower case, punctuation removed, spaces to dashes,
// -1, -2 ... appended to repeats. Explicit <a id="..."> anchors count too.
func docAnchors(t *testing.T) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	counts := map[string]int{}
	punct := regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
	explicit := regexp.MustCompile(`<a (?:id|name)="([^"]+)"`)
	inFence := false
	sc := bufio.NewScanner(strings.NewReader(string(readFile(t, "docs/operations.md"))))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range explicit.FindAllStringSubmatch(line, -1) {
			anchors[m[1]] = true
		}
		if !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		text = strings.ReplaceAll(text, "`", "")
		slug := strings.ReplaceAll(punct.ReplaceAllString(strings.ToLower(text), ""), " ", "-")
		if n := counts[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		counts[slug]++
	}
	require.NoError(t, sc.Err())
	return anchors
}

// TestOperationsDoc checks that the runbook covers what the manifests rely
// on: the external Secrets and their keys, and a section per alert (the
// alert anchors are checked in TestPrometheusRules).
func TestOperationsDoc(t *testing.T) {
	t.Parallel()
	doc := string(readFile(t, "docs/operations.md"))
	anchors := docAnchors(t)
	for _, a := range []string{"secrets", "docker-compose", "reading-the-dashboard"} {
		require.True(t, anchors[a], "docs/operations.md has no section #%s", a)
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]+)\)`).FindAllStringSubmatch(doc, -1) {
		require.True(t, anchors[m[1]], "docs/operations.md links to #%s, which is no heading", m[1])
	}
	for name, keys := range externalSecrets {
		require.Contains(t, doc, name, "Secret %s is not documented", name)
		for _, k := range keys {
			require.Contains(t, doc, k, "key %s of Secret %s is not documented", k, name)
		}
	}
	for _, f := range []string{
		"deployments/check", "deployments/nats/test-auth.conf", "deployments/metrics.txt",
		"SYNCLINE_WAL_REPLICAS", "sync_interval",
	} {
		require.Contains(t, doc, f)
	}
}
