package rediscache

import (
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
)

// Module provides a *Cache on a client opened from a ClientConfig and
// closed when the app stops (after the stages that use it). It needs a
// ClientConfig and a Config.
var Module = fx.Module("rediscache",
	fx.Provide(
		newClientFx,
		New,
	),
)

func newClientFx(lc fx.Lifecycle, c ClientConfig) (redis.UniversalClient, error) {
	client, err := Open(c)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(client.Close))
	return client, nil
}
