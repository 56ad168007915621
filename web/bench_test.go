package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// BenchmarkSignInPage serves GET /login through the whole middleware chain.
func BenchmarkSignInPage(b *testing.B) {
	f := newFixture(&testing.T{})
	h := f.srv.Handler()
	req := httptest.NewRequest(http.MethodGet, "/login", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkEvaluateAllow serves POST /access/v1/evaluation for a low-risk
// tool (an allow by default) through the whole chain: bearer token check,
// lookup, rules, and the decision record.
func BenchmarkEvaluateAllow(b *testing.B) {
	t := &testing.T{}
	clock := modeltest.NewClock()
	e := newRuntimeE2E(t, modeltest.OpenSQLite(b, clock), clock)
	yes, no := true, false
	if _, err := e.store.AddTool(context.Background(), modeltest.Admin, e.server.ID, models.ToolDefinition{Name: "get_invoice",
		Annotations: &models.ToolHints{ReadOnlyHint: &yes, OpenWorldHint: &no}}); err != nil {
		b.Fatal(err)
	}
	token := e.token()
	body := evaluation("billing-prod/get_invoice", `{"invoice":"INV-7"}`)
	h := e.srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/access/v1/evaluation", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"allow"`) {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
