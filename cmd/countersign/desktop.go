package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"unicode"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web"
)

// desktopDeps are the parts of the machine the desktop command touches,
// replaceable in tests.
type desktopDeps struct {
	// open shows a URL in the default browser.
	open func(url string) error
	// configDir is the user's configuration directory.
	configDir func() (string, error)
	// username is the name of the OS user.
	username func() string
	// ready, when set, is called with the sign-in URL once serving.
	ready func(url string)
}

func defaultDesktopDeps() desktopDeps {
	return desktopDeps{open: openBrowser, configDir: os.UserConfigDir, username: osUsername}
}

// openBrowser opens url with the platform's opener, without a shell.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}

func osUsername() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "local"
}

// desktopConfig is the configuration of the desktop command.
type desktopConfig struct {
	DataDir   string
	LogLevel  string
	NoBrowser bool
}

func cmdDesktop(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer, deps desktopDeps) error {
	var cfg desktopConfig
	fs := flag.NewFlagSet("desktop", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", "", "where the database and the fingerprint key live (default: the user's configuration directory/countersign)")
	fs.StringVar(&cfg.LogLevel, "log-level", "warn", "log level: debug, info, warn or error")
	fs.BoolVar(&cfg.NoBrowser, "no-browser", false, "print the sign-in link without opening a browser")
	if err := parseFlags(fs, args, env, func() []string {
		if _, ok := logLevels[cfg.LogLevel]; !ok {
			return []string{fmt.Sprintf("--log-level %q: use debug, info, warn or error", cfg.LogLevel)}
		}
		return nil
	}); err != nil {
		return err
	}
	if cfg.DataDir == "" {
		base, err := deps.configDir()
		if err != nil {
			return fmt.Errorf("find the configuration directory: %w (give --data-dir)", err)
		}
		cfg.DataDir = filepath.Join(base, "countersign")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", cfg.DataDir, err)
	}
	common := commonConfig{Database: filepath.Join(cfg.DataDir, "countersign.db"), LogFormat: "text", LogLevel: cfg.LogLevel,
		MinRotation: models.DefaultMinRotationInterval}
	log := common.logger(stderr)
	store, err := common.openStore(ctx, log)
	if err != nil {
		return err
	}
	defer store.Close()
	admin, created, err := localAdmin(ctx, store, deps.username())
	if err != nil {
		return err
	}
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	srv, err := web.New(ctx, web.Config{Addr: "127.0.0.1:0", Desktop: true, Version: versionString(), Quit: quit,
		Sessions: models.DefaultSessionPolicy}, store, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	token, err := store.CreateLoginLink(ctx, models.SystemActor("desktop"), admin.ID, models.MaxLoginLinkTTL)
	if err != nil {
		ln.Close()
		return err
	}
	url := fmt.Sprintf("http://%s/desktop/signin?token=%s", ln.Addr().String(), token)
	if created {
		fmt.Fprintf(stdout, "Created the local administrator %s (data in %s).\n", admin.Email, cfg.DataDir)
	}
	fmt.Fprintf(stdout, "Countersign is running at http://%s\n", ln.Addr().String())
	fmt.Fprintf(stdout, "Sign in with this one-time link (valid 5 minutes, works once):\n  %s\n", url)
	fmt.Fprintln(stdout, "Stop with Ctrl-C or the Quit item in the header.")
	if !cfg.NoBrowser {
		if err := deps.open(url); err != nil {
			fmt.Fprintf(stdout, "Could not open a browser (%v); open the link above yourself.\n", err)
		}
	}
	if deps.ready != nil {
		deps.ready(url)
	}
	if err := srv.Run(ctx, ln); err != nil {
		return err
	}
	log.Info("desktop app stopped", slog.String("data", cfg.DataDir))
	fmt.Fprintln(stdout, "Countersign stopped.")
	return nil
}

// localAdmin returns the desktop's administrator, creating it for the OS
// user on first run. It has a random password nobody knows: the desktop
// signs in with one-time links; an admin may set a password later.
func localAdmin(ctx context.Context, store *models.Store, osUser string) (models.User, bool, error) {
	name := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_' {
			return unicode.ToLower(r)
		}
		return -1
	}, osUser)
	if name == "" {
		name = "local"
	}
	email := name + "@localhost"
	if u, err := store.UserByEmail(ctx, email); err == nil {
		return u, false, nil
	}
	actor := models.SystemActor("desktop")
	u, err := store.CreateUser(ctx, actor, models.NewUser{Email: email, Name: osUser, Password: models.RandomToken(24)})
	if err != nil {
		return u, false, fmt.Errorf("create the local administrator: %w", err)
	}
	if _, err := store.AssignRole(ctx, actor, u.ID, models.RoleAdmin, 0); err != nil {
		return u, false, err
	}
	return u, true, nil
}
