package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/models/modeltest"
)

// TestExportImportCommands moves the demo inventory from a SQLite file to
// PostgreSQL (another SQLite file when no DSN is set) with the commands,
// exports again and compares the files; a second import changes nothing.
func TestExportImportCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "desktop.db")
	key := filepath.Join(dir, "shared.key")
	dst := filepath.Join(dir, "shared.db")
	if os.Getenv(modeltest.PostgresEnv) != "" {
		dst = modeltest.PostgresDSN(t)
	}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if code := run(ctx, args, strings.NewReader(""), &out, io.Discard); code != 0 {
			t.Fatalf("countersign %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
		}
		return out.String()
	}
	run("seed", "demo", "--database", src, "--fingerprint-key-file", key)
	run("export", "--database", src, "--fingerprint-key-file", key, "--out", filepath.Join(dir, "a.json"))
	// The shared deployment knows the same people.
	run("seed", "demo", "--database", dst, "--fingerprint-key-file", key)
	first := run("import", filepath.Join(dir, "a.json"), "--database", dst, "--fingerprint-key-file", key)
	if !strings.Contains(first, "credentials") {
		t.Fatalf("import summary:\n%s", first)
	}
	run("export", "--database", dst, "--fingerprint-key-file", key, "--out", filepath.Join(dir, "b.json"))
	a, _ := os.ReadFile(filepath.Join(dir, "a.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.json"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("the two exports differ (%d and %d bytes)", len(a), len(b))
	}
	if again := run("import", filepath.Join(dir, "a.json"), "--database", dst, "--fingerprint-key-file", key); !strings.Contains(again, "nothing changed") {
		t.Fatalf("second import changed something:\n%s", again)
	}
	if strings.Contains(string(a), "demo_") {
		t.Error("the export holds a seeded secret")
	}
}
