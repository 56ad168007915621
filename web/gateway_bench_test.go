package web_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/gateway"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolsCall compares an allowed tools/call made directly to an
// upstream MCP server with the same call through the gateway (bearer check,
// decision recorded, forward on the gateway's upstream session), in one run
// on loopback with go-sdk clients:
//
//	go test -run XXX -bench ToolsCall -benchtime 3s ./web/
func BenchmarkToolsCall(b *testing.B) {
	t := &testing.T{}
	clock := modeltest.NewClock()
	e := newRuntimeE2E(t, modeltest.OpenSQLite(b, clock), clock)
	up := newUpstreamMCP(b)
	e.prodServer(b, "ops-prod", "Ops", up.srv.URL, false)
	token := e.token()
	params := &mcp.CallToolParams{Name: "read_status", Arguments: map[string]any{"service": "billing"}}
	run := func(b *testing.B, cs *mcp.ClientSession) {
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out, err := cs.CallTool(ctx, params)
			if err != nil || out.IsError {
				b.Fatal(err, out)
			}
		}
	}
	b.Run("direct", func(b *testing.B) {
		client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: up.srv.URL,
			HTTPClient: &http.Client{}, DisableStandaloneSSE: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		run(b, cs)
	})
	// The floor of any proxy: the standard library's reverse proxy, with no
	// check at all, in front of the same upstream.
	b.Run("bare-proxy", func(b *testing.B) {
		target, _ := url.Parse(up.srv.URL)
		rp := httputil.NewSingleHostReverseProxy(target)
		rp.ErrorLog = log.New(io.Discard, "", 0) // the client's closing of its session is not news
		proxy := httptest.NewServer(rp)
		defer proxy.Close()
		client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: proxy.URL,
			HTTPClient: &http.Client{}, DisableStandaloneSSE: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		run(b, cs)
	})
	b.Run("gateway", func(b *testing.B) {
		cs := gatewayClient(b, e.http.URL, "ops-prod", token, nil)
		run(b, cs)
	})
	_ = gateway.ResourcePath
}
