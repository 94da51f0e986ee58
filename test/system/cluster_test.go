package system

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
	"github.com/syncline/syncline/pkg/status"
	"github.com/syncline/syncline/pkg/store/storetest"
	"github.com/syncline/syncline/pkg/wal"
)

// Roles of the child processes; the CLI is "syncline".
const (
	roleIngest     = "ingest"
	roleWriter     = "writer"
	roleReconciler = "reconciler"
	roleCLI        = "syncline"
)

// clusterOpts describe one pipeline under test.
type clusterOpts struct {
	// ingests, writers and reconcilers are the process counts.
	ingests, writers, reconcilers int
	// prefix is the subject prefix; empty means a random one.
	prefix string
	// pgProxy routes the writers' and reconcilers' PostgreSQL connections
	// through a storetest.Proxy (cluster.pgProxy) that the test can cut.
	pgProxy bool
	// natsOpts adjusts the embedded NATS server (ignored with nats).
	natsOpts func(*server.Options)
	// nats is a server the test started itself (auth, TLS).
	nats *natsServer
	// env adds environment variables per role ("" = every role and the CLI).
	env map[string][]string
	// clientOpts are the options of the test's own client connection
	// (the load); adminOpts those of its JetStream/inspection connection.
	clientOpts, adminOpts []nats.Option
	// secrets must never appear in a process log or CLI output.
	secrets []string
}

// cluster is one running pipeline: NATS, a private PostgreSQL schema and
// Redis prefix, and the child processes.
type cluster struct {
	t      testing.TB
	o      clusterOpts
	dir    string
	prefix string
	names  wal.Names

	nats        *natsServer
	sqlURL      string // direct, for the test's own checks
	procSQLURL  string // what the processes get (with a password, maybe proxied)
	pgProxy     *storetest.Proxy
	pg          *pgxpool.Pool
	rdb         *redis.Client
	redisPrefix string

	nc  *nats.Conn // the load's connection
	cl  *client.Client
	anc *nats.Conn // inspection connection (JetStream)
	js  jetstream.JetStream

	mu    sync.Mutex
	procs []*proc
	seq   map[string]int
}

// newCluster prepares everything but the processes; call start.
func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	c := &cluster{t: t, o: o, dir: t.TempDir(), seq: map[string]int{}}
	c.prefix = o.prefix
	if c.prefix == "" {
		c.prefix = "s" + randHex(5)
	}
	c.names = wal.NewNames(c.prefix, wal.DefaultPartitions)

	c.sqlURL = storetest.PostgresURL(t)
	u, err := url.Parse(c.sqlURL)
	if err != nil {
		t.Fatalf("sql url: %v", err)
	}
	// Trust authentication ignores the password; it is there so that the
	// test can check that no process ever prints it.
	pgSecret := "pg-secret-" + randHex(6)
	c.o.secrets = append(c.o.secrets, pgSecret)
	u.User = url.UserPassword(u.User.Username(), pgSecret)
	if o.pgProxy {
		c.pgProxy = storetest.NewProxy(t, u.Host)
		u.Host = c.pgProxy.Addr()
	}
	c.procSQLURL = u.String()
	c.rdb, c.redisPrefix = redistest.Client(t)

	c.nats = o.nats
	if c.nats == nil {
		c.nats = startNATS(t, o.natsOpts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.pg, err = pgxpool.New(ctx, c.sqlURL)
	if err != nil {
		t.Fatalf("pgxpool: %v", err)
	}
	t.Cleanup(c.pg.Close)
	c.nc = c.connect(t, o.clientOpts...)
	c.anc = c.nc
	if o.adminOpts != nil {
		c.anc = c.connect(t, o.adminOpts...)
	}
	c.cl, err = client.New(c.nc, client.WithPrefix(c.prefix), client.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	c.js, err = jetstream.New(c.anc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	t.Cleanup(c.shutdown)
	return c
}

// connect opens a test connection to the cluster's NATS server that
// reconnects forever (it must survive server restarts).
func (c *cluster) connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	all := append([]nats.Option{
		nats.Name("system-test"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	}, opts...)
	nc, err := nats.Connect(c.nats.URL(), all...)
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// env is the complete environment of a child of role.
func (c *cluster) env(role, name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCLINE_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"SYNCLINE_NATS_URL="+c.nats.URL(),
		"SYNCLINE_SQL_URL="+c.procSQLURL,
		"SYNCLINE_REDIS_URL="+redistest.URL(),
		"SYNCLINE_REDIS_PREFIX="+c.redisPrefix,
		"SYNCLINE_PREFIX="+c.prefix,
		"SYNCLINE_HTTP_ADDR=127.0.0.1:0",
		// Fast enough for a test, still realistic.
		"SYNCLINE_RECONCILER_CHECK_INTERVAL=1s",
		"SYNCLINE_RECONCILER_SNAPSHOT_INTERVAL=5s",
		"SYNCLINE_RECONCILER_DEEP_INTERVAL=-1s",
	)
	switch role {
	case roleWriter:
		env = append(env, "SYNCLINE_WRITER_NAME="+name)
	case roleReconciler:
		env = append(env, "SYNCLINE_RECONCILER_NAME="+name)
	}
	env = append(env, c.o.env[""]...)
	env = append(env, c.o.env[role]...)
	return env
}

// startProc starts one more process of role, named role-N, with extra
// environment variables on top of the cluster's.
func (c *cluster) startProc(role string, extra ...string) *proc {
	c.mu.Lock()
	c.seq[role]++
	name := fmt.Sprintf("%s-%d", role, c.seq[role])
	c.mu.Unlock()
	return c.restart(role, name, extra...)
}

// restart starts a process of role under an existing name (a restart after
// a kill: same instance name, the log file continues).
func (c *cluster) restart(role, name string, extra ...string) *proc {
	p := startProc(c.t, c.dir, role, name, append(c.env(role, name), extra...))
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// start runs the configured processes and waits until all are ready.
func (c *cluster) start() {
	c.t.Helper()
	var ps []*proc
	for role, n := range map[string]int{roleIngest: c.o.ingests, roleWriter: c.o.writers, roleReconciler: c.o.reconcilers} {
		for range n {
			ps = append(ps, c.startProc(role))
		}
	}
	waitReady(c.t, 90*time.Second, ps...)
}

// live returns the running processes of role.
func (c *cluster) live(role string) []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*proc
	for _, p := range c.procs {
		if p.role == role && !p.exited() {
			out = append(out, p)
		}
	}
	return out
}

// byName returns the running process with name.
func (c *cluster) byName(name string) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.procs) - 1; i >= 0; i-- {
		if c.procs[i].name == name && !c.procs[i].exited() {
			return c.procs[i]
		}
	}
	return nil
}

// crashed lists processes that exited without the test stopping them.
func (c *cluster) crashed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, p := range c.procs {
		if d := p.unexpectedExit(); d != "" {
			errs = append(errs, errors.New(d))
		}
	}
	return errors.Join(errs...)
}

