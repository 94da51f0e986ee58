package readpath_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/cuckoo"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/engine/reconciler"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/rediscache/redistest"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/store/sqlopen"
	"github.com/syncline/syncline/pkg/store/storetest"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

// TestMain raises two defaults unless given on the command line: the
// number of rapid checks is lowered to keep the package within its time
// budget, and -test.parallel is raised above GOMAXPROCS because these
// tests mostly wait for servers. It also shares one Redis key prefix
// across the package's tests, deleted at the end: on a Redis holding many
// other keys every SCAN-based purge costs seconds, once is enough.
func TestMain(m *testing.M) {
	flag.Parse()
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["rapid.checks"] {
		_ = flag.Set("rapid.checks", "15")
	}
	if !given["test.parallel"] {
		_ = flag.Set("test.parallel", "8")
	}
	code := m.Run()
	sharedRedis.purge()
	os.Exit(code)
}

// sharedRedis is the package's Redis connection and key prefix.
var sharedRedis = &redisShare{}

type redisShare struct {
	once   sync.Once
	client *redis.Client
	prefix string
	err    error
	n      atomic.Int64
}

// get returns a client and a fresh prefix under the package's prefix, or
// fails (CI=true) or skips the test when Redis cannot be reached.
func (s *redisShare) get(t testing.TB) (*redis.Client, string) {
	t.Helper()
	s.once.Do(func() {
		opts, err := redis.ParseURL(redistest.URL())
		if err != nil {
			s.err = err
			return
		}
		c := redis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			_ = c.Close()
			s.err = err
			return
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		s.client, s.prefix = c, "t:readpath:"+hex.EncodeToString(b)+":"
	})
	if s.err != nil {
		storetest.Unavailable(t, "Redis", s.err)
	}
	return s.client, fmt.Sprintf("%s%d:", s.prefix, s.n.Add(1))
}

func (s *redisShare) purge() {
	if s.client == nil {
		return
	}
	defer s.client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	iter := s.client.Scan(ctx, 0, s.prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			s.client.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		s.client.Unlink(ctx, batch...)
	}
}

// backends are the SQL adapters every storage test runs against.
var backends = []string{"sqlite", "postgres"}

// env is one pipeline's storage: an embedded NATS server with the
// pipeline's streams, a SQL database, and Redis under a private prefix
// (nil cache when redisOff). Tests commit to SQL and publish the commit
// records themselves, as a writer does.
type env struct {
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	walCfg wal.Config
	names  wal.Names
	sql    store.Backend
	cache  *rediscache.Cache
	rc     *redis.Client
	walSeq atomic.Uint64 // the WAL sequences tests hand out
}

type envOpts struct {
	backend  string
	redisOff bool
	// redisAddr routes Redis through another address (a storetest.Proxy).
	redisAddr string
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	srv := startServer(t)
	nc := waltest.Connect(t, srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	e := &env{srv: srv, nc: nc, js: js, walCfg: wal.DefaultConfig()}
	e.names = e.walCfg.Names()
	require.NoError(t, wal.Provision(tctx(t), js, e.walCfg))
	var u string
	switch o.backend {
	case "", "sqlite":
		u = storetest.SQLiteURL(t)
	case "postgres":
		u = storetest.PostgresURL(t)
	default:
		t.Fatalf("unknown backend %q", o.backend)
	}
	e.sql, err = sqlopen.Open(tctx(t), u, store.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.sql.Close() })
	if !o.redisOff {
		rc, prefix := sharedRedis.get(t)
		if o.redisAddr != "" {
			opts := rc.Options()
			cp := *opts
			cp.Addr = o.redisAddr
			cp.MaxRetries = -1
			rc = redis.NewClient(&cp)
			t.Cleanup(func() { _ = rc.Close() })
		}
		e.rc = rc
		e.cache, err = rediscache.New(rc, rediscache.Config{Prefix: prefix})
		require.NoError(t, err)
	}
	return e
}

// startServer is waltest.Start with a higher consumers-per-stream limit.
// A stopped wal.CommitFollower leaves its ordered consumer on the server
// until its inactivity threshold (5 minutes), and nats-server allows 1000
// consumers per stream by default: the property test restarts readers and
// reloads filters often enough to reach that.
func startServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
		JetStreamLimits: server.JSLimitOpts{DefaultMaxConsumers: 1_000_000},
	})
	require.NoError(t, err)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// redisHostPort is the test Redis's address, for a proxy in front of it.
