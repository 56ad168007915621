package web_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/models/modeltest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// toolsCallPaths are go-sdk client sessions that make the same allowed
// tools/call (a read-only tool that answers at once) by three paths on
// loopback: directly to an upstream MCP server; through the standard
// library's reverse proxy with no check at all (the floor of any proxy);
// and through the gateway (bearer check, decision recorded, relayed on the
// gateway's upstream session).
type toolsCallPaths struct {
	direct, proxy, gateway *mcp.ClientSession
	params                 *mcp.CallToolParams
}

func newToolsCallPaths(b *testing.B) *toolsCallPaths {
	t := &testing.T{}
	clock := modeltest.NewClock()
	e := newRuntimeE2E(t, modeltest.OpenSQLite(b, clock), clock)
	up := newUpstreamMCP(b)
	e.prodServer(b, "ops-prod", "Ops", up.srv.URL, false)
	connect := func(endpoint string) *mcp.ClientSession {
		client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil)
		cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint,
			HTTPClient: &http.Client{}, DisableStandaloneSSE: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cs.Close() })
		return cs
	}
	target, _ := url.Parse(up.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the client's closing of its session is not news
	proxy := httptest.NewServer(rp)
	b.Cleanup(proxy.Close)
	return &toolsCallPaths{direct: connect(up.srv.URL), proxy: connect(proxy.URL),
		gateway: gatewayClient(b, e.http.URL, "ops-prod", e.token(), nil),
		params:  &mcp.CallToolParams{Name: "read_status", Arguments: map[string]any{"service": "billing"}}}
}

func (p *toolsCallPaths) call(b *testing.B, cs *mcp.ClientSession) {
	out, err := cs.CallTool(context.Background(), p.params)
	if err != nil || out.IsError {
		b.Fatal(err, out)
	}
}

// BenchmarkToolsCall times each path on its own (one sub-benchmark after
// the other):
//
//	go test -run XXX -bench 'ToolsCall$' -benchtime 3s ./web/
func BenchmarkToolsCall(b *testing.B) {
	p := newToolsCallPaths(b)
	for _, path := range []struct {
		name string
		cs   *mcp.ClientSession
	}{{"direct", p.direct}, {"bare-proxy", p.proxy}, {"gateway", p.gateway}} {
		b.Run(path.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.call(b, path.cs)
			}
		})
	}
}

// BenchmarkToolsCallInterleaved makes one call by each path per iteration
// and reports the median time per call of each and the ratios of the
// medians, so that a slow spell of a shared machine falls on all three
// alike (the sub-benchmarks above run seconds apart):
//
//	go test -run XXX -bench ToolsCallInterleaved -benchtime 5000x ./web/
func BenchmarkToolsCallInterleaved(b *testing.B) {
	p := newToolsCallPaths(b)
	var direct, proxy, gw []time.Duration
	timed := func(cs *mcp.ClientSession) time.Duration {
		start := time.Now()
		p.call(b, cs)
		return time.Since(start)
	}
	for b.Loop() {
		direct = append(direct, timed(p.direct))
		proxy = append(proxy, timed(p.proxy))
		gw = append(gw, timed(p.gateway))
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds())
	}
	md, mp, mg := median(direct), median(proxy), median(gw)
	b.ReportMetric(md/1e3, "direct-µs")
	b.ReportMetric(mp/1e3, "proxy-µs")
	b.ReportMetric(mg/1e3, "gateway-µs")
	b.ReportMetric(mp/md, "proxy/direct")
	b.ReportMetric(mg/md, "gateway/direct")
	b.ReportMetric(0, "ns/op") // the three calls together are not a useful figure
}
