package check

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/stretchr/testify/require"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// The role tests start an embedded server from deployments/nats/test-auth.conf
// and drive every role through the operations its process performs, with
// the same nats.go APIs (jetstream, micro, KV, object store, ordered
// consumers, atomic batches). Each operation a role needs must work; the
// operations a role must not have are refused with a permissions violation.

var testPasswords = map[string]string{
	"ingest":     "ingest-pass",
	"writer":     "writer-pass",
	"reconciler": "reconciler-pass",
	"producer":   "producer-pass",
	"operator":   "operator-pass",
	"client":     "client-pass",
	"sys":        "sys-pass",
}

func startAuthServer(t *testing.T) *server.Server {
	t.Helper()
	opts, err := server.ProcessConfigFile(repoPath(t, "deployments/nats/test-auth.conf"))
	require.NoError(t, err)
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	require.NoError(t, err)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// roleConn is a connection that records the permission violations the
// server reports asynchronously.
type roleConn struct {
	*nats.Conn
	mu         sync.Mutex
	violations []string
}

func (c *roleConn) violated(subject string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.violations {
		if strings.Contains(v, `"`+subject+`"`) {
			return true
		}
	}
	return false
}

func connectAs(t *testing.T, s *server.Server, user string) *roleConn {
	t.Helper()
	rc := &roleConn{}
	nc, err := nats.Connect(s.ClientURL(),
		nats.UserInfo(user, testPasswords[user]),
		nats.Name("check-"+user),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				rc.mu.Lock()
				rc.violations = append(rc.violations, err.Error())
				rc.mu.Unlock()
			}
		}))
	require.NoError(t, err, "connect as %s", user)
	t.Cleanup(nc.Close)
	rc.Conn = nc
	return rc
}

func newJS(t *testing.T, nc *roleConn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc.Conn)
	require.NoError(t, err)
	return js
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// requireDenied runs op, which must fail, and requires that the server
// reported a permissions violation for subject.
func requireDenied(t *testing.T, nc *roleConn, subject string, op func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 750*time.Millisecond)
	defer cancel()
	err := op(ctx)
	require.Error(t, err, "%s must be refused", subject)
	require.Eventually(t, func() bool { return nc.violated(subject) }, 2*time.Second, 10*time.Millisecond,
		"no permissions violation reported for %q (op error: %v)", subject, err)
}

func requireSubDenied(t *testing.T, nc *roleConn, subject string) {
	t.Helper()
	sub, err := nc.SubscribeSync(subject)
	require.NoError(t, err)
	defer func() { _ = sub.Unsubscribe() }()
	require.NoError(t, nc.Flush())
	require.Eventually(t, func() bool { return nc.violated(subject) }, 2*time.Second, 10*time.Millisecond,
		"subscription to %q must be refused", subject)
}

func TestNATSRolesAuthentication(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t)

	_, err := nats.Connect(s.ClientURL(), nats.NoReconnect())
	require.Error(t, err, "anonymous connection must be refused")
	require.ErrorContains(t, err, "Authorization Violation")

	_, err = nats.Connect(s.ClientURL(), nats.UserInfo("writer", "ingest-pass"), nats.NoReconnect())
	require.Error(t, err, "wrong password must be refused")

	for user := range testPasswords {
		connectAs(t, s, user)
	}
}

type putReply struct {
	ID      string `json:"id"`
	Version uint64 `json:"version"`
	Seq     uint64 `json:"seq"`
}

