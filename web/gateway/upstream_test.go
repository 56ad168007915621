package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpstreamCredentials(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := file("key", "  s3cret-from-file\n")
	empty := file("empty", "\n")
	multi := file("multi", "line1\nline2\n")
	tests := []struct {
		name    string
		env     map[string]string
		header  string // "" means no credential
		value   string
		source  string
		problem string // part of the error; "" means none
	}{
		{name: "none", env: nil},
		{name: "bearer from env", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD": "tok"},
			header: "Authorization", value: "Bearer tok", source: "COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD"},
		{name: "api key header from file", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE": key,
			"COUNTERSIGN_UPSTREAM_HEADER_BILLING_PROD": "x-api-key"},
			header: "X-Api-Key", value: "s3cret-from-file", source: "COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE (" + key + ")"},
		{name: "both sources", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD": "tok",
			"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE": key}, problem: "keep one"},
		{name: "missing file", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE": filepath.Join(dir, "nope")},
			problem: "no such file"},
		{name: "empty file", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE": empty}, problem: "is empty"},
		{name: "two lines", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE": multi}, problem: "line break"},
		{name: "bad header name", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD": "tok",
			"COUNTERSIGN_UPSTREAM_HEADER_BILLING_PROD": "X API Key"}, problem: "cannot carry a credential"},
		{name: "protocol header", env: map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD": "tok",
			"COUNTERSIGN_UPSTREAM_HEADER_BILLING_PROD": "Mcp-Session-Id"}, problem: "cannot carry a credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs credentials
			c, err := cs.of("billing-prod", func(k string) string { return tt.env[k] })
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("error %v, want one saying %q", err, tt.problem)
				}
				for _, secret := range []string{"tok", "s3cret", "line1"} {
					if strings.Contains(strings.ReplaceAll(err.Error(), "TOKEN", ""), secret) {
						t.Fatalf("the error reveals the credential: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.header == "" {
				if c.value != "" || c.source != "" {
					t.Fatalf("no configuration gave %+v", c)
				}
				return
			}
			if c.header != tt.header || c.value != tt.value || c.source != tt.source {
				t.Fatalf("got %+v", c)
			}
		})
	}
}

// A rotated credential file is read again once the cached copy is old.
func TestUpstreamCredentialFileRotation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"COUNTERSIGN_UPSTREAM_TOKEN_OPS_FILE": p}
	var cs credentials
	get := func() string {
		c, err := cs.of("ops", func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return c.value
	}
	if v := get(); v != "Bearer first" {
		t.Fatalf("first read: %q", v)
	}
	if err := os.WriteFile(p, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v := get(); v != "Bearer first" {
		t.Fatalf("within the cache time: %q", v)
	}
	cs.files[p] = fileValue{value: "first", read: cs.files[p].read.Add(-credentialFileTTL)}
	if v := get(); v != "Bearer second" {
		t.Fatalf("after the cache time: %q", v)
	}
}
