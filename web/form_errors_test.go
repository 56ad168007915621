package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// Every form of the app, sent with invalid input, answers 422 and re-renders
// itself: what the user entered is kept (secrets and passwords excepted),
// each message is shown once, and the field it is about is marked invalid
// and described by it. The import form, which never keeps the pasted file,
// and the schedule fields are covered by their own tests.
func TestFormErrorsShownOnceOnTheirFieldWithInputKept(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		role, route string
		form        url.Values
	}{
		{"governance", "POST /servers", url.Values{"slug": {"Not A Slug"}, "name": {"Billing two"}, "team": {itoa(f.team.ID)},
			"description": {"Kept description."}, "endpoint": {"https://two.example.com/mcp"}, "data_classes": {"pii"}}},
		{"governance", "POST /servers/:id", url.Values{"name": {""}, "description": {strings.Repeat("d", 2001)}}},
		{"governance", "POST /servers/:id/tools", url.Values{"name": {""}, "title": {"Kept title"}, "description": {"Kept."},
			"input_schema": {"[1]"}}},
		{"governance", "POST /servers/:id/tools/import", url.Values{"tools_json": {`{"tools": [`}}},
		{"governance", "POST /tools/:id/risk", url.Values{"risk": {"low"}, "reason": {""}}},
		{"governance", "POST /credentials", url.Values{"name": {""}, "team": {itoa(f.team.ID)}, "scopes": {"refunds:write"},
			"issuer": {"Stripe"}, "notes": {"Kept notes."}, "expires_at": {"2020-13-45"}}},
		{"governance", "POST /credentials/:id", url.Values{"name": {""}, "scopes": {"refunds:write"}, "notes": {strings.Repeat("n", 4001)}}},
		{"governance", "POST /credentials/:id/rotation-webhook", url.Values{"rotation_webhook_url": {"javascript:alert(1)"}}},
		{"governance", "POST /findings/:id/exceptions", url.Values{"justification": {"short"}, "expires_at": {"2020-01-01"}}},
		{"governance", "POST /environments/:id/key-types", url.Values{"key_type": {""}, "max_lifetime_days": {"30"},
			"required_scopes": {"billing:read"}, "rationale": {"short"}}},
		{"governance", "POST /rotations/tasks/:id/complete", url.Values{"note": {""}}},
		{"approver", "POST /reviews/:id/deny", url.Values{"comment": {""}}},
		{"admin", "POST /admin/teams", url.Values{"slug": {"Not A Slug"}, "name": {"Kept name"}, "description": {"Kept."}}},
		{"admin", "POST /admin/teams/:id", url.Values{"name": {""}, "description": {strings.Repeat("d", 501)}}},
		{"admin", "POST /admin/review-rules", url.Values{"team": {itoa(f.team.ID)}, "name": {""}, "tool_pattern": {"refund_*"},
			"outcome": {"review"}, "approvals_needed": {"0"}}},
		{"admin", "POST /admin/review-rules/:id", url.Values{"team": {itoa(f.team.ID)}, "name": {""}, "tool_pattern": {"refund_*"},
			"outcome": {"review"}, "approvals_needed": {"1"}}},
		{"admin", "POST /admin/clients", url.Values{"name": {""}, "team": {itoa(f.team.ID)}, "webhook_url": {"https://hooks.example.com/x"}}},
		{"admin", "POST /admin/clients/:id/webhook", url.Values{"webhook_url": {"javascript:alert(1)"}}},
		{"admin", "POST /admin/notifications", url.Values{"team": {itoa(f.team.ID)}, "name": {""}, "kind": {"webhook"},
			"url": {"javascript:alert(1)"}, "events": {"review.requested"}}},
		{"admin", "POST /admin/notifications/:id", url.Values{"team": {itoa(f.team.ID)}, "name": {"Kept name"}, "kind": {"webhook"},
			"url": {"javascript:alert(1)"}}},
		{"admin", "POST /admin/users", url.Values{"email": {"not-an-email"}, "name": {"Kept Name"}, "password": {"short"}}},
		{"admin", "POST /admin/users/:id/password", url.Values{"password": {"short"}}},
		{"admin", "POST /admin/users/:id/roles", url.Values{"role": {""}, "team": {itoa(f.team.ID)}}},
	}
	for _, c := range cases {
		t.Run(c.route, func(t *testing.T) {
			method, pattern, _ := strings.Cut(c.route, " ")
			rec := f.do(method, f.concretePath(pattern), f.session(f.users[c.role]), c.form)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", rec.Code)
			}
			doc := parse(t, rec)
			main := squash(doc.Find("main").Text())
			errs := doc.Find(".field-error")
			if errs.Length() == 0 {
				t.Fatalf("no field message: %s", squash(doc.Find("main .alert").Text()))
			}
			errs.Each(func(_ int, e *goquery.Selection) {
				msg := squash(e.Text())
				if n := strings.Count(main, msg); n != 1 {
					t.Errorf("%q is shown %d times", msg, n)
				}
				id := e.AttrOr("id", "")
				if id == "" {
					id = e.Parent().AttrOr("id", "") // a slot that holds the message
				}
				field := doc.Find(`[aria-describedby~="` + id + `"]`)
				if id == "" || field.Length() == 0 || field.AttrOr("aria-invalid", "") != "true" {
					t.Errorf("%q is tied to no invalid field (id %q)", msg, id)
				}
			})
			for name, values := range c.form {
				// Fields the form does not offer here (a team fixed on edit) are skipped.
				offered := doc.Find(`main [name="`+name+`"]`).Length() > 0
				if v := values[0]; offered && v != "" && name != "password" && !kept(doc, name, v) {
					t.Errorf("%s = %q not kept", name, v)
				}
			}
		})
	}
}

// kept reports whether the page holds value as the value of the field name.
func kept(doc *goquery.Document, name, value string) bool {
	found := false
	doc.Find(`main [name="` + name + `"]`).Each(func(_ int, s *goquery.Selection) {
		switch goquery.NodeName(s) {
		case "textarea":
			found = found || s.Text() == value
		case "select":
			found = found || s.Find(`option[selected]`).AttrOr("value", "") == value
		default:
			found = found || s.AttrOr("value", "") == value
		}
	})
	return found
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
