package natsconn

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"go.uber.org/fx"
)

// Module provides the *nats.Conn, opened from a Config when the graph is
// built and drained when the app stops (after every stage using it).
var Module = fx.Module("natsconn",
	fx.Provide(newFx),
)

func newFx(lc fx.Lifecycle, c Config, log *slog.Logger) (*nats.Conn, error) {
	nc, err := Connect(c, log)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(func(ctx context.Context) error { return Drain(ctx, nc) }))
	return nc, nil
}

// Drain drains nc and waits until it is closed or ctx ends.
func Drain(ctx context.Context, nc *nats.Conn) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return nil
	}
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		nc.Close()
		return ctx.Err()
	}
}
