package readpath_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/client"
	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/engine/readpath"
	"github.com/syncline/syncline/pkg/engine/writer"
	"github.com/syncline/syncline/pkg/item"
	"github.com/syncline/syncline/pkg/rediscache"
	"github.com/syncline/syncline/pkg/store"
	"github.com/syncline/syncline/pkg/wal"
)

// TestPipelineReadYourWrites runs the real stages: ingest (with this
// Reader) takes puts and deletes, the writer commits them to SQL and
// publishes the commit feed; reads with Sync-After-Seq and strong
// consistency see every acknowledged write, and plain reads converge.
func TestPipelineReadYourWrites(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{backend: b})
			reg := prometheus.NewRegistry()
			w, err := writer.New(writer.Params{JetStream: e.js, WAL: e.walCfg, Store: e.sql, Registerer: reg,
				Config: writer.Config{Name: "w1", FetchWait: 5 * time.Millisecond}})
			require.NoError(t, err)
			require.NoError(t, w.Start(tctx(t)))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = w.Stop(ctx)
			})
			r, rreg := e.reader(t, readerOpts{})
			pub, err := wal.NewPublisher(e.nc, e.walCfg)
			require.NoError(t, err)
			svc, err := ingest.New(ingest.Params{Conn: e.nc, JetStream: e.js, Publisher: pub, WAL: e.walCfg,
				Config: ingest.Config{ReadPoll: 2 * time.Millisecond}, Reader: r, Registerer: reg,
				Stage: lifecycle.NewTracker(reg).Stage("ingest")})
			require.NoError(t, err)
			require.NoError(t, svc.Start(tctx(t)))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = svc.Stop(ctx)
				_ = pub.Close(ctx)
			})
			cl, err := client.New(e.nc, client.WithTimeout(10*time.Second))
			require.NoError(t, err)
			ctx := tctx(t)

			for i := range 20 {
				id := fmt.Sprintf("p.%d", i%4)
				payload := fmt.Sprintf(`{"n":%d}`, i)
				res, err := cl.Put(ctx, id, []byte(payload))
				require.NoError(t, err)
				got, err := cl.Get(ctx, id, client.WithAfterSeq(res.Seq))
				require.NoError(t, err)
				require.Equal(t, payload, string(got.Payload), "read after seq %d", res.Seq)
				require.Equal(t, res.Version, got.Version)
				got, err = cl.Get(ctx, id, client.WithStrong())
				require.NoError(t, err)
				require.Equal(t, payload, string(got.Payload))
				ok, err := cl.Exists(ctx, id)
				require.NoError(t, err)
				require.True(t, ok)
			}
			res, err := cl.Delete(ctx, "p.1")
			require.NoError(t, err)
			_, err = cl.Get(ctx, "p.1", client.WithAfterSeq(res.Seq))
			require.ErrorIs(t, err, item.ErrNotFound)
			checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
				if ok, err := cl.Exists(ctx, "p.1"); err != nil || ok {
					return fmt.Errorf("exists after delete: %v %v", ok, err)
				}
				return nil
			})
			// Plain reads are served from L1 once filled.
			got, err := cl.Get(ctx, "p.2")
			require.NoError(t, err)
			require.Equal(t, `{"n":18}`, string(got.Payload))
			got, err = cl.Get(ctx, "p.2")
			require.NoError(t, err)
			require.Equal(t, "l1", got.Source)
			require.Greater(t, requests(rreg, "get", "l3"), 0.0)
		})
	}
}

// TestModuleGraph checks that Module wires into an app the way the
// composition roots do, with and without Redis.
func TestModuleGraph(t *testing.T) {
	t.Parallel()
	base := fx.Options(
		fx.NopLogger,
		fx.Supply(wal.Config{}, lifecycle.HTTPConfig{Addr: "127.0.0.1:0"}, slog.New(slog.NewTextHandler(io.Discard, nil))),
		fx.Provide(
			func() *nats.Conn { return nil },
			func() store.Backend { return nil },
			func() jetstream.JetStream { return nil },
			wal.Config.Names,
		),
		lifecycle.Module,
		readpath.Module,
		fx.Invoke(func(ingest.Reader) {}),
	)
	require.NoError(t, fx.ValidateApp(base))
	require.NoError(t, fx.ValidateApp(base, fx.Supply(readpath.Config{L1MaxBytes: 1 << 20}),
		fx.Provide(func() *rediscache.Cache { return nil })))
}
