package sqlopen

import (
	"context"
	"time"

	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/store"
)

// Config names the database to open.
type Config struct {
	// URL is postgres://..., postgresql://... or sqlite:<path>. Required.
	URL string
	// OpenTimeout bounds connecting and migrating at start. Default 30s.
	OpenTimeout time.Duration
}

// Validate checks c.
func (c Config) Validate() error {
	_, _, err := Parse(c.URL)
	return err
}

// Module provides the store.Backend that Config.URL names, opened (and
// migrated) when the graph is built and closed when the app stops, after
// the stages that use it. It needs a Config and a store.Config.
var Module = fx.Module("sql",
	fx.Provide(newFx),
)

func newFx(lc fx.Lifecycle, c Config, sc store.Config) (store.Backend, error) {
	if c.OpenTimeout == 0 {
		c.OpenTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.OpenTimeout)
	defer cancel()
	b, err := Open(ctx, c.URL, sc)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(b.Close))
	return b, nil
}
