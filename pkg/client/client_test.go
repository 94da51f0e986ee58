package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/wal"
	"github.com/syncline/syncline/pkg/wal/waltest"
)

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPublishWAL(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	cfg := wal.Config{Prefix: "direct", Partitions: 4}
	cl, err := client.New(nc, client.WithPrefix("direct"), client.WithPartitions(4))
	require.NoError(t, err)

	// Not provisioned yet: unavailable.
	_, err = cl.PublishWAL(tctx(t), wal.Write{ID: "a.b", Op: wal.OpPut, Payload: []byte("x")})
	require.ErrorIs(t, err, item.ErrUnavailable)

	require.NoError(t, wal.Provision(tctx(t), js, cfg))
	ack, err := cl.PublishWAL(tctx(t), wal.Write{ID: "a.b", Op: wal.OpPut, Payload: []byte(`{"k":1}`), Version: 5, MsgID: "m1"})
	require.NoError(t, err)
	require.EqualValues(t, 1, ack.Seq)
	again, err := cl.PublishWAL(tctx(t), wal.Write{ID: "a.b", Op: wal.OpPut, Payload: []byte(`{"k":1}`), Version: 5, MsgID: "m1"})
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, ack.Seq, again.Seq)

	st, err := js.Stream(tctx(t), "DIRECT_WAL")
	require.NoError(t, err)
	m, err := st.GetMsg(tctx(t), 1)
	require.NoError(t, err)
	require.Equal(t, cfg.Names().WALSubjectFor("a.b"), m.Subject)
	w, err := wal.DecodeWrite(&nats.Msg{Header: m.Header, Data: m.Data}, 0)
	require.NoError(t, err)
	require.EqualValues(t, 5, w.Version)

	for _, bad := range []wal.Write{
		{ID: "a..b", Op: wal.OpPut},
		{ID: "a", Op: "x"},
		{ID: "a", Op: wal.OpPut, Payload: []byte("{"), ContentType: item.ContentTypeJSON},
	} {
		_, err := cl.PublishWAL(tctx(t), bad)
		var ie *item.Error
		require.ErrorAs(t, err, &ie, "%+v", bad)
	}
}

// A responder that answers the way other implementations might: error
// headers without a JSON body.
func TestErrorFromHeadersOnly(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	sub, err := nc.Subscribe("sync.put.>", func(m *nats.Msg) {
		h := nats.Header{}
		h.Set("Nats-Service-Error-Code", "503")
		h.Set("Nats-Service-Error", "unavailable: busy")
		h.Set("Retry-After", "4")
		_ = m.RespondMsg(&nats.Msg{Header: h})
	})
	require.NoError(t, err)
	defer sub.Unsubscribe()
	sub2, err := nc.Subscribe("sync.get.>", func(m *nats.Msg) {
		h := nats.Header{}
		h.Set("Nats-Service-Error-Code", "404")
		h.Set("Nats-Service-Error", "gone")
		_ = m.RespondMsg(&nats.Msg{Header: h})
	})
	require.NoError(t, err)
	defer sub2.Unsubscribe()

	cl, err := client.New(nc)
	require.NoError(t, err)
	_, err = cl.Put(tctx(t), "a", []byte("x"))
	var ie *item.Error
	require.ErrorAs(t, err, &ie)
	require.Equal(t, item.CodeUnavailable, ie.Code)
	require.Equal(t, "busy", ie.Message)
	require.Equal(t, 4, ie.RetryAfterSeconds)
	_, err = cl.Get(tctx(t), "a")
	require.ErrorIs(t, err, item.ErrNotFound)
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	sub, err := nc.Subscribe("sync.exists.>", func(*nats.Msg) {}) // never answers
	require.NoError(t, err)
	defer sub.Unsubscribe()
	cl, err := client.New(nc, client.WithTimeout(100*time.Millisecond))
	require.NoError(t, err)
	_, err = cl.Exists(context.Background(), "a")
	require.ErrorIs(t, err, item.ErrUnavailable)

	p, err := cl.NewPipeline(2)
	require.NoError(t, err)
	defer p.Close()
	sub2, err := nc.Subscribe("sync.put.>", func(*nats.Msg) {})
	require.NoError(t, err)
	defer sub2.Unsubscribe()
	f, err := p.Put(tctx(t), "a", []byte("x"))
	require.NoError(t, err)
	_, err = f.Result()
	require.ErrorIs(t, err, item.ErrUnavailable)
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	s := waltest.Start(t, waltest.Options{})
	nc := waltest.Connect(t, s)
	_, err := client.New(nc, client.WithPrefix("a.b"))
	require.Error(t, err)
	_, err = client.New(nc, client.WithTimeout(0))
	require.Error(t, err)
	cl, err := client.New(nc)
	require.NoError(t, err)
	_, err = cl.NewPipeline(0)
	require.Error(t, err)
	_, err = cl.Delete(tctx(t), "a", client.WithCacheTTL(2*item.MaxCacheTTL))
	require.ErrorIs(t, err, item.ErrInvalidHeader)
}
