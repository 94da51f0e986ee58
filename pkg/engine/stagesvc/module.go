package stagesvc

import (
	"context"

	"go.uber.org/fx"
)

// Module registers the announcer with the app's lifecycle. It needs a
// Config, a *nats.Conn, the lifecycle Tracker and Server.
var Module = fx.Module("stagesvc",
	fx.Provide(New),
	fx.Invoke(func(lc fx.Lifecycle, a *Announcer) {
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { return a.Start() },
			OnStop:  func(context.Context) error { return a.Stop() },
		})
	}),
)
