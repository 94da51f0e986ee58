package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/syncline/syncline/pkg/rediscache/redistest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// dev is a running `syncline dev` inside the test process.
type dev struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startDev runs `syncline dev` with extra root flags until stop.
func startDev(t *testing.T, data string, port int, rootFlags ...string) *dev {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &dev{url: "nats://127.0.0.1:" + strconv.Itoa(port), stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	args := append(append([]string{}, rootFlags...), "dev", "--data", data, "--nats-port", strconv.Itoa(port), "--http-addr", "127.0.0.1:0")
	go func() { d.done <- Main(ctx, args, strings.NewReader(""), d.stdout, d.stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(d.stdout.String(), "is running") {
		select {
		case code := <-d.done:
			t.Fatalf("syncline dev exited with %d: %s", code, d.stderr.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "syncline dev did not start: %s", d.stderr.String())
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *dev) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case code := <-d.done:
		require.Equal(t, 0, code, "clean shutdown: %s", d.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("syncline dev did not stop within 60s")
	}
}

// run runs one CLI command against d.
func (d *dev) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"--nats-url", d.url}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func (d *dev) eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDevServesAndRestartsWithoutLoss(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	port := freePort(t)
	d := startDev(t, data, port)
	code, out, errOut := d.run(t, "put", "tenant.a.orders.1", `{"total":42}`)
	require.Equal(t, 0, code, errOut)
	var res struct{ Seq uint64 }
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	code, out, errOut = d.run(t, "get", "--after-seq", strconv.FormatUint(res.Seq, 10), "tenant.a.orders.1")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, `{"total":42}`, out)
	code, _, errOut = d.run(t, "put", "bad..id", "x")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "invalid_id")
	d.stop(t)

	d2 := startDev(t, data, port)
	code, out, errOut = d2.run(t, "get", "tenant.a.orders.1")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, `{"total":42}`, out, "an acknowledged write survives a restart on the same data dir")
}

func TestDevStatusVerifyRepairWithRedis(t *testing.T) {
	t.Parallel()
	rc, prefix := redistest.Client(t)
	d := startDev(t, t.TempDir(), freePort(t), "--redis-url", redistest.URL(), "--redis-prefix", prefix)
	for i := 0; i < 20; i++ {
		code, _, errOut := d.run(t, "put", "tenant.b.orders."+strconv.Itoa(i), `{"n":`+strconv.Itoa(i)+`}`)
		require.Equal(t, 0, code, errOut)
	}
	var st map[string]any
	d.eventually(t, "status in sync with Redis", func() bool {
		code, out, _ := d.run(t, "status", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		in, _ := st["in_sync"].(bool)
		return in && st["wal_pending"] == float64(0) && st["sql_root"] != ""
	})
	for _, k := range []string{"wal_pending", "dlq_messages", "sql_root", "redis_root", "in_sync", "filter_entries", "filter_trusted", "leader"} {
		require.Contains(t, st, k, "status --json has the contract field %s at the top level", k)
	}
	require.Equal(t, st["sql_root"], st["redis_root"])
	require.NotEmpty(t, st["leader"])

	// Alter a value behind Syncline's back: a deep verify finds it.
	ctx := context.Background()
	require.NoError(t, rc.HSet(ctx, prefix+"item:tenant.b.orders.7", "payload", "tampered").Err())
	code, out, _ := d.run(t, "verify", "--deep")
	require.Equal(t, 1, code, "verify exits 1 on a difference: %s", out)
	require.Contains(t, out, "tenant.b.orders.7")
	code, out, errOut := d.run(t, "repair", "--deep")
	require.Equal(t, 0, code, out+errOut)
	code, out, _ = d.run(t, "verify", "--deep")
	require.Equal(t, 0, code, "verify exits 0 after repair: %s", out)
	got, err := rc.HGet(ctx, prefix+"item:tenant.b.orders.7", "payload").Result()
	require.NoError(t, err)
	require.Equal(t, `{"n":7}`, got)
}

// recorder records the metric names every registered collector describes.
type recorder struct {
	prometheus.Registerer
	mu    sync.Mutex
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	r.mu.Lock()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	r.mu.Unlock()
	return r.Registerer.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// TestMetricCatalogIsRegistered checks that every metric the dashboards and
// alerts use (deployments/metrics.txt) is registered by the processes: the
// all-in-one dev app composes every stage's module, and a recording
// Registerer sees each collector's descriptors, used or not.
func TestMetricCatalogIsRegistered(t *testing.T) {
	t.Parallel()
	_, prefix := redistest.Client(t)
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	e.s.RedisURL, e.s.RedisPrefix, e.s.HTTP.Addr, e.s.LogLevel = redistest.URL(), prefix, "127.0.0.1:0", "error"
	opts, err := devOptions(e, devConfig{DataDir: t.TempDir(), NATSPort: freePort(t), Sync: "1s"})
	require.NoError(t, err)
	rec := &recorder{names: map[string]bool{}}
	app := fxtest.New(t, opts, fx.Decorate(func(r prometheus.Registerer) prometheus.Registerer {
		rec.Registerer = r
		return rec
	}))
	app.RequireStart()
	defer app.RequireStop()

	f, err := os.Open(filepath.Join("..", "..", "deployments", "metrics.txt"))
	require.NoError(t, err)
	defer f.Close()
	var missing []string
	sc := bufio.NewScanner(f)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for sc.Scan() {
		n := strings.TrimSpace(sc.Text())
		if n == "" || strings.HasPrefix(n, "#") {
			continue
		}
		if !rec.names[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "metrics in deployments/metrics.txt that no process registers")
}
