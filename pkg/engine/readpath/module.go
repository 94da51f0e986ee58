package readpath

import (
	"go.uber.org/fx"

	"github.com/syncline/syncline/pkg/engine/ingest"
	"github.com/syncline/syncline/pkg/store"
)

// Module provides the ingest.Reader over a store.Backend.
var Module = fx.Module("readpath",
	fx.Provide(
		func(b store.Backend) *Reader { return New(b) },
		func(r *Reader) ingest.Reader { return r },
	),
)
