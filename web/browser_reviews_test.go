package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// TestBrowserApproverSeesANewRequestAndApprovesIt is the runtime review
// journey in a real browser: an approver has the queue open; a gateway's
// call is held for review (over the API, with a bearer token); the request
// appears in the open page without a reload and the navigation badge
// counts it; the approver opens it, approves it (the rule needs one
// approval) and the page shows it approved.
func TestBrowserApproverSeesANewRequestAndApprovesIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.reviewTool()
	if _, err := f.store.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "transfers need one",
		ToolPattern: "wire_*", Outcome: models.RuleReview, ApprovalsNeeded: 1, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	client, secret, err := f.store.CreateAPIClient(ctx, modeltest.Admin, models.APIClientInput{Name: "gateway", TeamID: f.team.ID,
		Scopes: []string{models.ScopeEvaluate}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	e := &runtimeE2E{fixture: f, http: ts, clientID: client.ClientID, secret: secret, sessionCache: map[uint]*http.Cookie{}}

	b := newBrowser(t)
	b.signIn(t, ts.URL, "approver@example.com", "correct horse battery")
	b.do(t, chromedp.Navigate(ts.URL+"/reviews"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=reviews-table]`)))
	if n := b.count(t, `[data-testid=review-row]`); n != 0 {
		t.Fatalf("the queue starts with %d requests", n)
	}
	if n := b.count(t, `#nav-review-count:not([hidden])`); n != 0 {
		t.Fatal("the badge shows with nothing waiting")
	}
	// A mark on the window: a reload would lose it.
	b.do(t, chromedp.Evaluate[chromedp.Void](`window.csNoReload = "still here"`))

	// The gateway's call is held while the page is open.
	status, body := e.evaluate(e.token(), "billing-prod/wire_transfer", `{"iban":"DE00 1234","amount":950}`)
	got, decision := outcome(body)
	if status != http.StatusOK || got != "review_required" {
		t.Fatalf("evaluation: %d %v", status, body)
	}
	review, _ := decision["review"].(map[string]any)
	id, _ := review["id"].(string)
	if !strings.HasPrefix(id, "rv_") {
		t.Fatalf("no review id in %v", decision)
	}

	// It appears without a reload, and the badge counts it.
	row := `[data-testid=review-row][data-review-id="` + id + `"]`
	b.do(t, chromedp.WaitVisible(chromedp.CSS(row)), chromedp.WaitVisible(chromedp.CSS(`#nav-review-count:not([hidden])`)))
	if mark, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.csNoReload || ""`)); err != nil || mark != "still here" {
		t.Fatalf("the page was reloaded (%q, %v)", mark, err)
	}
	if n := strings.TrimSpace(b.text(t, `#nav-review-count`)); n != "1" {
		t.Errorf("badge = %q, want 1", n)
	}
	if text := b.text(t, row); !strings.Contains(text, "billing-prod/wire_transfer") || !strings.Contains(text, "support-bot") {
		t.Errorf("row = %q", text)
	}

	// On a phone the queue is one card per request, each value under its
	// column's name: nothing to scroll sideways.
	b.do(t, chromedp.EmulateViewport(390, 844))
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
		const w = document.querySelector('[data-testid=reviews-results] .table-wrap');
		return w.scrollWidth > w.clientWidth + 1 })()`))
	if err != nil || wide {
		t.Errorf("at 390 px the queue scrolls sideways (%v)", err)
	}
	// The navigation scrolls sideways instead, with the current page's
	// link brought into view on load.
	b.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(row)))
	shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
		const nav = document.querySelector('.nav'), a = nav.querySelector('[aria-current="page"]');
		const n = nav.getBoundingClientRect(), r = a.getBoundingClientRect();
		return r.left >= n.left - 1 && r.right <= n.right + 1 })()`))
	if err != nil || !shown {
		t.Errorf("at 390 px the current page's link is out of sight in the navigation (%v)", err)
	}
	if dir := os.Getenv("COUNTERSIGN_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(dir+"/reviews-phone.png", png, 0o644)
		}
	}
	b.do(t, chromedp.EmulateViewport(1280, 900))

	// Open it and approve it.
	b.do(t, chromedp.Click(chromedp.CSS(row+` a`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=decision-form]`)))
	if args := b.text(t, `[data-testid=review-arguments]`); !strings.Contains(args, "950") {
		t.Errorf("arguments = %q", args)
	}
	b.do(t, chromedp.SendKeys(chromedp.CSS(`#comment`), "IBAN checked against the ticket."),
		chromedp.Click(chromedp.CSS(`[data-testid=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=review-grants] [data-testid=grant-row]`)))
	if s := b.text(t, `[data-testid=review-decision] [data-testid=review-status]`); s != "approved" {
		t.Fatalf("status after approving = %q", s)
	}
	if history := b.text(t, `[data-testid=review-decisions]`); !strings.Contains(history, "IBAN checked") {
		t.Errorf("history = %q", history)
	}
	r, err := f.store.ReviewRequestByPublicID(ctx, id)
	if err != nil || r.Status != models.ReviewApproved {
		t.Fatalf("stored request: %+v %v", r, err)
	}
	// Back on the queue, nothing waits any more.
	b.do(t, chromedp.Navigate(ts.URL+"/reviews"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=reviews-table]`)))
	if n := b.count(t, `[data-testid=review-row], #nav-review-count:not([hidden])`); n != 0 {
		t.Errorf("%d rows or badges left after approval", n)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}

	// The rules' test form answers in place: a 422 shows its message, a
	// valid sample shows the matching rule.
	b.do(t, chromedp.Navigate(ts.URL+"/admin/review-rules"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=rule-test-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#test_server`), "billing-prod"), chromedp.SendKeys(chromedp.CSS(`#test_tool`), "no_such_tool"),
		chromedp.Click(chromedp.CSS(`[data-testid=rule-test-form] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`#test_tool-error`)))
	b.do(t, chromedp.SetValue(chromedp.CSS(`#test_tool`), "wire_transfer"),
		chromedp.Click(chromedp.CSS(`[data-testid=rule-test-form] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=rule-test-result]`)))
	if rule := b.text(t, `[data-testid=rule-test-rule]`); !strings.Contains(rule, "transfers need one") {
		t.Errorf("tested rule = %q", rule)
	}
	if n := b.count(t, `#flash-region .alert`); n != 0 {
		t.Error("the 422 of the test form was treated as a failure")
	}
	// Chromium logs every 4xx answer as "Failed to load resource"; the 422
	// above is expected, anything else is not.
	for _, e := range b.consoleErrors() {
		if !strings.Contains(e, "Failed to load resource") || !strings.Contains(e, "422") {
			t.Errorf("console error: %s", e)
		}
	}
	if dir := os.Getenv("COUNTERSIGN_SCREENSHOTS"); dir != "" {
		for name, path := range map[string]string{"review.png": "/reviews/" + url.PathEscape(id), "review-rules.png": "/admin/review-rules"} {
			b.do(t, chromedp.Navigate(ts.URL+path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
			if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
				_ = os.WriteFile(dir+"/"+name, png, 0o644)
			}
		}
	}
}
