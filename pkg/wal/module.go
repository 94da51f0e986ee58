package wal

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"
)

// Module provides a jetstream.JetStream on the app's *nats.Conn, the Names
// derived from the Config, and a *Publisher (closed on stop, after the
// stages that use it), and provisions every stream, consumer and bucket
// when the app starts. It needs a *nats.Conn and a Config.
var Module = fx.Module("wal",
	fx.Provide(
		newJetStream,
		Config.Names,
		newPublisher,
	),
	fx.Invoke(provisionOnStart),
)

func newJetStream(nc *nats.Conn) (jetstream.JetStream, error) { return jetstream.New(nc) }

func newPublisher(lc fx.Lifecycle, nc *nats.Conn, cfg Config) (*Publisher, error) {
	p, err := NewPublisher(nc, cfg)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(func(ctx context.Context) error { return p.Close(ctx) }))
	return p, nil
}

func provisionOnStart(lc fx.Lifecycle, js jetstream.JetStream, cfg Config) {
	lc.Append(fx.StartHook(func(ctx context.Context) error { return Provision(ctx, js, cfg) }))
}