// shutdown stops every process, prints log tails on failure and checks
// that no secret reached a log.
func (c *cluster) shutdown() {
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	if err := c.crashed(); err != nil {
		c.t.Errorf("processes crashed: %v", err)
	}
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !p.terminate(15 * time.Second) {
				c.t.Logf("%s did not stop within 15s of SIGTERM; killed", p.name)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, p := range procs {
		if seen[p.logPath] {
			continue
		}
		seen[p.logPath] = true
		log := p.log()
		for _, s := range c.o.secrets {
			if strings.Contains(log, s) {
				c.t.Errorf("%s: a secret appears in the log (%s)", p.name, p.logPath)
			}
		}
		if c.t.Failed() {
			c.t.Logf("---- %s: last lines of %s\n%s", p.name, p.logPath, p.tail(40))
		}
	}
}

// cliResult is the outcome of one syncline CLI run.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the syncline CLI against the cluster.
func (c *cluster) cli(ctx context.Context, args ...string) cliResult {
	cmd := exec.CommandContext(ctx, binary(roleCLI), args...)
	cmd.Env = c.env(roleCLI, "cli")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
		r.stderr += "\n" + err.Error()
	}
	for _, s := range c.o.secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			c.t.Errorf("syncline %s: a secret appears in the output", strings.Join(args, " "))
		}
	}
	return r
}

// status runs `syncline status --json`.
func (c *cluster) status(ctx context.Context) (status.Status, error) {
	var st status.Status
	r := c.cli(ctx, "status", "--json")
	if r.code != 0 {
		return st, fmt.Errorf("syncline status: exit %d: %s", r.code, strings.TrimSpace(r.stderr))
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		return st, fmt.Errorf("syncline status: %w: %s", err, r.stdout)
	}
	return st, nil
}

// leader returns the reconciler instance holding the lease, from status.
func (c *cluster) leader(ctx context.Context) (string, error) {
	st, err := c.status(ctx)
	if err != nil {
		return "", err
	}
	if st.Leader == "" {
		return "", errors.New("no reconciler holds the lease")
	}
	return st.Leader, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkFor calls f every step until it returns nil, and fails the test with
// f's last error after total.
func checkFor(t testing.TB, total, step time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", total, err)
		}
		time.Sleep(step)
	}
}

// tctx is a context bounded by d, cancelled when the test ends.
func tctx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