func TestNATSRolesPipeline(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t)
	ingest := connectAs(t, s, "ingest")
	writer := connectAs(t, s, "writer")
	reconciler := connectAs(t, s, "reconciler")
	producer := connectAs(t, s, "producer")
	operator := connectAs(t, s, "operator")
	client := connectAs(t, s, "client")

	ctx := ctxT(t, 60*time.Second)

	// Every process provisions every asset at start (wal.Provision):
	// each role must be able to, in any order.
	for _, nc := range []*roleConn{ingest, writer, reconciler} {
		provision(t, ctx, newJS(t, nc))
	}
	wjs := newJS(t, writer)
	writers, err := wjs.Consumer(ctx, "SYNC_WAL", "writers") // as wal.NewConsumer binds it
	require.NoError(t, err)

	// Ingest: stream info, atomic batch append (group commit), the micro
	// service answering clients.
	ijs := newJS(t, ingest)
	_, err = ijs.Stream(ctx, "SYNC_WAL")
	require.NoError(t, err)
	batch := []*nats.Msg{walMsg("sync.wal.1", "a.b.1", "put"), walMsg("sync.wal.2", "a.b.2", "put")}
	_, err = jetstreamext.PublishMsgBatch(ctx, ijs, batch)
	require.NoError(t, err)

	svc, err := micro.AddService(ingest.Conn, micro.Config{Name: "syncline", Version: "0.0.1"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Stop() })
	for i, subject := range clientSubjects {
		op := strings.Split(subject, ".")[1]
		require.NoError(t, svc.AddEndpoint("ep"+strconv.Itoa(i), micro.HandlerFunc(func(req micro.Request) {
			id := strings.TrimPrefix(req.Subject(), "sync."+op+".")
			if op != "put" {
				_ = req.RespondJSON(map[string]bool{"exists": false})
				return
			}
			ack, err := ijs.PublishMsg(context.Background(), walMsg("sync.wal.3", id, "put"))
			if err != nil {
				_ = req.Error("503", "unavailable", nil)
				return
			}
			_ = req.RespondJSON(putReply{ID: id, Version: ack.Sequence, Seq: ack.Sequence})
		}), micro.WithEndpointSubject(subject)))
	}
	require.NoError(t, ingest.Flush()) // the server has the subscriptions before clients ask

	// Client (account APP) goes through the service import.
	resp, err := client.Request("sync.put.tenant.orders.4711", []byte(`{"n":1}`), 5*time.Second)
	require.NoError(t, err)
	var pr putReply
	require.NoError(t, json.Unmarshal(resp.Data, &pr))
	require.Equal(t, "tenant.orders.4711", pr.ID)
	require.Positive(t, pr.Seq)
	for _, subject := range clientSubjects {
		subject = strings.Replace(subject, ">", "tenant.orders.4711", 1)
		_, err = client.Request(subject, nil, 5*time.Second)
		require.NoError(t, err, subject)
	}

	// Ingest reads the writers' ack floor for Sync-After-Seq.
	_, err = ijs.Consumer(ctx, "SYNC_WAL", "writers")
	require.NoError(t, err)

	// Producer appends directly.
	pjs := newJS(t, producer)
	_, err = pjs.PublishMsg(ctx, walMsg("sync.wal.4", "a.b.3", "put"))
	require.NoError(t, err)
	_, err = pjs.Stream(ctx, "SYNC_WAL")
	require.NoError(t, err)

	// Writer drains: ack, nak with delay, term; DLQ copy; commit feed.
	msgs, err := writers.Fetch(4, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	n := 0
	for m := range msgs.Messages() {
		switch n {
		case 0:
			require.NoError(t, m.NakWithDelay(time.Millisecond))
		case 1:
			require.NoError(t, m.TermWithReason("invalid_id"))
			_, err := wjs.PublishMsg(ctx, dlqCopy(m, "invalid_id"))
			require.NoError(t, err)
		default:
			require.NoError(t, m.DoubleAck(ctx))
		}
		n++
	}
	require.NoError(t, msgs.Error())
	require.Equal(t, 4, n)
	_, err = wjs.Publish(ctx, "sync.commits", []byte(`{"changes":[{"id":"a.b.1","version":1}],"root":"00"}`))
	require.NoError(t, err)
	info, err := writers.Info(ctx)
	require.NoError(t, err)
	require.LessOrEqual(t, info.NumPending, uint64(1))
	dlq, err := wjs.Stream(ctx, "SYNC_DLQ")
	require.NoError(t, err)
	require.Equal(t, uint64(1), dlq.CachedInfo().State.Msgs)

	// Reconciler: lease (KV with a bucket TTL), filter snapshot (object
	// store, multi-chunk, overwritten), commit feed (ordered consumer).
	rjs := newJS(t, reconciler)
	leases, err := rjs.KeyValue(ctx, "SYNC_LEASES")
	require.NoError(t, err)
	status, err := leases.Status(ctx)
	require.NoError(t, err)
	require.Positive(t, status.TTL())
	watch, err := leases.Watch(ctx, "reconciler", jetstream.UpdatesOnly())
	require.NoError(t, err)
	rev, err := leases.Create(ctx, "reconciler", []byte("pod-a"))
	require.NoError(t, err)
	rev, err = leases.Update(ctx, "reconciler", []byte("pod-a"), rev)
	require.NoError(t, err)
	entry, err := leases.Get(ctx, "reconciler")
	require.NoError(t, err)
	require.Equal(t, rev, entry.Revision())
	select {
	case e := <-watch.Updates():
		require.NotNil(t, e)
	case <-ctx.Done():
		t.Fatal("lease watch got nothing")
	}
	require.NoError(t, watch.Stop())
	require.NoError(t, leases.Delete(ctx, "reconciler", jetstream.LastRevision(rev)))
	_, err = leases.Create(ctx, "reconciler", []byte("pod-b"))
	require.NoError(t, err, "take-over after a released lease")

	filters, err := rjs.ObjectStore(ctx, "SYNC_FILTERS")
	require.NoError(t, err)
	_, err = filters.GetInfo(ctx, "ids")
	require.ErrorIs(t, err, jetstream.ErrObjectNotFound)
	snapshot := make([]byte, 6<<20) // many 128 KiB chunks: exercises flow control
	for i := range snapshot {
		snapshot[i] = byte(i)
	}
	meta := jetstream.ObjectMeta{Name: "ids", Metadata: map[string]string{"root": "00", "entries": "3", "commits_seq": "1"}}
	_, err = filters.Put(ctx, meta, strings.NewReader(string(snapshot)))
	require.NoError(t, err)
	_, err = filters.Put(ctx, meta, strings.NewReader(string(snapshot))) // overwrite purges old chunks
	require.NoError(t, err)
	got, err := filters.GetBytes(ctx, "ids")
	require.NoError(t, err)
	require.Equal(t, snapshot, got)

	readCommits(t, ctx, rjs)

	// Ingest reads the filter snapshot, watches for new ones, follows the
	// commit feed.
	ifilters, err := ijs.ObjectStore(ctx, "SYNC_FILTERS")
	require.NoError(t, err)
	ow, err := ifilters.Watch(ctx, jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	require.NoError(t, err)
	_, err = filters.Put(ctx, meta, strings.NewReader(string(snapshot))) // a new snapshot while ingest watches
	require.NoError(t, err)
	select {
	case e := <-ow.Updates():
		require.NotNil(t, e)
		require.Equal(t, "ids", e.Name)
	case <-ctx.Done():
		t.Fatal("filter watch got nothing")
	}
	require.NoError(t, ow.Stop())
	oi, err := ifilters.GetInfo(ctx, "ids")
	require.NoError(t, err)
	require.Equal(t, "1", oi.Metadata["commits_seq"])
	got, err = ifilters.GetBytes(ctx, "ids")
	require.NoError(t, err)
	require.Equal(t, snapshot, got)
	readCommits(t, ctx, ijs)

	// Every stage runs the micro service "syncline-stage" with its status
	// endpoint; the reconciler leader also serves verify and repair.
	for _, nc := range []*roleConn{ingest, writer, reconciler} {
		stage, err := micro.AddService(nc.Conn, micro.Config{Name: "syncline-stage", Version: "0.0.1"})
		require.NoError(t, err)
		t.Cleanup(func() { _ = stage.Stop() })
		subjects := []string{"sync.admin.state." + stage.Info().ID}
		if nc == reconciler {
			subjects = append(subjects, "sync.admin.verify", "sync.admin.repair")
		}
		for i, subject := range subjects {
			require.NoError(t, stage.AddEndpoint("admin"+strconv.Itoa(i), micro.HandlerFunc(func(req micro.Request) {
				_ = req.RespondJSON(map[string]string{"state": "running"})
			}), micro.WithEndpointSubject(subject)))
		}
		require.NoError(t, nc.Flush())
		for _, subject := range append(subjects, "$SRV.PING.syncline-stage."+stage.Info().ID) {
			_, err := operator.Request(subject, []byte("{}"), 5*time.Second)
			require.NoError(t, err, subject)
		}
		require.False(t, nc.violated("$SRV.PING"), "stage service discovery refused")
	}

	// Operator sees everything: DLQ message, micro discovery.
	ojs := newJS(t, operator)
	odlq, err := ojs.Stream(ctx, "SYNC_DLQ")
	require.NoError(t, err)
	_, err = odlq.GetMsg(ctx, 1)
	require.NoError(t, err)
	ping, err := operator.Request("$SRV.PING.syncline", nil, 5*time.Second)
	require.NoError(t, err)
	require.Contains(t, string(ping.Data), "syncline")

	t.Run("client cannot touch the pipeline", func(t *testing.T) {
		t.Parallel()
		cjs := newJS(t, client)
		requireDenied(t, client, "sync.wal.1", func(ctx context.Context) error {
			_, err := cjs.PublishMsg(ctx, walMsg("sync.wal.1", "evil", "put"))
			return err
		})
		requireDenied(t, client, "$JS.API.STREAM.INFO.OBJ_SYNC_FILTERS", func(ctx context.Context) error {
			_, err := cjs.ObjectStore(ctx, "SYNC_FILTERS")
			return err
		})
		requireDenied(t, client, "$JS.API.STREAM.INFO.KV_SYNC_LEASES", func(ctx context.Context) error {
			_, err := cjs.KeyValue(ctx, "SYNC_LEASES")
			return err
		})
		requireDenied(t, client, "$KV.SYNC_LEASES.reconciler", func(context.Context) error {
			_, err := client.Request("$KV.SYNC_LEASES.reconciler", []byte("evil"), 500*time.Millisecond)
			return err
		})
		requireDenied(t, client, "$O.SYNC_FILTERS.M.aWRz", func(context.Context) error {
			_, err := client.Request("$O.SYNC_FILTERS.M.aWRz", []byte("{}"), 500*time.Millisecond)
			return err
		})
		requireDenied(t, client, "sync.admin.repair", func(context.Context) error {
			_, err := client.Request("sync.admin.repair", []byte("{}"), 500*time.Millisecond)
			return err
		})
		requireSubDenied(t, client, "sync.wal.>")
		requireSubDenied(t, client, "sync.put.>")
	})

	t.Run("ingest cannot write filters, leases, feed or DLQ", func(t *testing.T) {
		t.Parallel()
		requireDenied(t, ingest, "$O.SYNC_FILTERS.C.x", func(context.Context) error {
			_, err := ingest.Request("$O.SYNC_FILTERS.C.x", []byte("x"), 500*time.Millisecond)
			return err
		})
		requireDenied(t, ingest, "$KV.SYNC_LEASES.reconciler", func(context.Context) error {
			_, err := ingest.Request("$KV.SYNC_LEASES.reconciler", []byte("x"), 500*time.Millisecond)
			return err
		})
		requireDenied(t, ingest, "sync.commits", func(ctx context.Context) error {
			_, err := ijs.Publish(ctx, "sync.commits", []byte("{}"))
			return err
		})
		requireDenied(t, ingest, "$JS.API.CONSUMER.MSG.NEXT.SYNC_WAL.writers", func(ctx context.Context) error {
			c, err := ijs.Consumer(ctx, "SYNC_WAL", "writers")
			if err != nil {
				return err
			}
			_, err = c.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
			return err
		})
	})

	t.Run("writer cannot touch leases, filters or append to the WAL", func(t *testing.T) {
		t.Parallel()
		requireDenied(t, writer, "$KV.SYNC_LEASES.reconciler", func(ctx context.Context) error {
			kv, err := wjs.KeyValue(ctx, "SYNC_LEASES")
			if err != nil {
				return err
			}
			_, err = kv.Put(ctx, "reconciler", []byte("writer"))
			return err
		})
		requireDenied(t, writer, "$JS.API.DIRECT.GET.OBJ_SYNC_FILTERS.$O.SYNC_FILTERS.M.aWRz", func(ctx context.Context) error {
			obs, err := wjs.ObjectStore(ctx, "SYNC_FILTERS")
			if err != nil {
				return err
			}
			_, err = obs.GetInfo(ctx, "ids")
			return err
		})
		requireDenied(t, writer, "sync.wal.1", func(ctx context.Context) error {
			_, err := wjs.PublishMsg(ctx, walMsg("sync.wal.1", "x", "put"))
			return err
		})
	})

	t.Run("reconciler cannot append to the WAL or consume it", func(t *testing.T) {
		t.Parallel()
		requireDenied(t, reconciler, "sync.wal.1", func(ctx context.Context) error {
			_, err := rjs.PublishMsg(ctx, walMsg("sync.wal.1", "x", "put"))
			return err
		})
		requireDenied(t, reconciler, "$JS.API.CONSUMER.MSG.NEXT.SYNC_WAL.writers", func(ctx context.Context) error {
			c, err := rjs.Consumer(ctx, "SYNC_WAL", "writers")
			if err != nil {
				return err
			}
			_, err = c.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
			return err
		})
	})

	t.Run("producer can only append", func(t *testing.T) {
		t.Parallel()
		requireDenied(t, producer, "$JS.API.CONSUMER.INFO.SYNC_WAL.writers", func(ctx context.Context) error {
			_, err := pjs.Consumer(ctx, "SYNC_WAL", "writers")
			return err
		})
		requireDenied(t, producer, "$JS.API.STREAM.DELETE.SYNC_WAL", func(ctx context.Context) error {
			return pjs.DeleteStream(ctx, "SYNC_WAL")
		})
	})
}

// clientSubjects are the subjects of the client API: the micro service's
// endpoints and the service exports of account SYNCLINE.
var clientSubjects = []string{
	"sync.put.>", "sync.del.>", "sync.get.>", "sync.exists.>",
	"sync.list", "sync.list.>", "sync.count", "sync.count.>",
	"sync.delprefix", "sync.delprefix.>", "sync.mget",
	"sync.setstate.>", "sync.is_current.>",
}

// provision mirrors pkg/wal.Provision, which every Syncline process runs at
// start: the WAL, DLQ and commit streams, the writers consumer, the filter
// object store and the lease bucket, created or updated.
func provision(t *testing.T, ctx context.Context, js jetstream.JetStream) {
	t.Helper()
	for _, sc := range []jetstream.StreamConfig{
		{
			Name: "SYNC_WAL", Subjects: []string{"sync.wal.*"}, Retention: jetstream.LimitsPolicy,
			Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew, MaxBytes: 64 << 20,
			MaxMsgSize: 2 << 20, Duplicates: 2 * time.Minute, AllowAtomicPublish: true, AllowDirect: true,
		},
		{Name: "SYNC_DLQ", Subjects: []string{"sync.dlq.*"}, Storage: jetstream.FileStorage, MaxAge: 24 * time.Hour},
		{Name: "SYNC_COMMITS", Subjects: []string{"sync.commits"}, Storage: jetstream.FileStorage, MaxAge: time.Hour, AllowDirect: true},
	} {
		_, err := js.CreateOrUpdateStream(ctx, sc)
		require.NoError(t, err, sc.Name)
	}
	_, err := js.CreateOrUpdateConsumer(ctx, "SYNC_WAL", jetstream.ConsumerConfig{
		Durable: "writers", DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 30 * time.Second, MaxDeliver: 10, MaxAckPending: 10000, ReplayPolicy: jetstream.ReplayInstantPolicy,
	})
	require.NoError(t, err)
	_, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "SYNC_FILTERS", Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: "SYNC_LEASES", History: 1, TTL: 15 * time.Second, Storage: jetstream.FileStorage,
	})
	require.NoError(t, err)
}

