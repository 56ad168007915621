package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestEvidencePackOpensParsesAndMatchesTheChain(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.credentialID()
	if _, err := f.store.RecomputeFindings(ctx); err != nil {
		t.Fatal(err)
	}
	manager := f.session(f.users["manager"])
	rec := f.do(http.MethodGet, "/reports/evidence?days=90", manager, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/zip" {
		t.Fatalf("evidence pack: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatalf("the pack does not open: %v", err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[zf.Name], _ = io.ReadAll(r)
		r.Close()
	}
	for _, name := range []string{"report.html", "servers.csv", "credentials.csv", "findings.csv", "exceptions.csv",
		"review-requests.csv", "decisions.csv", "audit-events.csv", "audit-verification.json", "README.txt"} {
		if _, ok := files[name]; !ok {
			t.Errorf("the pack lacks %s", name)
		}
	}
	for name, data := range files {
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil || len(rows) == 0 {
			t.Errorf("%s does not parse: %v", name, err)
		}
		if name == "credentials.csv" && len(rows) != 2 {
			t.Errorf("credentials.csv has %d rows, want header + 1", len(rows))
		}
		if name == "audit-events.csv" && len(rows) < 5 {
			t.Errorf("audit-events.csv has %d rows", len(rows))
		}
	}
	var v struct {
		OK       bool   `json:"ok"`
		HeadHash string `json:"head_hash"`
		Events   uint64 `json:"events"`
	}
	if err := json.Unmarshal(files["audit-verification.json"], &v); err != nil {
		t.Fatal(err)
	}
	want, err := f.store.VerifyAudit(ctx) // what `countersign audit verify` prints
	if err != nil || !v.OK || v.HeadHash != want.HeadHash || v.Events != want.Events {
		t.Fatalf("pack says %+v, the chain says %+v (%v)", v, want, err)
	}
	report := string(files["report.html"])
	if !strings.Contains(report, want.HeadHash) || !strings.Contains(report, "OWASP Non-Human Identities") {
		t.Error("report.html lacks the chain head or the framework tables")
	}
	if rec := f.do(http.MethodGet, "/reports/evidence", f.session(f.users["approver"]), nil); rec.Code != http.StatusForbidden {
		t.Errorf("approver downloads evidence: %d", rec.Code)
	}
}

func TestFrameworkAndReviewReports(t *testing.T) {
	f := newFixture(t)
	f.credentialID()
	if _, err := f.store.RecomputeFindings(context.Background()); err != nil {
		t.Fatal(err)
	}
	manager := f.session(f.users["manager"])
	doc := parse(t, f.do(http.MethodGet, "/reports/frameworks", manager, nil))
	if doc.Find(`[data-testid=framework]`).Length() != 5 {
		t.Errorf("framework sections = %d", doc.Find(`[data-testid=framework]`).Length())
	}
	if st := strings.TrimSpace(doc.Find(`tr[data-control="NHI7"] .badge`).First().Text()); st != "attention" {
		t.Errorf("NHI7 status = %q, want attention (a static key on a prod write server)", st)
	}
	if st := strings.TrimSpace(doc.Find(`tr[data-control="MAESTRO-L4"] .badge`).First().Text()); st != "attention" {
		t.Errorf("MAESTRO-L4 status = %q, want attention (the same finding, by layer)", st)
	}
	rec := f.do(http.MethodGet, "/reports/reviews?days=90", manager, nil)
	doc = parse(t, rec)
	if rec.Code != http.StatusOK || doc.Find(`svg[data-testid=volume-chart] title`).Length() == 0 {
		t.Fatalf("review analytics: %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "style=") {
		t.Error("the page has inline styles (blocked by the CSP)")
	}
	if rec := f.do(http.MethodGet, "/reports/reviews?format=csv", manager, nil); rec.Code != http.StatusOK {
		t.Errorf("review CSV: %d", rec.Code)
	}
}
