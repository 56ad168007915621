package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// otherTeamCall holds a call on a server of a second team (growth) and
// returns the request.
func (f *fixture) otherTeamCall(t *testing.T) models.ReviewRequest {
	t.Helper()
	ctx := context.Background()
	growth := modeltest.MustTeam(t, f.store, "growth")
	prod, _ := f.store.EnvironmentByName(ctx, "prod")
	srv, err := f.store.CreateServer(ctx, modeltest.Admin, models.ServerInput{Slug: "growth-prod", Name: "Growth", TeamID: growth.ID,
		EnvironmentID: prod.ID, Transport: models.TransportStdio, Status: models.ServerActive})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := f.store.AddTool(ctx, modeltest.Admin, srv.ID, models.ToolDefinition{Name: "delete_campaign",
		Annotations: &models.ToolHints{DestructiveHint: &yes}}); err != nil {
		t.Fatal(err)
	}
	client, _, err := f.store.CreateAPIClient(ctx, modeltest.Admin, models.APIClientInput{Name: "growth gateway", TeamID: growth.ID,
		Scopes: []string{models.ScopeEvaluate}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.store.Evaluate(ctx, client, models.EvaluationRequest{Subject: "growth-bot", Action: models.ActionToolsCall,
		Resource: "growth-prod/delete_campaign", TaskID: "G-1"})
	if err != nil || d.Review == nil {
		t.Fatalf("growth call not held: %+v %v", d, err)
	}
	return *d.Review
}

func TestReviewQueueShowsOnlyTheUsersTeams(t *testing.T) {
	f := newFixture(t)
	mine := f.holdCall("support-bot", "ana@example.com", `{"invoice":"INV-7","amount":120}`)
	theirs := f.otherTeamCall(t)
	approver := f.session(f.users["approver"])

	rec := f.do(http.MethodGet, "/reviews", approver, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("queue: %d", rec.Code)
	}
	doc := parse(t, rec)
	if doc.Find(`[data-review-id="`+mine.PublicID+`"]`).Length() != 1 {
		t.Error("the queue lacks the request of the approver's team")
	}
	if doc.Find(`[data-review-id="`+theirs.PublicID+`"]`).Length() != 0 || strings.Contains(rec.Body.String(), "growth-prod") {
		t.Error("the queue shows a request of another team")
	}
	row := doc.Find(`[data-review-id="` + mine.PublicID + `"]`).Text()
	for _, want := range []string{"billing-prod/wire_transfer", "prod", "high", "support-bot", "ana@example.com", "0 of 1", "left"} {
		if !strings.Contains(row, want) {
			t.Errorf("queue row lacks %q: %q", want, row)
		}
	}
	if n := strings.TrimSpace(doc.Find(`[data-testid=nav-review-count]`).Text()); n != "1" {
		t.Errorf("nav badge = %q, want 1", n)
	}
	if url, _ := doc.Find(`#reviews-results`).Attr("hx-get"); !strings.HasPrefix(url, "/reviews/live") {
		t.Errorf("the results are not polled: hx-get=%q", url)
	}

	// The polled fragment: the rows and the badge out of band, no layout.
	live := f.do(http.MethodGet, "/reviews/live?status=pending", approver, nil)
	body := live.Body.String()
	if live.Code != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(body, mine.PublicID) ||
		!strings.Contains(body, `hx-swap-oob="true"`) || strings.Contains(body, theirs.PublicID) {
		t.Errorf("live fragment: %d\n%s", live.Code, body)
	}
	if badge := f.do(http.MethodGet, "/reviews/badge", approver, nil); !strings.Contains(badge.Body.String(), ">1</span>") {
		t.Errorf("badge fragment: %s", badge.Body.String())
	}

	// A manager reads the queue but decides nothing: no badge, no polling of it.
	manager := f.session(f.users["manager"])
	if doc := parse(t, f.do(http.MethodGet, "/reviews", manager, nil)); doc.Find(`[data-testid=nav-review-count]`).Length() != 0 ||
		doc.Find(`[data-review-id="`+mine.PublicID+`"]`).Length() != 1 {
		t.Error("manager: a badge, or the team's request missing")
	}
	if live := f.do(http.MethodGet, "/reviews/live", manager, nil); strings.Contains(live.Body.String(), "hx-swap-oob") {
		t.Error("manager: the live fragment carries a badge with no target")
	}

	// Another team's request is not found, by either id.
	for _, ref := range []string{theirs.PublicID, itoa(theirs.ID)} {
		if rec := f.do(http.MethodGet, "/reviews/"+ref, approver, nil); rec.Code != http.StatusNotFound {
			t.Errorf("other team's request %s: %d, want 404", ref, rec.Code)
		}
	}
	// The numeric id and the public id open the same page.
	for _, ref := range []string{mine.PublicID, itoa(mine.ID)} {
		rec := f.do(http.MethodGet, "/reviews/"+ref, approver, nil)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), mine.PublicID) {
			t.Errorf("request page by %s: %d", ref, rec.Code)
		}
	}
	// Search and the status filter.
	if doc := parse(t, f.do(http.MethodGet, "/reviews?q=nobody", approver, nil)); doc.Find(`[data-testid=review-row]`).Length() != 0 {
		t.Error("search does not filter")
	}
	if doc := parse(t, f.do(http.MethodGet, "/reviews?status=approved", approver, nil)); doc.Find(`[data-testid=review-row]`).Length() != 0 {
		t.Error("status filter does not filter")
	}
}