// readCommits reads the commit feed from the start with an ordered
// consumer, as ingest and the reconciler do.
func readCommits(t *testing.T, ctx context.Context, js jetstream.JetStream) {
	t.Helper()
	oc, err := js.OrderedConsumer(ctx, "SYNC_COMMITS", jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	m, err := oc.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	require.Contains(t, string(m.Data()), "changes")
}

func walMsg(subject, id, op string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set("Sync-Id", id)
	m.Header.Set("Sync-Op", op)
	m.Data = []byte(`{"n":1}`)
	return m
}

// dlqCopy copies a WAL message for SYNC_DLQ. JetStream's own Nats-* headers
// must not travel along: a WAL message written by an atomic batch carries
// Nats-Batch-Id/-Sequence/-Commit, and republishing those into SYNC_DLQ is
// refused ("atomic publish is disabled"); Nats-Msg-Id would be deduplicated
// and Nats-Expected-* would be checked against the wrong stream.
func dlqCopy(m jetstream.Msg, reason string) *nats.Msg {
	out := nats.NewMsg("sync.dlq." + reason)
	for k, vs := range m.Headers() {
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			continue
		}
		out.Header[k] = vs
	}
	md, _ := m.Metadata()
	out.Header.Set("Sync-DLQ-Reason", reason)
	if md != nil {
		out.Header.Set("Sync-DLQ-Seq", strconv.FormatUint(md.Sequence.Stream, 10))
	}
	out.Data = m.Data()
	return out
}
