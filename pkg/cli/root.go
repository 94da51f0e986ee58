// Package cli is the `syncline` command: the all-in-one `dev` mode and the
// operator commands (put, get, del, exists, status, verify, repair, bench).
// cmd/syncline only calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/syncline/syncline/internal/procflags"
)

// ExitError carries a process exit code (verify's 1 on a difference).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// env is what every command shares.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	s      procflags.Settings
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(&env{stdin: stdin, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	fmt.Fprintln(stderr, "syncline:", err)
	return 2
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "syncline",
		Short:         "Syncline: a NATS-native write pipeline (operator CLI and all-in-one dev mode)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	fl := procflags.Bind(root.PersistentFlags(), &e.s, procflags.NeedSQL|procflags.NeedRedis)
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return fl.Err() }
	root.AddCommand(
		newDev(e),
		newPut(e), newGet(e), newDel(e), newExists(e),
		newStatus(e), newVerify(e), newRepair(e),
		newBench(e),
		newList(e), newCount(e), newDelPrefix(e), newSetState(e), newMGet(e), newIsCurrent(e), newCacheCmd(e), newChanges(e), newReplicate(e),
	)
	return root
}

// Run is Main for the real process.
func Run() int {
	return Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
