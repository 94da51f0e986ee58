package item

// Headers of per-write routing and change-data-capture origins
// (docs/query.md).
const (
	// HeaderRoute selects where a write goes: default, durable or cache.
	HeaderRoute = "Sync-Route"
	// HeaderOrigin names the pipeline a write comes from; it travels
	// through the WAL into the commit record's per-change origin, so that
	// replicators can skip their own writes.
	HeaderOrigin = "Sync-Origin"
)

// Route is where a write goes.
type Route string

// The routes. The zero value is RouteDefault.
const (
	// RouteDefault: WAL, SQL, then Redis (the reconciler copies it).
	RouteDefault Route = ""
	// RouteDurable: WAL and SQL only. The reconciler never puts the item
	// into Redis; the Redis merkle tree still counts its leaf (through the
	// item's ghost), so both trees keep agreeing.
	RouteDurable Route = "durable"
	// RouteCache: Redis only, with a TTL, written by ingest directly: no
	// WAL, no SQL, no ordering promise, not in the merkle trees.
	RouteCache Route = "cache"
)

// String returns the header form ("default" for RouteDefault).
func (r Route) String() string {
	if r == RouteDefault {
		return "default"
	}
	return string(r)
}

// ParseRoute parses a Sync-Route value: default, durable or cache.
func ParseRoute(s string) (Route, error) {
	switch s {
	case "default":
		return RouteDefault, nil
	case string(RouteDurable):
		return RouteDurable, nil
	case string(RouteCache):
		return RouteCache, nil
	}
	return "", Errorf(CodeInvalidHeader, "Sync-Route %q is not default, durable or cache", clip(s))
}

// MaxOriginLen is the longest origin name.
const MaxOriginLen = 64

// ParseOrigin validates a Sync-Origin value: 1..64 chars of
// [A-Za-z0-9_.-], like a state.
func ParseOrigin(s string) (string, error) {
	if len(s) == 0 || len(s) > MaxOriginLen {
		return "", Errorf(CodeInvalidHeader, "Sync-Origin must be 1..%d characters", MaxOriginLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return "", Errorf(CodeInvalidHeader, "Sync-Origin has a character outside [A-Za-z0-9_.-] at %d", i)
		}
	}
	return s, nil
}
