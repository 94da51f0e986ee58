// Package envflag binds command-line flags to the SYNCLINE_* environment
// variables of DESIGN.md §5: a flag's default comes from its variable, so a
// flag given on the command line wins over the environment, which wins over
// the built-in default. Only cmd/* and the CLI use it.
package envflag

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// Lookup is os.LookupEnv, injectable for tests.
type Lookup func(string) (string, bool)

// Set binds flags on one FlagSet to environment variables.
type Set struct {
	fs     *pflag.FlagSet
	lookup Lookup
	errs   []error
}

// New binds to fs reading the process environment.
func New(fs *pflag.FlagSet) *Set { return &Set{fs: fs, lookup: os.LookupEnv} }

// WithLookup replaces the environment lookup (tests).
func (s *Set) WithLookup(l Lookup) *Set { s.lookup = l; return s }

func (s *Set) usage(usage, env string) string {
	if env == "" {
		return usage
	}
	return fmt.Sprintf("%s [$%s]", usage, env)
}

// String defines a string flag defaulting to $env, else def.
func (s *Set) String(p *string, name, env, def, usage string) {
	if v, ok := s.lookup(env); ok && env != "" {
		def = v
	}
	s.fs.StringVar(p, name, def, s.usage(usage, env))
}

// Int defines an int flag defaulting to $env, else def.
func (s *Set) Int(p *int, name, env string, def int, usage string) {
	if v, ok := s.lookup(env); ok && env != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("$%s=%q: not an integer", env, v))
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, s.usage(usage, env))
}

// Bool defines a bool flag defaulting to $env, else def.
func (s *Set) Bool(p *bool, name, env string, def bool, usage string) {
	if v, ok := s.lookup(env); ok && env != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("$%s=%q: not a boolean", env, v))
		} else {
			def = b
		}
	}
	s.fs.BoolVar(p, name, def, s.usage(usage, env))
}

// Duration defines a duration flag defaulting to $env, else def.
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := s.lookup(env); ok && env != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("$%s=%q: not a duration", env, v))
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, s.usage(usage, env))
}

// Err reports environment values that did not parse.
func (s *Set) Err() error {
	if len(s.errs) == 0 {
		return nil
	}
	return fmt.Errorf("envflag: %v", s.errs)
}

// Int64 defines an int64 flag defaulting to $env, else def.
func (s *Set) Int64(p *int64, name, env string, def int64, usage string) {
	if v, ok := s.lookup(env); ok && env != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.errs = append(s.errs, fmt.Errorf("$%s=%q: not an integer", env, v))
		} else {
			def = n
		}
	}
	s.fs.Int64Var(p, name, def, s.usage(usage, env))
}
