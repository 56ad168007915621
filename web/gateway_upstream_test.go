package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/gateway"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// An upstream that speaks the older HTTP+SSE transport is proxied too:
// its tools are listed, the read-only one runs, the destructive one is
// held and runs exactly once after approval. Its credential is an API key
// header read from a file, never the caller's token.
func TestGatewaySSEUpstreamWithKeyFromFile(t *testing.T) {
	clock := modeltest.NewClock()
	e := newRuntimeE2E(t, modeltest.OpenSQLite(t, clock), clock)
	up := newUpstreamMCPWith(t, models.TransportSSE, "X-Api-Key")
	keyFile := filepath.Join(t.TempDir(), "ops-sse.key")
	if err := os.WriteFile(keyFile, []byte("key-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gateway.CredentialFileEnv("ops-sse"), keyFile)
	t.Setenv(gateway.HeaderEnv("ops-sse"), "X-API-Key")
	e.prodServerOn(t, models.TransportSSE, "ops-sse", "Ops (SSE)", up.srv.URL, true)
	token := e.token()
	ctx := context.Background()

	cs := gatewayClient(t, e.http.URL, "ops-sse", token, nil)
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	if strings.Join(names, ",") != "delete_records,read_status" {
		t.Fatalf("tools through the gateway: %v", names)
	}
	out, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_status", Arguments: map[string]any{"service": "billing"}})
	if err != nil || out.IsError || text(out) != "billing is healthy" {
		t.Fatalf("read_status: %v %+v", err, out)
	}
	args := map[string]any{"table": "orders"}
	held := callHeld(t, cs, args)
	if status, body := e.decide(e.ana, held, "approve", "ticket 4412 checked"); status != http.StatusOK {
		t.Fatalf("approve: %d %v", status, body)
	}
	out, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete_records", Arguments: args})
	if err != nil || out.IsError || text(out) != "deleted orders" || up.deletes.Load() != 1 {
		t.Fatalf("retry after approval: %v %+v (executions %d)", err, out, up.deletes.Load())
	}
	callHeld(t, cs, args)
	if up.deletes.Load() != 1 {
		t.Fatalf("executions %d, want exactly 1", up.deletes.Load())
	}
	if seen := up.sawAuth(); len(seen) != 1 || !seen["key-from-file"] {
		t.Fatalf("upstream saw X-API-Key values %v", seen)
	}
}

// A credential configuration that cannot be used is a clear 502 naming
// the variables, never the secret, and nothing reaches the upstream.
func TestGatewayUnusableUpstreamCredential(t *testing.T) {
	clock := modeltest.NewClock()
	e := newRuntimeE2E(t, modeltest.OpenSQLite(t, clock), clock)
	up := newUpstreamMCP(t)
	t.Setenv(gateway.CredentialEnv("ops-prod"), "secret-in-env")
	also := filepath.Join(t.TempDir(), "also.key")
	if err := os.WriteFile(also, []byte("secret-in-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(gateway.CredentialFileEnv("ops-prod"), also)
	e.prodServer(t, "ops-prod", "Ops", up.srv.URL, false)
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}}`
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/mcp/ops-prod", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(msg), gateway.CredentialEnv("ops-prod")) ||
		!strings.Contains(string(msg), gateway.CredentialFileEnv("ops-prod")) || strings.Contains(string(msg), "secret-in") || !strings.Contains(string(msg), "keep one") {
		t.Fatalf("initialize with two credential sources: %d %s", res.StatusCode, msg)
	}
	if len(up.sawAuth()) != 0 {
		t.Fatalf("the upstream was called: %v", up.sawAuth())
	}
}

// The server page gives agents' address and says where the gateway's
// upstream credential comes from, and what is wrong with it, never the
// credential itself.
func TestServerPageShowsGatewayCredentialSource(t *testing.T) {
	f := newFixture(t)
	reader := f.session(f.users["auditor"])
	panel := func() string {
		t.Helper()
		rec := f.do(http.MethodGet, "/servers/"+itoa(f.server.ID), reader, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("server page: %d", rec.Code)
		}
		return strings.Join(strings.Fields(parse(t, rec).Find(`[data-testid=server-gateway]`).Text()), " ")
	}
	if got := panel(); !strings.Contains(got, "/mcp/billing-prod") || !strings.Contains(got, "none calls reach the upstream without a credential") {
		t.Errorf("no credential: %q", got)
	}
	t.Setenv(gateway.CredentialEnv("billing-prod"), "tok-value-1")
	if got := panel(); !strings.Contains(got, "Bearer token from COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD") || strings.Contains(got, "tok-value-1") {
		t.Errorf("bearer from env: %q", got)
	}
	t.Setenv(gateway.HeaderEnv("billing-prod"), "Host")
	if got := panel(); !strings.Contains(got, "cannot be used") || !strings.Contains(got, "COUNTERSIGN_UPSTREAM_HEADER_BILLING_PROD") ||
		strings.Contains(got, "tok-value-1") {
		t.Errorf("unusable header: %q", got)
	}
}
