// Package scale measures Countersign on a large generated inventory. It runs
// only when COUNTERSIGN_BENCH_DB names a database filled with
// `countersign seed scale` (see docs/performance.md); it reports figures and
// asserts nothing about time.
package scale

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web"
	"github.com/countersign/countersign/web/auth"
)

type env struct {
	store  *models.Store
	srv    *web.Server
	cookie *http.Cookie
}

func open(t testing.TB) *env { return openWith(t, nil) }

// openWith is open with changed store options.
func openWith(t testing.TB, change func(*models.Options)) *env {
	dsn := os.Getenv("COUNTERSIGN_BENCH_DB")
	if dsn == "" {
		t.Skip("COUNTERSIGN_BENCH_DB is not set; see docs/performance.md")
	}
	ctx := context.Background()
	opts := models.Options{DSN: dsn, Argon2: modeltest.CheapArgon2, Fingerprinter: modeltest.TestFingerprinter()}
	if change != nil {
		change(&opts)
	}
	store, err := models.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := store.UserByEmail(ctx, "bench-admin@example.com")
	if err != nil {
		u = modeltest.MustUser(t, store, "bench-admin@example.com", models.RoleAdmin, 0)
	}
	token, _, err := store.CreateSession(ctx, modeltest.Admin, u.ID, "127.0.0.1", "bench", models.DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(ctx, web.Config{Version: "bench"}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{store: store, srv: srv, cookie: &http.Cookie{Name: auth.CookieName, Value: token}}
}

func (e *env) get(t testing.TB, path string) time.Duration {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(e.cookie)
	rec := httptest.NewRecorder()
	start := time.Now()
	e.srv.Handler().ServeHTTP(rec, req)
	d := time.Since(start)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d", path, rec.Code)
	}
	return d
}

// pages are the list pages the issue names, with typical filters.
var pages = []string{
	"/findings",
	"/findings?severity=critical",
	"/findings?framework=owasp-nhi-2025&page=40",
	"/findings?rule=CS-005&sort=first_seen&dir=desc",
	"/findings?q=scale+credential+99",
	"/servers",
	"/servers?q=scale-0-99",
	"/credentials",
	"/credentials?sort=next_due&dir=desc&page=100",
	"/credentials?key_type=static_api_key&environment=3",
	"/credentials?reused=1",
	"/credentials?overdue=1",
	"/credentials?q=credential+4242",
}

// TestScaleReport prints p50 and p95 server time of each page (40 requests
// after 3 warm-ups) and the time of a full findings recompute.
func TestScaleReport(t *testing.T) {
	e := open(t)
	for _, p := range pages {
		for range 3 {
			e.get(t, p)
		}
		var ds []time.Duration
		for range 40 {
			ds = append(ds, e.get(t, p))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("%-55s p50 %7.2f ms  p95 %7.2f ms\n", p, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]))
	}
	ctx := context.Background()
	for range 3 {
		start := time.Now()
		snap, err := e.store.LoadSnapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		load := time.Since(start)
		start = time.Now()
		n := len(models.EvaluateFindings(snap))
		eval := time.Since(start)
		res, err := e.store.RecomputeFindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("recompute: %d findings; snapshot %.0f ms, rules %.0f ms, full recompute %.0f ms (opened %d, resolved %d)\n",
			n, ms(load), ms(eval), ms(res.Duration), res.Opened, res.Resolved)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
