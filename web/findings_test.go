package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
)

func TestFindingsPageFiltersAndExceptions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.store.RecomputeFindings(ctx); err != nil {
		t.Fatal(err)
	}
	manager := f.session(f.users["manager"])
	rec := f.do(http.MethodGet, "/findings", manager, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /findings = %d", rec.Code)
	}
	doc := parse(t, rec)
	row := doc.Find(`tr[data-rule="CS-009"]`)
	if row.Length() != 1 || !strings.Contains(row.Find(`[data-testid="finding-controls"]`).Text(), "ASI02") {
		t.Fatalf("CS-009 row with its controls missing:\n%s", doc.Find(`[data-testid="findings-table"]`).Text())
	}
	for query, want := range map[string]int{
		"?rule=CS-009": 1, "?framework=ASI02": 1, "?framework=NHI2": 0, "?severity=critical": 0,
		"?q=billing": 2, "?state=resolved": 0, "?object_type=server&object_id=" + itoa(f.server.ID): 2,
	} {
		doc := parse(t, f.do(http.MethodGet, "/findings"+query, manager, nil))
		if got := doc.Find(`tr[data-testid="finding-row"]`).Length(); got != want {
			t.Errorf("/findings%s shows %d rows, want %d", query, got, want)
		}
	}
	if rec := f.do(http.MethodGet, "/findings?format=csv", manager, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "CS-009") {
		t.Errorf("CSV export = %d %q", rec.Code, rec.Body.String())
	}

	page, _ := f.store.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, RuleID: "CS-009"})
	id := itoa(page.Items[0].ID)
	form := url.Values{"justification": {"Refunds are capped at 100 EUR by the payment provider."}, "expires_at": {"2026-04-01"}}
	if rec := f.do(http.MethodPost, "/findings/"+id+"/exceptions", manager, form); rec.Code != http.StatusForbidden {
		t.Errorf("manager requests exception: %d, want 403", rec.Code)
	}
	gov := f.session(f.users["governance"])
	bad := url.Values{"justification": {"short"}, "expires_at": {"2020-01-01"}}
	rec = f.do(http.MethodPost, "/findings/"+id+"/exceptions", gov, bad)
	if rec.Code != http.StatusUnprocessableEntity || parse(t, rec).Find(".field-error").Length() != 2 {
		t.Fatalf("bad exception = %d", rec.Code)
	}
	if v, _ := parse(t, rec).Find("#justification").Html(); v != "short" {
		t.Errorf("justification not kept: %q", v)
	}
	if rec := f.do(http.MethodPost, "/findings/"+id+"/exceptions", gov, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("request exception = %d: %s", rec.Code, rec.Body.String())
	}
	exc, _ := f.store.ExceptionsOf(ctx, page.Items[0].Key)
	exID := itoa(exc[0].ID)
	// The requester cannot approve; the exception stays pending.
	f.do(http.MethodPost, "/exceptions/"+exID+"/approve", gov, nil)
	if ex, _ := f.store.ExceptionByID(ctx, exc[0].ID); ex.Status != models.ExceptionPending {
		t.Fatalf("self-approval changed the state to %s", ex.Status)
	}
	if rec := f.do(http.MethodPost, "/exceptions/"+exID+"/approve", f.session(f.users["approver"]), nil); rec.Code != http.StatusForbidden {
		t.Errorf("approver decides exception: %d, want 403", rec.Code)
	}
	if rec := f.do(http.MethodPost, "/exceptions/"+exID+"/approve", f.session(f.users["admin"]), nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("admin approval = %d", rec.Code)
	}
	doc = parse(t, f.do(http.MethodGet, "/findings", manager, nil))
	if doc.Find(`tr[data-rule="CS-009"]`).Length() != 0 {
		t.Error("an accepted finding is still listed as open")
	}
	rec = f.do(http.MethodGet, "/findings?state=excepted", manager, nil)
	doc = parse(t, rec)
	if doc.Find(`tr[data-rule="CS-009"]`).Length() != 1 {
		t.Error("the accepted finding is not listed as excepted")
	}
	doc = parse(t, f.do(http.MethodGet, "/findings/rules", manager, nil))
	if doc.Find(`[data-testid="rules-table"] tbody tr`).Length() != 11 || !strings.Contains(doc.Find(`[data-testid="mapping-file"]`).Text(), `"NHI9"`) {
		t.Error("rules page does not show the 11 rules and the mapping file")
	}
}
