package models

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFingerprintIsKeyedAndStable(t *testing.T) {
	a, _ := NewFingerprinter([]byte("0123456789abcdef0123456789abcdef"))
	b, _ := NewFingerprinter([]byte("fedcba9876543210fedcba9876543210"))
	secret := "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	if a.Fingerprint(secret) != a.Fingerprint(" "+secret+"\n") {
		t.Error("surrounding spaces change the fingerprint")
	}
	if a.Fingerprint(secret) == b.Fingerprint(secret) {
		t.Error("two keys give the same fingerprint")
	}
	if a.Fingerprint(secret) == a.Fingerprint(secret+"x") {
		t.Error("two secrets give the same fingerprint")
	}
	if _, err := NewFingerprinter([]byte("short")); err == nil {
		t.Error("a short key is accepted")
	}
}

func TestLast4(t *testing.T) {
	for in, want := range map[string]string{"ghp_abcdefghijklmnop1234": "1234", "short-secret": "cret", "tiny": ""} {
		if got := Last4(in); got != want {
			t.Errorf("Last4(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadOrCreateFingerprintKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "fingerprint.key")
	k1, err := LoadOrCreateFingerprintKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", info.Mode(), err)
	}
	k2, err := LoadOrCreateFingerprintKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second load gave another key (%v)", err)
	}
	os.WriteFile(path, []byte("not hex"), 0o600)
	if _, err := LoadOrCreateFingerprintKey(path); err == nil {
		t.Error("a corrupt key file is accepted")
	}
}

func TestDetectSecret(t *testing.T) {
	secrets := []string{
		"ghp_1234567890abcdefghijklmnopqrstuvwxyz", "github_pat_11ABCDEFG0123456789_abcdefghijkl",
		"sk-proj-abcdefghijklmnop1234", "xoxb-1234567890-abcdefghijkl", "AKIAIOSFODNN7EXAMPLE",
		"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "q8Zr3LwP0vN5xT2kY7mB9cH4jF6gD1sA",
	}
	for _, s := range secrets {
		if _, ok := DetectSecret(s); !ok {
			t.Errorf("DetectSecret(%q) = false, want true", s)
		}
	}
	plain := []string{"npx", "-y", "@modelcontextprotocol/server-github", "/Users/ana/projects/notes",
		"https://mcp.example.com/mcp", "production", "my-database-name-for-tests", "--read-only", "info",
		"GITHUB_PERSONAL_ACCESS_TOKEN", "mcp-server-kubernetes-readonly-mode"}
	for _, s := range plain {
		if kind, ok := DetectSecret(s); ok {
			t.Errorf("DetectSecret(%q) = %s, want no secret", s, kind)
		}
	}
}
