// Package natsconn opens the process's NATS connection from a plain Config:
// servers, auth (creds file, nkey seed file, user/password), TLS CA,
// reconnects with backoff and jitter, and slog logging of disconnects and
// reconnects. Secrets never reach the logs: URLs are printed redacted.
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Config describes one NATS connection. Zero fields take the defaults.
type Config struct {
	// URLs are the servers, comma-separated. Default nats://127.0.0.1:4222.
	URLs string
	// Name is the client name shown by the server (the process role).
	Name string
	// CredsFile is a JWT credentials file.
	CredsFile string
	// NKeyFile is an nkey seed file.
	NKeyFile string
	// User and Password authenticate with a user/password pair.
	User     string
	Password string
	// TLSCAFile is a CA bundle to verify the servers with (enables TLS).
	TLSCAFile string
	// ReconnectWait is the base wait between reconnect attempts. Default 250ms.
	ReconnectWait time.Duration
	// ReconnectJitter is added at random to each wait. Default 250ms.
	ReconnectJitter time.Duration
	// MaxReconnects is the reconnect attempt limit; -1 (default) is forever.
	MaxReconnects int
	// ConnectTimeout bounds each dial. Default 5s.
	ConnectTimeout time.Duration
	// RetryOnFailedConnect keeps trying in the background when the first
	// connect fails, instead of failing start-up.
	RetryOnFailedConnect bool
	// DrainTimeout bounds Drain on shutdown. Default 10s.
	DrainTimeout time.Duration
}

// DefaultURL is the server used when none is configured.
const DefaultURL = "nats://127.0.0.1:4222"

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.URLs == "" {
		c.URLs = DefaultURL
	}
	if c.Name == "" {
		c.Name = "syncline"
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = 250 * time.Millisecond
	}
	if c.ReconnectJitter == 0 {
		c.ReconnectJitter = 250 * time.Millisecond
	}
	if c.MaxReconnects == 0 {
		c.MaxReconnects = -1
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 10 * time.Second
	}
	return c
}

// Validate checks c.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	for _, u := range strings.Split(c.URLs, ",") {
		if _, err := url.Parse(strings.TrimSpace(u)); err != nil || strings.TrimSpace(u) == "" {
			errs = append(errs, fmt.Errorf("natsconn: server URL %q is invalid", Redact(u)))
		}
	}
	n := 0
	for _, set := range []bool{c.CredsFile != "", c.NKeyFile != "", c.User != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("natsconn: use one of creds, nkey or user/password"))
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("natsconn: a password needs a user"))
	}
	if c.ReconnectWait < 0 || c.ReconnectJitter < 0 || c.ConnectTimeout < 0 || c.DrainTimeout < 0 {
		errs = append(errs, errors.New("natsconn: durations must not be negative"))
	}
	return errors.Join(errs...)
}

// Options returns the nats.Options for c; log receives connection events.
func (c Config) Options(log *slog.Logger) ([]nats.Option, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.WithDefaults()
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.ReconnectWait(c.ReconnectWait),
		nats.ReconnectJitter(c.ReconnectJitter, c.ReconnectJitter),
		nats.MaxReconnects(c.MaxReconnects),
		nats.Timeout(c.ConnectTimeout),
		nats.DrainTimeout(c.DrainTimeout),
		nats.RetryOnFailedConnect(c.RetryOnFailedConnect),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			log.Warn("nats disconnected", "nats_url", Redact(nc.ConnectedUrl()), "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "nats_url", Redact(nc.ConnectedUrl()))
		}),
		nats.ClosedHandler(func(*nats.Conn) { log.Info("nats connection closed") }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("nats async error", "subject", subject, "err", err)
		}),
	}
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("natsconn: nkey: %w", err)
		}
		opts = append(opts, o)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.TLSCAFile != "" {
		opts = append(opts, nats.RootCAs(c.TLSCAFile))
	}
	return opts, nil
}

// Connect opens the connection described by c.
func Connect(c Config, log *slog.Logger) (*nats.Conn, error) {
	opts, err := c.Options(log)
	if err != nil {
		return nil, err
	}
	c = c.WithDefaults()
	nc, err := nats.Connect(c.URLs, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsconn: connect %s: %w", Redact(c.URLs), err)
	}
	log.Info("nats connected", "nats_url", Redact(nc.ConnectedUrl()), "server_version", nc.ConnectedServerVersion())
	return nc, nil
}

// Redact returns the comma-separated URLs with passwords and tokens
// replaced by "xxxxx".
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "<invalid url>"
			continue
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx") // a bare token
			}
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