func redisHostPort(t testing.TB) string {
	u, err := url.Parse(redistest.URL())
	require.NoError(t, err)
	return u.Host
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// put is a write of id with an explicit version (0: its WAL sequence).
func put(id string, version uint64, payload string) store.Write {
	ct := "application/octet-stream"
	if len(payload) > 0 && payload[0] == '{' {
		ct = "application/json"
	}
	return store.Write{ID: id, Op: store.OpPut, Version: version, Payload: []byte(payload), ContentType: ct}
}

func del(id string, version uint64) store.Write {
	return store.Write{ID: id, Op: store.OpDelete, Version: version}
}

// commit hands out WAL sequences to writes without one, applies them to
// SQL in one batch and publishes the commit record, as a writer does. It
// returns the record's feed sequence (0 when nothing changed).
func (e *env) commit(t testing.TB, writes ...store.Write) (uint64, store.Result) {
	t.Helper()
	for i := range writes {
		if writes[i].Seq == 0 {
			writes[i].Seq = e.walSeq.Add(1)
		}
	}
	res, err := e.sql.ApplyBatch(tctx(t), writes)
	require.NoError(t, err)
	return e.publish(t, res), res
}

// publish sends the commit record of res.
func (e *env) publish(t testing.TB, res store.Result) uint64 {
	t.Helper()
	if len(res.Changes) == 0 {
		return 0
	}
	rec := wal.CommitRecord{V: wal.CommitRecordVersion, Origin: "writer", Writer: "test", Root: res.Root.String()}
	for _, c := range res.Changes {
		cc := wal.CommitChange{ID: c.ID, Version: c.Version, Deleted: c.Deleted, State: c.State,
			CacheTTL: int64(c.CacheTTL / time.Second), Seq: c.Seq}
		if !c.Deleted {
			cc.Leaf, cc.ContentType = c.Leaf.String(), c.ContentType
		}
		rec.Changes = append(rec.Changes, cc)
	}
	seq, err := wal.PublishCommit(tctx(t), e.js, e.names, rec)
	require.NoError(t, err)
	return seq
}

// publishJunk sends an undecodable record: a gap for every follower.
func (e *env) publishJunk(t testing.TB) uint64 {
	t.Helper()
	ack, err := e.js.Publish(tctx(t), e.names.CommitsSubject(), []byte("not a record"))
	require.NoError(t, err)
	return ack.Sequence
}

// toRedis writes what res changed to Redis as the reconciler's fast path
// does (guarded put, or guarded delete at the tombstone's version).
func (e *env) toRedis(t testing.TB, res store.Result) {
	t.Helper()
	for _, c := range res.Changes {
		e.redisSet(t, c.ID)
	}
}

// redisSet makes Redis's copy of id what SQL holds now.
func (e *env) redisSet(t testing.TB, id string) {
	t.Helper()
	it, err := e.sql.Get(tctx(t), id)
	if err == nil {
		_, err = e.cache.PutMany(tctx(t), []rediscache.Entry{{ID: id, Version: it.Version, Payload: it.Payload,
			ContentType: it.ContentType, State: it.State, TTL: it.CacheTTL}})
		require.NoError(t, err)
		return
	}
	require.ErrorIs(t, err, store.ErrNotFound)
	got, ok, err := e.cache.Get(tctx(t), id)
	require.NoError(t, err)
	if ok {
		_, err = e.cache.DeleteMany(tctx(t), []rediscache.Tombstone{{ID: id, Version: got.Version}})
		require.NoError(t, err)
	}
}

// feedLast is the commit feed's last sequence.
func (e *env) feedLast(t testing.TB) uint64 {
	t.Helper()
	st, err := e.js.Stream(tctx(t), e.names.CommitsStream())
	require.NoError(t, err)
	return st.CachedInfo().State.LastSeq
}

// snapshot publishes a filter of SQL's live ids as the reconciler does:
// object "ids" with metadata root, entries and the feed sequence it
// includes (read before the scan). It returns that sequence.
func (e *env) snapshot(t testing.TB) uint64 {
	t.Helper()
	seq := e.feedLast(t)
	root, err := e.sql.Root(tctx(t))
	require.NoError(t, err)
	f := cuckoo.New(1024)
	after := ""
	for {
		page, err := e.sql.ScanLive(tctx(t), after, 500)
		require.NoError(t, err)
		for _, en := range page {
			_ = f.Insert([]byte(en.ID))
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	data, err := f.MarshalBinary()
	require.NoError(t, err)
	objs, err := e.js.ObjectStore(tctx(t), e.names.FiltersBucket())
	require.NoError(t, err)
	_, err = objs.Put(tctx(t), jetstream.ObjectMeta{Name: reconciler.SnapshotObject, Metadata: map[string]string{
		reconciler.MetaRoot:    root.String(),
		reconciler.MetaEntries: fmt.Sprint(f.Count()),
		reconciler.MetaSeq:     fmt.Sprint(seq),
	}}, bytes.NewReader(data))
	require.NoError(t, err)
	return seq
}

// countingSQL is the real store, counting the reads that reach it.
type countingSQL struct {
	store.Backend
	n atomic.Int64
}

func (c *countingSQL) Get(ctx context.Context, id string) (store.Item, error) {
	c.n.Add(1)
	return c.Backend.Get(ctx, id)
}

// countingRedis is the real cache, counting reads.
type countingRedis struct {
	*rediscache.Cache
	n atomic.Int64
}

func (c *countingRedis) Get(ctx context.Context, id string) (rediscache.Entry, bool, error) {
	c.n.Add(1)
	return c.Cache.Get(ctx, id)
}

// testConfig is fast enough for tests: short intervals and backoffs.
func testConfig() readpath.Config {
	return readpath.Config{
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		FilterPoll: 100 * time.Millisecond, LagCheckInterval: 200 * time.Millisecond,
		RedisBackoffMin: 100 * time.Millisecond, RedisBackoffMax: 200 * time.Millisecond,
		SnapshotReadTimeout: time.Second, RedisGrace: 100 * time.Millisecond,
	}
}

type readerOpts struct {
	cfg *readpath.Config
	sql interface {
		Get(context.Context, string) (store.Item, error)
	}
	redis any // *rediscache.Cache or *countingRedis; nil: env's cache
	noL2  bool
}

// reader starts a Reader over e and waits until its L1 follower runs.
func (e *env) reader(t testing.TB, o readerOpts) (*readpath.Reader, *prometheus.Registry) {
	t.Helper()
	cfg := testConfig()
	if o.cfg != nil {
		cfg = *o.cfg
	}
	p := readpath.Params{SQL: e.sql, JetStream: e.js, Names: e.names, Config: cfg}
	if o.sql != nil {
		p.SQL = o.sql
	}
	switch rc := o.redis.(type) {
	case *countingRedis:
		p.Redis = rc
	case nil:
		if e.cache != nil && !o.noL2 {
			p.Redis = e.cache
		}
	}
	reg := prometheus.NewRegistry()
	p.Registerer = reg
	if os.Getenv("READPATH_TEST_LOG") != "" {
		p.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r, err := readpath.New(p)
	require.NoError(t, err)
	require.NoError(t, r.Start(tctx(t)))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, r.Stop(ctx))
		}
	})
	if cfg.L1MaxBytes >= 0 {
		checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
			if !r.L1Enabled() {
				return fmt.Errorf("L1 not enabled")
			}
			return nil
		})
	}
	return r, reg
}

