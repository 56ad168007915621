package main

import (
	"bytes"
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
)

type fakeEnv map[string]string

func (e fakeEnv) Lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

func TestFlagsBeatEnvironment(t *testing.T) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	env := fakeEnv{"COUNTERSIGN_ADDR": "127.0.0.1:9999", "COUNTERSIGN_DATABASE": "/tmp/env.db", "COUNTERSIGN_LOG_FORMAT": "json"}
	if err := parseFlags(fs, []string{"--addr", "127.0.0.1:7777"}, env, cfg.validate); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7777" || cfg.Database != "/tmp/env.db" || cfg.LogFormat != "json" {
		t.Errorf("got addr=%s database=%s format=%s", cfg.Addr, cfg.Database, cfg.LogFormat)
	}
}

func TestDefaults(t *testing.T) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	if err := parseFlags(fs, nil, fakeEnv{}, cfg.validate); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.Database != "countersign.db" {
		t.Errorf("defaults: %s %s", cfg.Addr, cfg.Database)
	}
}

func TestBadConfigurationIsReportedClearly(t *testing.T) {
	cases := []struct {
		args []string
		env  fakeEnv
		want string
	}{
		{[]string{"--addr", "nonsense"}, nil, "use host:port"},
		{[]string{"--addr", "127.0.0.1:99999"}, nil, "port must be a number"},
		{[]string{"--database", "mysql://x"}, nil, "only SQLite file paths and postgres:// URLs"},
		{[]string{"--log-format", "xml"}, nil, "use text or json"},
		{[]string{"--tls-cert", "a.pem"}, nil, "go together"},
		{nil, fakeEnv{"COUNTERSIGN_SESSION_IDLE": "soon"}, "COUNTERSIGN_SESSION_IDLE"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		var cfg serveConfig
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		cfg.register(fs)
		err := parseFlags(fs, c.args, c.env, cfg.validate)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: err = %v, want it to mention %q", c.args, c.env, err, c.want)
		}
		_ = stderr
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--addr", "bad"}, strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2; stderr %s", code, stderr.String())
	}
}

func TestUnreachablePostgresAtStartIsAClearError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"migrate", "--database", "postgres://u:secret@127.0.0.1:1/x?connect_timeout=2"}, nil, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d", code)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "not reachable") || strings.Contains(msg, "secret") {
		t.Errorf("message %q should say unreachable and hide the password", msg)
	}
}

func TestUsersCreateAndAuditVerify(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cs.db")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"users", "create", "--database", db, "--email", "admin@example.com",
		"--name", "Admin", "--role", "admin", "--password-stdin"}, strings.NewReader("a long enough password\n"), &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "created user admin@example.com") {
		t.Fatalf("users create: code %d, out %q, err %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	code = run(context.Background(), []string{"users", "create", "--database", db, "--email", "b@example.com",
		"--name", "B", "--role", "admin", "--password-stdin"}, strings.NewReader("short\n"), &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "password") {
		t.Errorf("short password accepted: code %d, %q", code, stderr.String())
	}
	code = run(context.Background(), []string{"users", "create", "--database", db, "--email", "c@example.com", "--name", "C"}, strings.NewReader("x\n"), &stdout, &stderr)
	if code != 2 {
		t.Errorf("without --password-stdin: code %d", code)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"audit", "verify", "--database", db}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "intact") {
		t.Fatalf("verify: code %d, %q", code, stdout.String())
	}
	s, err := models.Open(context.Background(), models.Options{DSN: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TamperAuditForTest(context.Background(), 1, "after", `{"email":"mallory@example.com"}`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	stdout.Reset()
	code = run(context.Background(), []string{"audit", "verify", "--database", db}, nil, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "BROKEN at event 1") {
		t.Errorf("tampered verify: code %d, %q", code, stdout.String())
	}
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cs.db")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"seed", "demo", "--database", db}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("seed: %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "password (shown once)") {
		t.Errorf("seed output: %q", stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"seed", "demo", "--database", db}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "already present") {
		t.Errorf("second seed: %d %q", code, stdout.String())
	}
}

func TestSeedDemoHistoryAndScaleReviews(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cs.db")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"seed", "demo", "--history", "30", "--database", db}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("seed demo --history: %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "back-filled 30 days") {
		t.Errorf("seed output: %q", stdout.String())
	}
	// The findings already reflect the back-filled rotations.
	s, err := models.Open(context.Background(), models.Options{DSN: db})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.RecomputeFindings(context.Background())
	s.Close()
	if err != nil || res.Opened+res.Resolved+res.Updated != 0 {
		t.Errorf("findings were stale after seed demo --history: %+v %v", res, err)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"seed", "scale", "--servers", "20", "--credentials", "40", "--reviews", "300", "--audit", "500",
		"--database", db}, nil, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "300 review requests") {
		t.Fatalf("seed scale --reviews: %d %q %s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"audit", "verify", "--database", db}, nil, &stdout, &stderr); code != 0 {
		t.Errorf("audit verify after the seeds: %d %q", code, stdout.String())
	}
	if code := run(context.Background(), []string{"seed", "demo", "--history", "-1", "--database", db}, nil, &stdout, &stderr); code == 0 {
		t.Error("a negative --history is accepted")
	}
}

func TestClientsCreatePrintsSecretOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cs.db")
	s, err := models.Open(context.Background(), models.Options{DSN: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTeam(context.Background(), models.SystemActor("test"), models.TeamInput{Slug: "payments", Name: "Payments"}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"clients", "create", "--database", db, "--name", "gateway", "--team", "payments",
		"--scope", "access:evaluate"}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("clients create: code %d, %q", code, stderr.String())
	}
	var id, secret string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if _, _, _, err := s.IssueAPIToken(context.Background(), id, secret, nil); err != nil {
		t.Fatalf("printed credentials do not work: %v (%q)", err, stdout.String())
	}
	s.Close()
	if code := run(context.Background(), []string{"clients", "create", "--database", db, "--name", "x", "--team", "payments",
		"--scope", "everything"}, nil, &stdout, &stderr); code != 1 {
		t.Errorf("unknown scope: code %d", code)
	}
	if code := run(context.Background(), []string{"clients", "revoke", "--database", db, "--client-id", id}, nil, &stdout, &stderr); code != 0 {
		t.Errorf("revoke: code %d %q", code, stderr.String())
	}
}

// -h lists a command's flags on stdout and exits 0; --help alone lists the
// commands.
func TestHelpListsFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "Commands:"},
		{[]string{"-h"}, "Commands:"},
		{[]string{"serve", "-h"}, "-addr string"},
		{[]string{"seed", "demo", "-h"}, "-history"},
		{[]string{"clients", "create", "--help"}, "-scope"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != 0 || !strings.Contains(stdout.String(), tc.want) || stderr.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q on stdout", tc.args, code, stdout.String(), stderr.String(), tc.want)
		}
	}
}
