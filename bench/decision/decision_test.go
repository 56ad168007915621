package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web"
)

// BenchmarkDecisionAtScale serves POST /access/v1/evaluation (an allow) in
// process against the scale database named by COUNTERSIGN_BENCH_DB (built
// by `countersign seed scale --servers 10000 --credentials 100000`), with
// parallel callers. Run with -cpuprofile to see where the time goes:
//
//	COUNTERSIGN_BENCH_DB=bench/data/decision.db go test -run XXX -bench . -cpuprofile cpu.out ./bench/decision
func BenchmarkDecisionAtScale(b *testing.B) {
	dsn := os.Getenv("COUNTERSIGN_BENCH_DB")
	if dsn == "" {
		b.Skip("set COUNTERSIGN_BENCH_DB to a scale database")
	}
	ctx := context.Background()
	store, err := models.Open(ctx, models.Options{DSN: dsn})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(ctx, web.Config{}, store, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	id, secret, resource := benchClient(b, dsn)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	token := between(rec.Body.String(), `"access_token":"`, `"`)
	if token == "" {
		b.Fatal(rec.Body.String())
	}
	body := `{"subject":{"type":"agent","id":"bench-agent"},"action":{"name":"tools/call"},"resource":{"type":"mcp_tool","id":"` +
		resource + `"},"context":{"arguments":{"q":"status"}}}`
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(8) // 16 callers on 2 cores, as wrk -c16
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/access/v1/evaluation", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"decision":true`) {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
}

// benchClient runs setup against the database and returns its output.
func benchClient(b *testing.B, dsn string) (id, secret, resource string) {
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	err := setup([]string{"--database", dsn})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 {
		b.Fatalf("setup printed %q", out)
	}
	return f[0], f[1], f[2]
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}
