package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The binaries a run needs, and the packages they are built from. The
// nats-server main package comes from the module cache: it is a
// dependency of this module (go.mod pins its version), so `go build`
// needs no network.
var binaries = map[string]string{
	"ingest":      "github.com/syncline/syncline/cmd/ingest",
	"writer":      "github.com/syncline/syncline/cmd/writer",
	"reconciler":  "github.com/syncline/syncline/cmd/reconciler",
	"nats-server": "github.com/nats-io/nats-server/v2",
}

// binaryNames lists the binaries in a stable order.
var binaryNames = []string{"ingest", "writer", "reconciler", "nats-server"}

// Binaries locates the binaries of a run: all in one directory.
type Binaries struct{ Dir string }

// Path returns the path of binary name.
func (b Binaries) Path(name string) string { return filepath.Join(b.Dir, name) }

// Check reports a missing binary.
func (b Binaries) Check() error {
	for _, n := range binaryNames {
		if _, err := os.Stat(b.Path(n)); err != nil {
			return fmt.Errorf("e2e: binary %s: %w", n, err)
		}
	}
	return nil
}

// Build builds every binary into dir with `go build`, from the module
// around the current directory (the work tree whose code is measured).
func Build(ctx context.Context, dir string) (Binaries, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("e2e: go env GOMOD: %w", err)
	}
	if m := strings.TrimSpace(string(gomod)); m == "" || m == os.DevNull {
		return Binaries{}, fmt.Errorf("e2e: not inside the syncline module; run from its work tree or pass prebuilt binaries (--bin-dir)")
	}
	for _, n := range binaryNames {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, n), binaries[n])
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("e2e: go build %s: %w\n%s", binaries[n], err, out)
		}
	}
	return Binaries{Dir: dir}, nil
}
