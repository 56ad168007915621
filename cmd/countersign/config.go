package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
)

// envSource looks up environment variables (an interface so tests can fake it).
type envSource interface {
	Lookup(key string) (string, bool)
}

type osEnv struct{}

func (osEnv) Lookup(k string) (string, bool) { return os.LookupEnv(k) }

// commonConfig are the flags every command that opens the database takes.
type commonConfig struct {
	Database       string
	LogFormat      string
	LogLevel       string
	FingerprintKey string
	KeyFile        string
	MinRotation    time.Duration
}

func (c *commonConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Database, "database", "countersign.db", "SQLite file path or postgres:// URL")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.FingerprintKey, "fingerprint-key", "", "hex key (64 characters) of secret fingerprints; every replica needs the same")
	fs.StringVar(&c.KeyFile, "fingerprint-key-file", "", "file holding the fingerprint key, created on first use (default: beside the SQLite file)")
	fs.DurationVar(&c.MinRotation, "min-rotation-interval", models.DefaultMinRotationInterval, "shortest allowed gap between two rotations of a schedule")
}

// fingerprinter returns the fingerprinter of secrets: from --fingerprint-key,
// else from --fingerprint-key-file, else from a file beside the SQLite
// database (created with a random key on first use). It is never stored in
// the database. On PostgreSQL a key or key file must be given, because
// every replica needs the same key.
func (c *commonConfig) fingerprinter() (*models.Fingerprinter, error) {
	if c.FingerprintKey != "" {
		key, err := hex.DecodeString(strings.TrimSpace(c.FingerprintKey))
		if err != nil {
			return nil, fmt.Errorf("--fingerprint-key must be hex: %w", err)
		}
		return models.NewFingerprinter(key)
	}
	path := c.KeyFile
	if path == "" {
		if models.IsPostgresDSN(c.Database) {
			return nil, fmt.Errorf("on PostgreSQL, give --fingerprint-key or --fingerprint-key-file (the same on every replica)")
		}
		path = c.Database + ".fingerprint-key"
	}
	key, err := models.LoadOrCreateFingerprintKey(path)
	if err != nil {
		return nil, err
	}
	return models.NewFingerprinter(key)
}

func (c *commonConfig) validate() []string {
	var problems []string
	switch {
	case strings.TrimSpace(c.Database) == "":
		problems = append(problems, "--database is empty: give a SQLite file path or a postgres:// URL")
	case models.IsPostgresDSN(c.Database):
		if u, err := url.Parse(c.Database); err != nil || u.Host == "" {
			problems = append(problems, fmt.Sprintf("--database %q is not a valid PostgreSQL URL (postgres://user:pass@host:5432/db)", redactDSN(c.Database)))
		}
	case strings.Contains(c.Database, "://"):
		problems = append(problems, fmt.Sprintf("--database %q: only SQLite file paths and postgres:// URLs are supported", redactDSN(c.Database)))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("--log-format %q: use text or json", c.LogFormat))
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		problems = append(problems, fmt.Sprintf("--log-level %q: use debug, info, warn or error", c.LogLevel))
	}
	return problems
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

func (c *commonConfig) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[c.LogLevel]}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens and migrates the database.
func (c *commonConfig) openStore(ctx context.Context, log *slog.Logger) (*models.Store, error) {
	opts := models.Options{DSN: c.Database, Logger: log, Schedule: models.ScheduleOptions{MinInterval: c.MinRotation}}
	if !models.IsPostgresDSN(c.Database) || c.FingerprintKey != "" || c.KeyFile != "" {
		fp, err := c.fingerprinter()
		if err != nil {
			return nil, err
		}
		opts.Fingerprinter = fp
	}
	s, err := models.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redactDSN(c.Database), err)
	}
	if opts.Fingerprinter == nil {
		s.Close()
		_, err := c.fingerprinter()
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// helpText is what -h asked for: printed on stdout, and the command ends
// with exit code 0.
type helpText string

func (h helpText) Error() string { return string(h) }

// parseFlags parses args, then fills every flag not given on the command
// line from COUNTERSIGN_<NAME> (flags beat the environment), then runs the
// validators. All problems are reported at once.
func parseFlags(fs *flag.FlagSet, args []string, env envSource, validators ...func() []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			fmt.Fprintf(&b, "Usage: countersign %s [flags]\n\nFlags (each can also be set as COUNTERSIGN_<FLAG>, e.g. --log-level as COUNTERSIGN_LOG_LEVEL; flags win):\n", fs.Name())
			fs.SetOutput(&b)
			fs.PrintDefaults()
			return helpText(b.String())
		}
		return fmt.Errorf("%w: %v (see %s -h)", errUsage, err, fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var problems []string
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		key := "COUNTERSIGN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := env.Lookup(key); ok {
			if err := f.Value.Set(v); err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q: %v", key, v, err))
			}
		}
	})
	for _, v := range validators {
		problems = append(problems, v()...)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: invalid configuration:\n  - %s", errUsage, strings.Join(problems, "\n  - "))
	}
	return nil
}

// validateAddr checks a host:port listen address.
func validateAddr(flagName, addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []string{fmt.Sprintf("--%s %q: use host:port, like 127.0.0.1:8080", flagName, addr)}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return []string{fmt.Sprintf("--%s %q: the port must be a number from 0 to 65535", flagName, addr)}
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		if _, err := net.LookupHost(host); err != nil {
			return []string{fmt.Sprintf("--%s %q: unknown host %q", flagName, addr, host)}
		}
	}
	return nil
}

// redactDSN hides a password in a database URL.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
