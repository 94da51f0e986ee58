package groupcommit_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// The child process of TestKillNineWithWritesInTheWindow runs this test
// binary again with these variables set.
const (
	childMode = "GROUPCOMMIT_KILL_CHILD" // "ingest" or "all"
	childURL  = "GROUPCOMMIT_KILL_URL"   // ingest: the parent's server
	childDir  = "GROUPCOMMIT_KILL_DIR"   // all: the store dir of the child's own server
)

// kill -9 of a process that has writes in its group-commit window (queued,
// staged on the server, being committed, acks on the wire). Two shapes:
// "ingest" kills only the publishing process (the server lives on);
// "all" kills a process that also runs the server (`syncline dev`), which
// is then restarted on the same store. Afterwards every write the child
// reported acked is in the stream at its sequence, and no atomic batch is
// stored in part.
func TestKillNineWithWritesInTheWindow(t *testing.T) {
	if mode := os.Getenv(childMode); mode != "" {
		runKillChild(t, mode)
		return
	}
	t.Parallel()
	t.Run("ingest", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, waltest.Options{}, nil)
		acked := runAndKill(t, "ingest", childURL+"="+e.srv.ClientURL())
		// Once the server has dropped the dead connection, everything it
		// read from it is queued to the stream ahead of this barrier.
		waitFor(t, 10*time.Second, func() bool { return e.srv.NumClients() == 1 })
		_, err := e.js.Publish(context.Background(), "t.wal.0", []byte("barrier"))
		require.NoError(t, err)
		checkAfterKill(t, e.js, acked)
	})
	t.Run("all", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		acked := runAndKill(t, "all", childDir+"="+dir)
		s := waltest.Start(t, waltest.Options{StoreDir: dir, SyncAlways: true})
		js, err := jetstream.New(waltest.Connect(t, s))
		require.NoError(t, err)
		checkAfterKill(t, js, acked)
	})
}

// runAndKill starts the child, collects the acks it reports and kills it
// with SIGKILL once enough writes were acked.
func runAndKill(t *testing.T, mode, env string) map[string]uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillNineWithWritesInTheWindow$", "-test.count=1")
	cmd.Env = append(os.Environ(), childMode+"="+mode, env)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	acked := map[string]uint64{}
	var n atomic.Int64
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ACK" {
				continue
			}
			seq, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				continue // a line cut by the kill
			}
			acked[f[1]] = seq
			n.Add(1)
		}
	}()
	exited := func() bool {
		select {
		case <-read:
			return true
		default:
			return false
		}
	}
	waitFor(t, 60*time.Second, func() bool { return n.Load() >= 1500 || exited() })
	require.False(t, exited(), "the child stopped before it was killed")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-read
	err = cmd.Wait()
	require.ErrorContains(t, err, "killed")
	t.Logf("%s: child reported %d acks before SIGKILL", mode, len(acked))
	return acked
}

func checkAfterKill(t *testing.T, js jetstream.JetStream, acked map[string]uint64) {
	t.Helper()
	stored := readStream(t, js)
	out := make([]outcome, 0, len(acked))
	for name, seq := range acked {
		out = append(out, outcome{name: name, ack: groupcommit.Ack{Stream: testStream, Seq: seq}})
	}
	requireAcksStored(t, out, stored)
	runs := requireBatchesWhole(t, stored)
	require.NotEmpty(t, runs)
	writes := 0
	for _, s := range stored {
		if s.header.Get("Sync-Id") != "" {
			writes++
		}
	}
	t.Logf("stream holds %d writes (%d acked, %d from the window stored without their ack reaching the child), %d atomic batches, all whole",
		writes, len(acked), writes-len(acked), len(runs))
}

// runKillChild publishes as fast as it can and reports every ack on
// stdout until it is killed.
func runKillChild(t *testing.T, mode string) {
	var c *groupcommit.Committer
	switch mode {
	case "ingest":
		nc, err := nats.Connect(os.Getenv(childURL))
		require.NoError(t, err)
		c = start(t, nc, testConfig(nil), nil)
	case "all":
		e := newEnv(t, waltest.Options{StoreDir: os.Getenv(childDir)}, nil)
		c = start(t, e.nc, testConfig(nil), nil)
	default:
		t.Fatalf("unknown child mode %q", mode)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := 0; ; i++ {
				m := walMsg(fmt.Sprintf("%s-g%d-%d", mode, g, i))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				ack, err := c.Publish(ctx, m)
				cancel()
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ACK %s %d\n", m.Header.Get("Sync-Id"), ack.Seq)
				mu.Unlock()
			}
		})
	}
	// The parent kills us long before this.
	time.Sleep(60 * time.Second)
	t.Fatal("child was not killed")
}
