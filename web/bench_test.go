package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
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