// caughtUp waits until r has applied the feed up to seq: L1 always, the
// filter if it is usable.
func caughtUp(t testing.TB, r *readpath.Reader, seq uint64) {
	t.Helper()
	checkFor(t, 10*time.Second, 2*time.Millisecond, func() error {
		if got := r.L1Applied(); got < seq {
			return fmt.Errorf("L1 follower at %d, want %d", got, seq)
		}
		if r.FilterUsable() && r.FilterApplied() < seq {
			return fmt.Errorf("filter at %d, want %d", r.FilterApplied(), seq)
		}
		return nil
	})
}

// checkFor retries f every step until it returns nil or total elapses.
func checkFor(t testing.TB, total, step time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", total, err)
		}
		time.Sleep(step)
	}
}

// requests reads syncline_read_requests_total{op,source}.
func requests(reg *prometheus.Registry, op, source string) float64 {
	return metricValue(reg, "syncline_read_requests_total", map[string]string{"op": op, "source": source})
}

func fallthroughs(reg *prometheus.Registry, reason string) float64 {
	return metricValue(reg, "syncline_read_fallthrough_total", map[string]string{"reason": reason})
}

func metricValue(reg *prometheus.Registry, name string, labels map[string]string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// requireItem checks a Get's result.
func requireItem(t testing.TB, it ingest.Item, err error, version uint64, payload, source string) {
	t.Helper()
	require.NoError(t, err)
	require.Equal(t, version, it.Version, "version")
	require.Equal(t, payload, string(it.Payload), "payload")
	if source != "" {
		require.Equal(t, source, it.Source, "source")
	}
}
