package ingest_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

type opts struct {
	wal       wal.Config
	ingest    ingest.Config
	server    waltest.Options
	reader    ingest.Reader
	noJS      bool
	provision bool
}

type harness struct {
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	walCfg wal.Config
	svc    *ingest.Service
	pub    *wal.Publisher
	reg    *prometheus.Registry
	cl     *client.Client
	stage  *lifecycle.Stage
}

func start(t testing.TB, o opts) *harness {
	t.Helper()
	var srv *server.Server
	if o.noJS {
		srv = startPlainServer(t)
	} else {
		srv = waltest.Start(t, o.server)
	}
	nc := waltest.Connect(t, srv)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	o.wal = o.wal.WithDefaults()
	if !o.noJS {
		require.NoError(t, wal.Provision(tctx(t), js, o.wal))
	}
	pub, err := wal.NewPublisher(nc, o.wal)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	stage := lifecycle.NewTracker(reg).Stage("ingest")
	svc, err := ingest.New(ingest.Params{
		Conn: nc, JetStream: js, Publisher: pub, WAL: o.wal, Config: o.ingest,
		Reader: o.reader, Registerer: reg, Stage: stage,
	})
	require.NoError(t, err)
	require.NoError(t, svc.Start(tctx(t)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Stop(ctx)
		_ = pub.Close(ctx)
	})
	cl, err := client.New(nc, client.WithPrefix(o.wal.Prefix), client.WithTimeout(5*time.Second))
	require.NoError(t, err)
	return &harness{srv: srv, nc: nc, js: js, walCfg: o.wal, svc: svc, pub: pub, reg: reg, cl: cl, stage: stage}
}

func startPlainServer(t testing.TB) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	require.NoError(t, err)
	go s.Start()
	require.True(t, s.ReadyForConnections(10*time.Second))
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// walMsg returns the stored WAL message at seq.
func (h *harness) walMsg(t *testing.T, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	st, err := h.js.Stream(tctx(t), h.walCfg.Names().WALStream())
	require.NoError(t, err)
	m, err := st.GetMsg(tctx(t), seq)
	require.NoError(t, err)
	return m
}

// raw sends a request to subject, bypassing the client's validation.
func (h *harness) raw(t *testing.T, subject string, data []byte, hdr nats.Header) *nats.Msg {
	t.Helper()
	resp, err := h.nc.RequestMsg(&nats.Msg{Subject: subject, Data: data, Header: hdr}, 5*time.Second)
	require.NoError(t, err)
	return resp
}

// memReader is an in-memory Reader for tests.
type memReader struct {
	mu    sync.Mutex
	items map[string]ingest.Item
	calls []uint64 // minSeq of each Get
}

func (r *memReader) Get(_ context.Context, id string, minSeq uint64) (ingest.Item, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, minSeq)
	it, ok := r.items[id]
	if !ok {
		return ingest.Item{}, item.Errorf(item.CodeNotFound, "no item %s", id)
	}
	return it, nil
}

func (r *memReader) Exists(_ context.Context, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.items[id]
	return ok, nil
}

var ingestSmall = ingest.Config{MaxPayload: 1024}

// counter reads syncline_ingest_requests_total{op,code}.
func counter(t testing.TB, h *harness, op, code string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "syncline_ingest_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == op && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustJS(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}
