package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// htmxGet sends the GET request htmx sends for the element sel of doc: its
// hx-get address with the values of its hx-include inputs, its own value
// and its hx-vals. set changes input values first, as typing would.
func htmxGet(t *testing.T, f *fixture, cookie *http.Cookie, doc *goquery.Document, sel string, set map[string]string) *goquery.Document {
	t.Helper()
	elt := doc.Find(sel)
	path, ok := elt.Attr("hx-get")
	if !ok {
		t.Fatalf("%s has no hx-get", sel)
	}
	q := url.Values{}
	add := func(s *goquery.Selection) {
		if name := s.AttrOr("name", ""); name != "" {
			v := s.AttrOr("value", "")
			if nv, ok := set[name]; ok {
				v = nv
			}
			q.Set(name, v)
		}
	}
	add(elt)
	for _, inc := range strings.Split(elt.AttrOr("hx-include", ""), ",") {
		if inc = strings.TrimSpace(inc); inc != "" {
			add(doc.Find(inc))
		}
	}
	if vals := elt.AttrOr("hx-vals", ""); vals != "" {
		var m map[string]string
		if err := json.Unmarshal([]byte(vals), &m); err != nil {
			t.Fatalf("hx-vals of %s: %v", sel, err)
		}
		for k, v := range m {
			q.Set(k, v)
		}
	}
	rec := f.do(http.MethodGet, path+"?"+q.Encode(), cookie, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s?%s: status %d", path, q.Encode(), rec.Code)
	}
	return parse(t, rec)
}

// scheduleFormCase is a form with the schedule fields and the POST that
// gets it back with an invalid schedule.
type scheduleFormCase struct {
	name, path string
	form       url.Values
}

// An invalid schedule is reported once, on its field (tied to it with
// aria-describedby), both on the re-rendered form and by the live check as
// the user types; the preview only says to fix the schedule. Fixing the
// schedule live clears the message.
func TestScheduleErrorShownOnceOnItsField(t *testing.T) {
	f := newFixture(t)
	gov := f.session(f.users["governance"])
	const bad = "0 25 * * *"
	cases := []scheduleFormCase{
		{"key type", fmt.Sprintf("/servers/%d/key-types", f.server.ID), url.Values{"key_type": {"scoped_api_key"},
			"max_lifetime_days": {"30"}, "rotation_spec": {bad}, "rationale": {"Billing rotates monthly, by contract."}}},
		{"credential", "/credentials", url.Values{"name": {"billing stripe key"}, "team": {itoa(f.team.ID)},
			"environment": {itoa(f.server.EnvironmentID)}, "key_type": {"scoped_api_key"}, "status": {"active"},
			"servers": {itoa(f.server.ID)}, "rotation_spec": {bad}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := f.do(http.MethodPost, c.path, gov, c.form)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", rec.Code)
			}
			page := parse(t, rec)
			msg := strings.TrimSpace(page.Find("#rotation_spec-error").Text())
			if !strings.Contains(msg, "hour") {
				t.Fatalf("rotation_spec-error = %q, want the reason", msg)
			}
			input := page.Find("#rotation_spec")
			if input.AttrOr("aria-invalid", "") != "true" || !strings.Contains(input.AttrOr("aria-describedby", ""), "rotation_spec-error") {
				t.Errorf("the input is not tied to its message: %v", input.Nodes[0].Attr)
			}
			if v := input.AttrOr("value", ""); v != bad {
				t.Errorf("spec not kept: %q", v)
			}

			// The page and the preview it loads say it once.
			loaded := htmxGet(t, f, gov, page, "#schedule-preview", nil)
			if n := strings.Count(page.Text(), msg) + strings.Count(loaded.Text(), msg); n != 1 {
				t.Errorf("the message is shown %d times on the page with its preview, want once", n)
			}
			if got := loaded.Find("[data-testid=schedule-preview]").Text(); !strings.Contains(got, "Fix the schedule") {
				t.Errorf("preview = %q, want it to send the user to the field", got)
			}

			// Typing: the live check puts the message on the field, not in
			// the preview.
			live := htmxGet(t, f, gov, page, "#rotation_spec", nil)
			if got := strings.TrimSpace(live.Find(`#rotation_spec-error[hx-swap-oob]`).Text()); got != msg {
				t.Errorf("live message for the field = %q, want %q", got, msg)
			}
			if n := strings.Count(live.Text(), msg); n != 1 {
				t.Errorf("the live check shows the message %d times, want once", n)
			}
			if got := live.Find("[data-testid=schedule-preview]").Text(); strings.Contains(got, msg) {
				t.Errorf("the live preview repeats the message: %q", got)
			}

			// Fixed: the live check clears the message and lists the times.
			fixed := htmxGet(t, f, gov, page, "#rotation_spec", map[string]string{"rotation_spec": "0 3 * * *"})
			if slot := fixed.Find(`#rotation_spec-error[hx-swap-oob]`); slot.Length() != 1 || strings.TrimSpace(slot.Text()) != "" {
				t.Errorf("fixed schedule: field message slot = %d, %q; want one, empty", slot.Length(), slot.Text())
			}
			if n := fixed.Find("[data-testid=schedule-preview] li time").Length(); n != 5 {
				t.Errorf("fixed schedule: %d due times, want 5", n)
			}
		})
	}
}
