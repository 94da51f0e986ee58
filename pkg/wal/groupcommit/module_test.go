package groupcommit_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/syncline/syncline/pkg/wal/groupcommit"
	"github.com/syncline/syncline/pkg/wal/waltest"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

func TestModuleStartsAndStopsTheCommitter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, waltest.Options{}, nil)
	var c *groupcommit.Committer
	app := fxtest.New(t,
		fx.Supply(e.nc, testConfig(nil), slog.New(slog.DiscardHandler)),
		fx.Provide(func() prometheus.Registerer { return prometheus.NewRegistry() }),
		groupcommit.Module,
		fx.Populate(&c),
	)
	app.RequireStart()
	ack, err := c.Publish(context.Background(), walMsg("via-fx"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), ack.Seq)
	app.RequireStop()
	_, err = c.Publish(context.Background(), walMsg("after-stop"))
	require.ErrorIs(t, err, groupcommit.ErrStopped)
}
