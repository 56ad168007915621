package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web"
)

// serveConfig is the configuration of the serve command.
type serveConfig struct {
	commonConfig
	Addr          string
	TLSCert       string
	TLSKey        string
	SecureCookies bool
	TrustProxy    bool
	SessionMaxAge time.Duration
	SessionIdle   time.Duration
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.commonConfig.register(fs)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address host:port")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (serve HTTPS; with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", false, "mark cookies Secure (set when TLS ends at a proxy)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", false, "take the client address from X-Forwarded-For")
	fs.DurationVar(&c.SessionMaxAge, "session-lifetime", 12*time.Hour, "maximum age of a sign-in session")
	fs.DurationVar(&c.SessionIdle, "session-idle", 2*time.Hour, "end sessions unused for this long")
}

func (c *serveConfig) validate() []string {
	problems := c.commonConfig.validate()
	problems = append(problems, validateAddr("addr", c.Addr)...)
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "--tls-cert and --tls-key go together: give both or neither")
	}
	if c.SessionMaxAge < time.Minute {
		problems = append(problems, "--session-lifetime must be at least 1m")
	}
	if c.SessionIdle < time.Minute || c.SessionIdle > c.SessionMaxAge {
		problems = append(problems, "--session-idle must be at least 1m and at most --session-lifetime")
	}
	return problems
}

func cmdServe(ctx context.Context, args []string, env envSource, stderr io.Writer) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	if err := parseFlags(fs, args, env, cfg.validate); err != nil {
		return err
	}
	log := cfg.logger(stderr)
	applyServerGC(env, log)
	store, err := cfg.openStore(ctx, log)
	if err != nil {
		return err
	}
	defer store.Close()
	srv, err := web.New(ctx, web.Config{
		Addr: cfg.Addr, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, SecureCookies: cfg.SecureCookies,
		TrustProxy: cfg.TrustProxy, Version: versionString(),
		Sessions: models.SessionPolicy{Lifetime: cfg.SessionMaxAge, IdleTimeout: cfg.SessionIdle},
	}, store, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	log.Info("Countersign is serving", slog.String("url", scheme+"://"+ln.Addr().String()),
		slog.String("database", string(store.Dialect())), slog.String("version", versionString()))
	if n, err := store.UserCount(ctx); err == nil && n == 0 {
		log.Info("no users yet: create the first admin with: countersign users create --email admin@example.com --name Admin --role admin --password-stdin")
	}
	if err := srv.Run(ctx, ln); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func cmdMigrate(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	var cfg commonConfig
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg.register(fs)
	if err := parseFlags(fs, args, env, cfg.validate); err != nil {
		return err
	}
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database is up to date (schema %s, %s)\n", v, store.Dialect())
	return nil
}
