// Package procflags binds the settings every Syncline process shares
// (DESIGN.md §5) to flags and SYNCLINE_* environment variables, and builds
// the process logger. Only composition roots (cmd/*, the CLI) use it.
package procflags

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/syncline/syncline/internal/envflag"
	"github.com/syncline/syncline/pkg/engine/lifecycle"
	"github.com/syncline/syncline/pkg/natsconn"
	"github.com/syncline/syncline/pkg/wal"
)

// Need selects the optional groups of settings a process reads.
type Need uint8

// The optional groups.
const (
	NeedSQL Need = 1 << iota
	NeedRedis
	NeedHTTP
	// OptionalSQL binds --sql-url without requiring it.
	OptionalSQL
)

// Settings are the shared process settings.
type Settings struct {
	NATS        natsconn.Config
	WAL         wal.Config
	HTTP        lifecycle.HTTPConfig
	SQLURL      string
	RedisURL    string
	RedisPrefix string
	LogLevel    string
	LogFormat   string
	// Durability is the resolved durability of an ingest (reported in
	// status); empty for other processes.
	Durability string
}

// Bind defines the flags on fs, with defaults from the environment.
func Bind(fs *pflag.FlagSet, s *Settings, need Need) *envflag.Set {
	e := envflag.New(fs)
	BindTo(e, s, need)
	return e
}

// BindTo defines the flags through e (whose environment lookup may be
// injected).
func BindTo(e *envflag.Set, s *Settings, need Need) {
	e.String(&s.NATS.URLs, "nats-url", "SYNCLINE_NATS_URL", natsconn.DefaultURL, "NATS servers, comma-separated")
	e.String(&s.NATS.CredsFile, "nats-creds", "SYNCLINE_NATS_CREDS", "", "NATS credentials (JWT) file")
	e.String(&s.NATS.NKeyFile, "nats-nkey", "SYNCLINE_NATS_NKEY", "", "NATS nkey seed file")
	e.String(&s.NATS.User, "nats-user", "SYNCLINE_NATS_USER", "", "NATS user")
	e.String(&s.NATS.Password, "nats-password", "SYNCLINE_NATS_PASSWORD", "", "NATS password")
	e.String(&s.NATS.TLSCAFile, "nats-tls-ca", "SYNCLINE_NATS_TLS_CA", "", "CA bundle to verify NATS servers (enables TLS)")
	e.String(&s.WAL.Prefix, "prefix", "SYNCLINE_PREFIX", wal.DefaultPrefix, "subject prefix; stream names derive from it")
	e.Int(&s.WAL.Replicas, "wal-replicas", "SYNCLINE_WAL_REPLICAS", 1, "replicas of every stream and bucket (3 in production)")
	e.Int64(&s.WAL.MaxBytes, "wal-max-bytes", "SYNCLINE_WAL_MAX_BYTES", -1, "WAL size limit in bytes; a full WAL refuses writes with 503 (-1: unlimited). Give every process the same value: each provisions the streams at start")
	e.Int64(&s.WAL.MaxMsgs, "wal-max-msgs", "SYNCLINE_WAL_MAX_MSGS", -1, "WAL limit in messages (-1: unlimited); same rule as --wal-max-bytes")
	e.Duration(&s.WAL.DuplicateWindow, "wal-duplicate-window", "SYNCLINE_WAL_DUPLICATE_WINDOW", 2*time.Minute, "Nats-Msg-Id de-duplication window")
	e.String(&s.LogLevel, "log-level", "SYNCLINE_LOG_LEVEL", "info", "debug, info, warn or error")
	e.String(&s.LogFormat, "log-format", "SYNCLINE_LOG_FORMAT", "json", "json or text")
	if need&NeedHTTP != 0 {
		e.String(&s.HTTP.Addr, "http-addr", "SYNCLINE_HTTP_ADDR", "127.0.0.1:0", "address of /metrics, /healthz, /readyz (port 0: any free port, printed at start)")
		e.Bool(&s.HTTP.Pprof, "pprof", "SYNCLINE_PPROF", false, "serve /debug/pprof on the HTTP address")
	}
	if need&(NeedSQL|OptionalSQL) != 0 {
		e.String(&s.SQLURL, "sql-url", "SYNCLINE_SQL_URL", "", "postgres://... or sqlite:<path>")
	}
	if need&NeedRedis != 0 {
		e.String(&s.RedisURL, "redis-url", "SYNCLINE_REDIS_URL", "", "redis://...; unset = no Redis tier")
		e.String(&s.RedisPrefix, "redis-prefix", "SYNCLINE_REDIS_PREFIX", "sync:", "Redis key prefix")
	}
}

// Validate checks the settings a process needs.
func (s Settings) Validate(need Need) error {
	if err := s.NATS.Validate(); err != nil {
		return err
	}
	if err := s.WAL.Validate(); err != nil {
		return err
	}
	if need&NeedHTTP != 0 {
		if err := s.HTTP.Validate(); err != nil {
			return err
		}
	}
	if need&NeedSQL != 0 && s.SQLURL == "" {
		return fmt.Errorf("procflags: --sql-url or SYNCLINE_SQL_URL is required")
	}
	if _, err := parseLevel(s.LogLevel); err != nil {
		return err
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return l, fmt.Errorf("procflags: log level %q: %w", s, err)
	}
	return l, nil
}

// Logger builds the process logger tagged with process.
func (s Settings) Logger(w io.Writer, process string) *slog.Logger {
	lvl, _ := parseLevel(s.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if s.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("process", process)
}
