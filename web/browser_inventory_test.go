package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/countersign/countersign/models"
)

// TestBrowserGovernanceJourney is the inventory acceptance journey in a real
// browser: a governance user registers a prod server with write actions,
// allows only delegated OAuth and short-lived tokens, records a static API
// key → CS-001 and CS-006 appear with their framework mappings; exceptions
// approved by an admin hide them until they expire.
func TestBrowserGovernanceJourney(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	ctx := context.Background()
	prod, _ := f.store.EnvironmentByName(ctx, "prod")
	b := newBrowser(t)
	b.signIn(t, ts.URL, "governance@example.com", "correct horse battery")

	// Register the server.
	b.do(t, chromedp.Navigate(ts.URL+"/servers/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=server-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#slug`), "payments-prod"), chromedp.SendKeys(chromedp.CSS(`#name`), "Payments (prod)"),
		chromedp.SetValue(chromedp.CSS(`#team`), itoa(f.team.ID)), chromedp.SetValue(chromedp.CSS(`#environment`), itoa(prod.ID)),
		chromedp.SetValue(chromedp.CSS(`#status`), "active"), chromedp.SetValue(chromedp.CSS(`#transport`), "streamable-http"),
		chromedp.SendKeys(chromedp.CSS(`#endpoint`), "https://payments.example.com/mcp"),
		chromedp.Click(chromedp.CSS(`#write_actions`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=server-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=key-policy]`)))
	srv, err := f.store.ServerBySlug(ctx, "payments-prod")
	if err != nil || !srv.WriteActions || srv.EnvironmentID != prod.ID {
		t.Fatalf("server not registered as a prod write server: %+v %v", srv, err)
	}
	id := itoa(srv.ID)

	// Allow only delegated OAuth and short-lived tokens.
	for _, kt := range []string{"oauth_delegated", "short_lived_token"} {
		b.do(t, chromedp.Navigate(ts.URL+"/servers/"+id+"/key-types/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=key-type-form]`)),
			chromedp.SetValue(chromedp.CSS(`#key_type`), kt),
			chromedp.SendKeys(chromedp.CSS(`#rationale`), "Payments in prod act only for a person or a single task."),
			chromedp.Submit(chromedp.CSS(`[data-testid=key-type-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=key-policy]`)))
	}
	policy := b.text(t, `[data-testid=key-policy]`)
	if !strings.Contains(policy, "OAuth") || !strings.Contains(policy, "Short-lived token") {
		t.Fatalf("key policy section = %q", policy)
	}

	// Record a static API key on it, pasting the secret to fingerprint it.
	b.do(t, chromedp.Navigate(ts.URL+"/credentials/new?server="+id), chromedp.WaitVisible(chromedp.CSS(`[data-testid=credential-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "payments stripe key"),
		chromedp.SetValue(chromedp.CSS(`#key_type`), "static_api_key"),
		chromedp.SendKeys(chromedp.CSS(`#secret`), "sk_live_"+strings.Repeat("4eC39HqLyjWDarjtT1zdp7dc", 1)),
		chromedp.Submit(chromedp.CSS(`[data-testid=credential-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=credential-fields]`)))
	page, _ := f.store.Credentials(ctx, models.CredentialFilter{Scope: models.TeamScope{All: true}, ServerID: srv.ID})
	if page.Total != 1 {
		t.Fatalf("credentials of the server = %d", page.Total)
	}
	credID := itoa(page.Items[0].ID)
	if flash := b.text(t, `#flash-region`); !strings.Contains(flash, "CS-006") {
		t.Errorf("no CS-006 warning after saving: %q", flash)
	}

	// CS-001 and CS-006 are on the findings page with their mappings.
	findings := ts.URL + "/findings?object_type=credential&object_id=" + credID
	b.do(t, chromedp.Navigate(findings), chromedp.WaitVisible(chromedp.CSS(`[data-testid=findings-table]`)))
	for rule, control := range map[string]string{"CS-001": "NHI7", "CS-006": "PR.AA-05"} {
		row := b.text(t, `tr[data-rule="`+rule+`"]`)
		if !strings.Contains(row, control) {
			t.Errorf("%s row %q lacks %s", rule, row, control)
		}
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}

	// Exceptions until 2026-03-05 (the test clock says 2026-03-02).
	keys := map[string]uint{}
	for _, rule := range []string{"CS-001", "CS-006"} {
		fp, _ := f.store.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, RuleID: rule, ObjectType: "credential", ObjectID: page.Items[0].ID})
		if fp.Total != 1 {
			t.Fatalf("%s findings = %d", rule, fp.Total)
		}
		keys[rule] = fp.Items[0].ID
		b.do(t, chromedp.Navigate(ts.URL+"/findings/"+itoa(fp.Items[0].ID)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=exception-form]`)),
			chromedp.SendKeys(chromedp.CSS(`#justification`), "Stripe restricted keys only; migration to OAuth tracked in PAY-812."),
			chromedp.SetValue(chromedp.CSS(`#expires_at`), "2026-03-05"),
			chromedp.Submit(chromedp.CSS(`[data-testid=exception-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=exception-row]`)))
	}
	// The requester cannot approve; an admin does.
	b.do(t, chromedp.Navigate(ts.URL+"/findings/"+itoa(keys["CS-001"])), chromedp.WaitVisible(chromedp.CSS(`[data-testid=exception-row]`)))
	if n := b.count(t, `form[action$="/approve"]`); n != 0 {
		t.Error("the requester is offered to approve their own exception")
	}
	b.do(t, chromedp.Navigate(ts.URL+"/login"))
	b.do(t, chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/logout"]') && document.querySelector('form[action="/logout"]').submit()`))
	time.Sleep(300 * time.Millisecond)
	b.signIn(t, ts.URL, "admin@example.com", "correct horse battery")
	for _, fid := range keys {
		b.do(t, chromedp.Navigate(ts.URL+"/findings/"+itoa(fid)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button`)),
			chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)), chromedp.WaitVisible(chromedp.CSS(`#flash-region .alert`)))
	}
	b.do(t, chromedp.Navigate(findings), chromedp.WaitVisible(chromedp.CSS(`[data-testid=findings-table]`)))
	if n := b.count(t, `tr[data-rule="CS-001"], tr[data-rule="CS-006"]`); n != 0 {
		t.Fatalf("%d accepted findings are still listed as open", n)
	}
	b.do(t, chromedp.Navigate(findings+"&state=excepted"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=findings-table]`)))
	if row := b.text(t, `tr[data-rule="CS-001"]`); !strings.Contains(row, "accepted until") {
		t.Errorf("excepted row = %q", row)
	}
	if os.Getenv("COUNTERSIGN_SCREENSHOTS") != "" {
		b.do(t, chromedp.Navigate(ts.URL+"/findings"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90)); err == nil {
			_ = os.WriteFile(os.Getenv("COUNTERSIGN_SCREENSHOTS")+"/findings.png", png, 0o644)
		}
	}

	// After the end date the findings are open again.
	f.clock.Advance(4 * 24 * time.Hour)
	b.signIn(t, ts.URL, "admin@example.com", "correct horse battery")
	b.do(t, chromedp.Navigate(findings), chromedp.WaitVisible(chromedp.CSS(`[data-testid=findings-table]`)))
	if n := b.count(t, `tr[data-rule="CS-001"], tr[data-rule="CS-006"]`); n != 2 {
		t.Fatalf("after expiry %d of the 2 findings are open again", n)
	}
}

// count returns how many elements match a CSS selector.
func (b *browser) count(t *testing.T, sel string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll("+strconv.Quote(sel)+").length"))
	if err != nil {
		t.Fatalf("browser: count %s: %v", sel, err)
	}
	return n
}