func TestRequestPageShowsWhatAnApproverNeeds(t *testing.T) {
	f := newFixture(t)
	r := f.holdCall("support-bot", "ana@example.com", `{"invoice":"INV-7","amount":120,"api_key":"sk_live_abcdefghijklmnopqrstuvwx"}`)
	rec := f.do(http.MethodGet, "/reviews/"+r.PublicID, f.session(f.users["approver"]), nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("request page: %d", rec.Code)
	}
	doc := parse(t, rec)
	text := doc.Find("main").Text()
	for _, want := range []string{"billing-prod", "wire_transfer", "prod", "writes", "destructiveHint true", "high", "support-bot",
		"ana@example.com", "customer ticket 4411", "T-981", "0 of 1", "gateway", r.ArgumentDigest, "INV-7"} {
		if !strings.Contains(text, want) {
			t.Errorf("request page lacks %q", want)
		}
	}
	if strings.Contains(rec.Body.String(), "sk_live_abcdefghijklmnopqrstuvwx") {
		t.Error("the request page shows an argument that looks like a secret")
	}
	if doc.Find(`[data-testid=decision-form]`).Length() != 1 || doc.Find(`[data-testid=deny]`).Length() != 1 {
		t.Error("the approver is not offered to decide")
	}
	// A manager reads the page and is told why it cannot decide.
	doc = parse(t, f.do(http.MethodGet, "/reviews/"+r.PublicID, f.session(f.users["manager"]), nil))
	if doc.Find(`[data-testid=decision-form]`).Length() != 0 || !strings.Contains(doc.Find(`[data-testid=cannot-decide]`).Text(), "no approver role") {
		t.Errorf("manager: %q", doc.Find(`[data-testid=cannot-decide]`).Text())
	}
}

func TestDenyWithoutCommentIsRefusedAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	r := f.holdCall("support-bot", "", `{"invoice":"INV-7"}`)
	approver := f.session(f.users["approver"])
	audit := auditCount(t, f.store, "review.deny")

	rec := f.do(http.MethodPost, "/reviews/"+r.PublicID+"/deny", approver, url.Values{"comment": {"   "}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("deny without a comment: %d, want 422", rec.Code)
	}
	doc := parse(t, rec)
	if !strings.Contains(doc.Find("#comment-error").Text(), "deny") || doc.Find(`[data-testid=decision-form]`).Length() != 1 {
		t.Errorf("no message on the comment field: %q", doc.Find("#comment-error").Text())
	}
	long := strings.Repeat("too long ", 230)
	rec = f.do(http.MethodPost, "/reviews/"+r.PublicID+"/deny", approver, url.Values{"comment": {long}})
	if rec.Code != http.StatusUnprocessableEntity || strings.TrimSpace(parse(t, rec).Find("#comment").Text()) != strings.TrimSpace(long) {
		t.Errorf("a refused comment is not kept: %d", rec.Code)
	}
	after, _ := f.store.ReviewViewByID(context.Background(), r.ID)
	if after.Request.Status != models.ReviewPending || len(after.Decisions) != 0 || auditCount(t, f.store, "review.deny") != audit {
		t.Fatalf("a refused deny changed the request: %s, %d decisions", after.Request.Status, len(after.Decisions))
	}

	rec = f.do(http.MethodPost, "/reviews/"+r.PublicID+"/deny", approver, url.Values{"comment": {"Refunds over 100 need a ticket."}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("deny: %d", rec.Code)
	}
	doc = parse(t, f.do(http.MethodGet, rec.Header().Get("Location"), approver, nil))
	if s := doc.Find(`[data-testid=review-decision] [data-testid=review-status]`).Text(); s != "denied" {
		t.Errorf("status after deny = %q", s)
	}
	if !strings.Contains(doc.Find(`[data-testid=review-decisions]`).Text(), "Refunds over 100 need a ticket.") {
		t.Error("the comment is not in the history")
	}
	if auditCount(t, f.store, "review.deny") != audit+1 {
		t.Error("the deny is not audited")
	}
	// A second decision on a decided request: 409 with the reason.
	rec = f.do(http.MethodPost, "/reviews/"+r.PublicID+"/approve", approver, nil)
	if rec.Code != http.StatusConflict {
		t.Errorf("decide a denied request: %d, want 409", rec.Code)
	}
}

func TestRequesterCannotApproveViaThePage(t *testing.T) {
	f := newFixture(t)
	approver := f.users["approver"]
	for _, tc := range []struct{ name, subject, onBehalfOf, why string }{
		{"on behalf of", "support-bot", approver.Email, "on your behalf"},
		{"requester", approver.Email, "", "you made this request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.holdCall(tc.subject, tc.onBehalfOf, `{"case":"`+tc.name+`"}`)
			cookie := f.session(approver)
			doc := parse(t, f.do(http.MethodGet, "/reviews/"+r.PublicID, cookie, nil))
			if doc.Find(`[data-testid=decision-form]`).Length() != 0 {
				t.Error("the requester is offered to decide")
			}
			if why := doc.Find(`[data-testid=cannot-decide]`).Text(); !strings.Contains(strings.ToLower(why), tc.why) {
				t.Errorf("reason = %q, want %q", why, tc.why)
			}
			audit := auditCount(t, f.store, "review.approve")
			rec := f.do(http.MethodPost, "/reviews/"+r.PublicID+"/approve", cookie, url.Values{"comment": {"looks fine"}})
			if rec.Code != http.StatusForbidden {
				t.Fatalf("approve by the requester: %d, want 403", rec.Code)
			}
			if msg := parse(t, rec).Find(`[data-testid=decision-error]`).Text(); !strings.Contains(strings.ToLower(msg), "someone else") {
				t.Errorf("refusal message = %q", msg)
			}
			after, _ := f.store.ReviewViewByID(context.Background(), r.ID)
			if after.Request.Status != models.ReviewPending || after.Request.Approvals != 0 || len(after.Grants) != 0 ||
				auditCount(t, f.store, "review.approve") != audit {
				t.Fatal("a refused approval changed the request")
			}
		})
	}
}

