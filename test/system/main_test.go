package system

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binDir holds the binaries TestMain built; set once before any test runs.
var binDir string

// summary collects one line of figures per scenario, printed after the run.
var summary struct {
	mu    sync.Mutex
	lines []string
}

func report(format string, args ...any) {
	summary.mu.Lock()
	defer summary.mu.Unlock()
	summary.lines = append(summary.lines, fmt.Sprintf(format, args...))
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "syncline-system-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "system: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "system:", err)
		return 1
	}
	binDir = dir
	fmt.Fprintf(os.Stderr, "system: built binaries in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	summary.mu.Lock()
	if len(summary.lines) > 0 {
		fmt.Println("system test figures:")
		for _, l := range summary.lines {
			fmt.Println("  " + l)
		}
	}
	summary.mu.Unlock()
	return code
}

// build compiles every binary of the module into dir.
func build(dir string) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("module root not found at %s: %w", root, err)
	}
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"./cmd/ingest", "./cmd/writer", "./cmd/reconciler", "./cmd/syncline")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// binary returns the path of a built binary.
func binary(name string) string { return filepath.Join(binDir, name) }

// ci reports whether the suite runs in CI (smaller loads, no skipping).
func ci() bool { return os.Getenv("CI") == "true" }

// sizes are the load figures of one scenario run.
type sizes struct {
	// rate is the target of puts per second of the load generator.
	rate int
	// workers is the number of concurrent synchronous clients.
	workers int
	// burst is the request count of the bad-input burst.
	burst int
	// converge bounds the wait for SQL, Redis and verify to agree.
	converge time.Duration
}

// scale returns the sizes for this run: CI is kept short on a loaded
// machine; a local run (and the soak) pushes more.
func scale() sizes {
	if ci() {
		return sizes{rate: 300, workers: 12, burst: 3000, converge: 120 * time.Second}
	}
	return sizes{rate: 600, workers: 24, burst: 10000, converge: 120 * time.Second}
}

// soakDuration is SYNCLINE_SOAK, or 0.
func soakDuration(t testing.TB) time.Duration {
	v := strings.TrimSpace(os.Getenv("SYNCLINE_SOAK"))
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("SYNCLINE_SOAK=%q: %v", v, err)
	}
	return d
}