func TestApproveOnThePageYieldsARevocableGrant(t *testing.T) {
	f := newFixture(t)
	r := f.holdCall("support-bot", "", `{"invoice":"INV-9"}`)
	approver := f.session(f.users["approver"])
	rec := f.do(http.MethodPost, "/reviews/"+r.PublicID+"/approve", approver, url.Values{"comment": {"ticket checked"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/reviews/"+r.PublicID {
		t.Fatalf("approve: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	doc := parse(t, f.do(http.MethodGet, "/reviews/"+r.PublicID, approver, nil))
	if s := doc.Find(`[data-testid=review-decision] [data-testid=review-status]`).Text(); s != "approved" {
		t.Fatalf("status = %q", s)
	}
	if doc.Find(`[data-testid=review-grants] [data-testid=revoke-grant]`).Length() != 1 {
		t.Fatal("the live grant has no revoke form")
	}
	grants, _ := f.store.GrantsOfReview(context.Background(), r.ID)
	list := parse(t, f.do(http.MethodGet, "/grants", approver, nil))
	if list.Find(`[data-grant-id="`+grants[0].PublicID+`"]`).Length() != 1 {
		t.Fatal("the grant list lacks the live grant")
	}
	// A manager sees the grant and no revoke button.
	if doc := parse(t, f.do(http.MethodGet, "/grants", f.session(f.users["manager"]), nil)); doc.Find(`[data-testid=revoke-grant]`).Length() != 0 {
		t.Error("a manager is offered to revoke")
	}
	rec = f.do(http.MethodPost, "/grants/"+itoa(grants[0].ID)+"/revoke", approver,
		url.Values{"reason": {"wrong invoice"}, "return": {"https://evil.example.com/"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/grants" {
		t.Fatalf("revoke: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	g, _ := f.store.GrantByID(context.Background(), grants[0].ID)
	if g.RevokedAt == nil || g.RevokedReason != "wrong invoice" || auditCount(t, f.store, "grant.revoke") != 1 {
		t.Fatalf("grant not revoked with its reason and audit event: %+v", g)
	}
	if list := parse(t, f.do(http.MethodGet, "/grants", approver, nil)); list.Find(`[data-testid=grant-row]`).Length() != 0 {
		t.Error("a revoked grant is still listed as live")
	}
	if rec := f.do(http.MethodPost, "/grants/"+itoa(grants[0].ID)+"/revoke", approver, nil); rec.Code != http.StatusConflict {
		t.Errorf("second revoke: %d, want 409", rec.Code)
	}
}

func TestClientSecretIsShownOnceAndStoredNowhere(t *testing.T) {
	f, dbPath, logs := importFixture(t)
	admin := f.session(f.users["admin"])
	rec := f.do(http.MethodPost, "/admin/clients", admin, url.Values{"name": {"support gateway"}, "team": {itoa(f.team.ID)},
		"scopes": {models.ScopeEvaluate}, "webhook_url": {"https://hooks.example.com/decisions"}})
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create client: %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	doc := parse(t, rec)
	secret := doc.Find(`[data-testid=client-secret-value]`).Text()
	clientID := doc.Find(`[data-testid=client-id]`).Text()
	if !strings.HasPrefix(secret, "css_") || !strings.HasPrefix(clientID, "csc_") {
		t.Fatalf("secret page: id %q secret %q", clientID, secret)
	}
	ctx := context.Background()
	if _, _, _, err := f.store.IssueAPIToken(ctx, clientID, secret, nil); err != nil {
		t.Fatalf("the shown secret does not work: %v", err)
	}
	// Shown once: the list and the client's pages never show it again.
	for _, path := range []string{"/admin/clients", "/admin/clients?q=support"} {
		page := f.do(http.MethodGet, path, admin, nil)
		if page.Code != http.StatusOK || strings.Contains(page.Body.String(), secret) || !strings.Contains(page.Body.String(), clientID) {
			t.Errorf("%s: %d, lists the client without its secret?", path, page.Code)
		}
	}
	// Rotate: a new secret, shown once; the old one stops working.
	c, _ := f.store.APIClientByClientID(ctx, clientID)
	rec = f.do(http.MethodPost, "/admin/clients/"+itoa(c.ID)+"/rotate", admin, nil)
	rotated := parse(t, rec).Find(`[data-testid=client-secret-value]`).Text()
	if rec.Code != http.StatusOK || rotated == "" || rotated == secret {
		t.Fatalf("rotate: %d", rec.Code)
	}
	if _, _, _, err := f.store.IssueAPIToken(ctx, clientID, secret, nil); err == nil {
		t.Error("the old secret still works after rotation")
	}
	if _, _, _, err := f.store.IssueAPIToken(ctx, clientID, rotated, nil); err != nil {
		t.Errorf("the rotated secret does not work: %v", err)
	}
	var stored []byte
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		data, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		stored = append(stored, data...)
	}
	for _, s := range []string{secret, rotated} {
		if bytes.Contains(stored, []byte(s)) || bytes.Contains(stored, []byte(s[4:])) {
			t.Error("the database holds a client secret")
		}
		if strings.Contains(logs.String(), s[4:]) {
			t.Error("the logs hold a client secret")
		}
	}
	if auditCount(t, f.store, "client.create") != 1 || auditCount(t, f.store, "client.rotate") != 1 {
		t.Error("create and rotate are not audited")
	}

	// Webhook: a bad URL is refused with 422 and kept; revoke ends it.
	rec = f.do(http.MethodPost, "/admin/clients/"+itoa(c.ID)+"/webhook", admin, url.Values{"webhook_url": {"ftp://nope"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "ftp://nope") {
		t.Errorf("bad webhook: %d", rec.Code)
	}
	if rec := f.do(http.MethodPost, "/admin/clients/"+itoa(c.ID)+"/revoke", admin, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if _, _, _, err := f.store.IssueAPIToken(ctx, clientID, rotated, nil); err == nil {
		t.Error("a revoked client still gets tokens")
	}
	// A bad form keeps the input with a 422.
	rec = f.do(http.MethodPost, "/admin/clients", admin, url.Values{"name": {"no team"}})
	if rec.Code != http.StatusUnprocessableEntity || parse(t, rec).Find(`#team-error`).Length() != 1 {
		t.Errorf("bad client form: %d", rec.Code)
	}
}

func TestReviewRulesAdmin(t *testing.T) {
	f := newFixture(t)
	admin := f.session(f.users["admin"])
	f.reviewTool()
	form := url.Values{"team": {itoa(f.team.ID)}, "name": {"transfers need two"}, "tool_pattern": {"wire_*"}, "outcome": {"review"},
		"approvals_needed": {"2"}, "approver_role": {"approver"}, "request_ttl": {"30m"}, "grant_ttl": {"5m"}, "grant_max_uses": {"1"},
		"enabled": {"on"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("approvals_needed", "9")
	bad.Set("grant_ttl", "soon")
	rec := f.do(http.MethodPost, "/admin/review-rules", admin, bad)
	doc := parse(t, rec)
	if rec.Code != http.StatusUnprocessableEntity || doc.Find("#grant_ttl-error").Length() != 1 {
		t.Fatalf("bad rule: %d", rec.Code)
	}
	if doc.Find("#approvals_needed-error").Length() != 1 { // reported together with the duration, not after it
		t.Errorf("the approvals problem waits for the duration to be fixed")
	}
	if v, _ := doc.Find("#name").Attr("value"); v != "transfers need two" {
		t.Errorf("name not kept: %q", v)
	}
	if rec := f.do(http.MethodPost, "/admin/review-rules", admin, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("create rule: %d\n%s", rec.Code, parse(t, rec).Find("form").Text())
	}
	allow := f.ruleID() // "reads are fine", second in the list
	rules, _ := f.store.ReviewRules(context.Background(), models.AllTeams)
	if len(rules) != 2 || rules[0].Name != "transfers need two" || rules[0].RequestTTLSeconds != 1800 {
		t.Fatalf("rules = %+v", rules)
	}
	// Test the rules: the sample call matches the first rule.
	q := url.Values{"test_server": {"billing-prod"}, "test_tool": {"wire_transfer"}, "test_subject": {"support-bot"},
		"test_arguments": {`{"amount": 5, "token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}`}}
	rec = f.do(http.MethodGet, "/admin/review-rules?"+q.Encode(), f.session(f.users["approver"]), nil)
	doc = parse(t, rec)
	if rec.Code != http.StatusOK || doc.Find(`[data-testid=rule-test-outcome]`).Text() != "review_required" ||
		!strings.Contains(doc.Find(`[data-testid=rule-test-rule]`).Text(), "transfers need two") {
		t.Errorf("test: %d %q %q", rec.Code, doc.Find(`[data-testid=rule-test-outcome]`).Text(), doc.Find(`[data-testid=rule-test-rule]`).Text())
	}
	if result := doc.Find(`[data-testid=rule-test-result]`).Text(); !strings.Contains(result, "sha256:") ||
		strings.Contains(result, "ghp_abcdefghijklmnopqrstuvwxyz0123456789") {
		t.Errorf("the test result lacks the digest or shows a secret-looking argument: %q", result)
	}
	q.Set("test_tool", "no_such_tool")
	if rec := f.do(http.MethodGet, "/admin/review-rules?"+q.Encode(), admin, nil); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("test of an unknown tool: %d", rec.Code)
	}
	// Move the allow rule up: it is now evaluated first.
	if rec := f.do(http.MethodPost, "/admin/review-rules/"+itoa(allow)+"/move", admin, url.Values{"direction": {"up"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("move: %d", rec.Code)
	}
	rules, _ = f.store.ReviewRules(context.Background(), models.AllTeams)
	if rules[0].ID != allow {
		t.Errorf("after moving up, the first rule is %q", rules[0].Name)
	}
	// Edit, then delete.
	form.Set("approvals_needed", "1")
	if rec := f.do(http.MethodPost, "/admin/review-rules/"+itoa(rules[1].ID), admin, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("update: %d", rec.Code)
	}
	if r, _ := f.store.ReviewRuleByID(context.Background(), rules[1].ID); r.ApprovalsNeeded != 1 {
		t.Error("update not saved")
	}
	if rec := f.do(http.MethodPost, "/admin/review-rules/"+itoa(allow)+"/delete", admin, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", rec.Code)
	}
	for _, action := range []string{"review_rule.create", "review_rule.move", "review_rule.update", "review_rule.delete"} {
		if auditCount(t, f.store, action) == 0 {
			t.Errorf("%s not audited", action)
		}
	}
}

func TestNotificationsAdmin(t *testing.T) {
	f := newFixture(t)
	admin := f.session(f.users["admin"])
	rec := f.do(http.MethodPost, "/admin/notifications", admin, url.Values{"team": {itoa(f.team.ID)}, "name": {"#payments"},
		"kind": {"slack"}, "url": {"not a url"}, "enabled": {"on"}})
	if rec.Code != http.StatusUnprocessableEntity || parse(t, rec).Find("#url-error").Length() != 1 {
		t.Fatalf("bad channel: %d", rec.Code)
	}
	rec = f.do(http.MethodPost, "/admin/notifications", admin, url.Values{"team": {itoa(f.team.ID)}, "name": {"#payments"},
		"kind": {"slack"}, "url": {"https://hooks.slack.example.com/T1"}, "enabled": {"on"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create channel: %d", rec.Code)
	}
	failed := f.failedOutboxID()
	doc := parse(t, f.do(http.MethodGet, "/admin/notifications", admin, nil))
	if doc.Find(`[data-testid=channel-row]`).Length() != 1 || !strings.Contains(doc.Find(`[data-testid=outbox-table]`).Text(), "500 Internal Server Error") {
		t.Fatalf("page lacks the channel or the failed delivery's error")
	}
	// An auditor reads, without buttons.
	if doc := parse(t, f.do(http.MethodGet, "/admin/notifications", f.session(f.users["auditor"]), nil)); doc.Find(`[data-testid=retry]`).Length() != 0 {
		t.Error("the auditor is offered to retry")
	}
	if rec := f.do(http.MethodPost, "/admin/notifications/outbox/"+itoa(failed)+"/retry", admin, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("retry: %d", rec.Code)
	}
	m, _ := f.store.OutboxMessageByID(context.Background(), failed)
	if m.Status != models.OutboxPending || m.Attempts != 0 || auditCount(t, f.store, "notification.retry") != 1 {
		t.Errorf("after retry: %s, %d attempts", m.Status, m.Attempts)
	}
}

// auditCount counts audit events with an action.
func auditCount(t *testing.T, s *models.Store, action string) int64 {
	t.Helper()
	page, err := s.AuditEvents(context.Background(), models.AuditFilter{Action: action, ListParams: models.ListParams{PerPage: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}
