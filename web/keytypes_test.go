package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func TestKeyTypeFormKeepsInputWith422(t *testing.T) {
	f := newFixture(t)
	gov := f.session(f.users["governance"])
	form := url.Values{"key_type": {"scoped_api_key"}, "max_lifetime_days": {"ninety"},
		"rotation_spec": {"TZ=Europe/Berlin 0 3 * * *"}, "rotation_tz": {"Europe/Berlin"},
		"required_scopes": {"billing:read"}, "rationale": {"short"}}
	rec := f.do(http.MethodPost, fmt.Sprintf("/servers/%d/key-types", f.server.ID), gov, form)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", rec.Code)
	}
	doc := parse(t, rec)
	for id, want := range map[string]string{"rotation_spec-error": "TZ=", "rationale-error": "at least 10",
		"max_lifetime_days-error": "number of days"} {
		if msg := doc.Find("#" + id).Text(); !strings.Contains(msg, want) {
			t.Errorf("%s = %q, want it to mention %q", id, msg, want)
		}
	}
	if v, _ := doc.Find("input[name=rotation_spec]").Attr("value"); v != "TZ=Europe/Berlin 0 3 * * *" {
		t.Errorf("spec not kept: %q", v)
	}
	if v, _ := doc.Find("input[name=required_scopes]").Attr("value"); v != "billing:read" {
		t.Errorf("scopes not kept: %q", v)
	}
	if v := doc.Find("textarea[name=rationale]").Text(); v != "short" {
		t.Errorf("rationale not kept: %q", v)
	}
	if _, ok := doc.Find("select[name=key_type] option[value=scoped_api_key]").Attr("selected"); !ok {
		t.Error("key type not kept")
	}
	// The spec and zone inputs refresh the preview as the user types.
	if trig, _ := doc.Find("#rotation_spec").Attr("hx-trigger"); !strings.Contains(trig, "keyup changed delay:400ms") {
		t.Errorf("spec input hx-trigger = %q", trig)
	}
}

func TestKeyPolicyJourney(t *testing.T) {
	f := newFixture(t)
	gov := f.session(f.users["governance"])
	env := f.server.EnvironmentID

	// A default of the environment, inherited by the server.
	rec := f.do(http.MethodPost, fmt.Sprintf("/environments/%d/key-types", env), gov, url.Values{
		"key_type": {"scoped_api_key"}, "max_lifetime_days": {"90"}, "rotation_spec": {"0 3 1 * *"},
		"rotation_tz": {"Europe/Berlin"}, "rationale": {"Scoped keys are the best the vendors offer."}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != fmt.Sprintf("/environments/%d", env) {
		t.Fatalf("create default: status %d to %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	f.do(http.MethodPost, fmt.Sprintf("/environments/%d/key-types", env), gov, url.Values{
		"key_type": {"workload_identity"}, "max_lifetime_days": {"0"}, "rationale": {"Workload identity is always welcome."}})
	page := parse(t, f.do(http.MethodGet, fmt.Sprintf("/servers/%d", f.server.ID), gov, nil))
	if src := page.Find(`[data-testid=key-policy] tr[data-key-type=scoped_api_key]`).AttrOr("data-source", ""); src != "inherited" {
		t.Fatalf("scoped key source = %q, want inherited", src)
	}

	// The server may only tighten: a longer lifetime is refused.
	rec = f.do(http.MethodPost, fmt.Sprintf("/servers/%d/key-types", f.server.ID), gov, url.Values{
		"key_type": {"scoped_api_key"}, "max_lifetime_days": {"120"}, "rationale": {"We would like longer keys here."}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(parse(t, rec).Find("#max_lifetime_days-error").Text(), "at most 90") {
		t.Fatalf("looser lifetime: status %d", rec.Code)
	}
	rec = f.do(http.MethodPost, fmt.Sprintf("/servers/%d/key-types", f.server.ID), gov, url.Values{
		"key_type": {"scoped_api_key"}, "max_lifetime_days": {"30"}, "rationale": {"Billing rotates monthly, by contract."}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("tighten: status %d: %s", rec.Code, rec.Body.String())
	}
	page = parse(t, f.do(http.MethodGet, fmt.Sprintf("/servers/%d", f.server.ID), gov, nil))
	sources := map[string]string{}
	page.Find(`[data-testid=key-policy] tbody tr[data-key-type]`).Each(func(_ int, s *goquery.Selection) {
		sources[s.AttrOr("data-key-type", "")] = s.AttrOr("data-source", "")
	})
	if sources["scoped_api_key"] != "overridden" || sources["workload_identity"] != "not-inherited" {
		t.Fatalf("sources = %v", sources)
	}
	if got := page.Find(`[data-testid=key-policy-source]`).Text(); got != "set for this server" {
		t.Errorf("policy source = %q", got)
	}

	// Edit and delete the server entry; both are in the server's history.
	entries, err := f.store.KeyPolicyEntries(context.Background(), f.server)
	if err != nil {
		t.Fatal(err)
	}
	var own models.AllowedKeyType
	for _, e := range entries {
		if e.ServerID != nil {
			own = e
		}
	}
	rec = f.do(http.MethodGet, fmt.Sprintf("/key-types/%d/edit", own.ID), gov, nil)
	if v, _ := parse(t, rec).Find("input[name=max_lifetime_days]").Attr("value"); rec.Code != http.StatusOK || v != "30" {
		t.Fatalf("edit form: status %d, lifetime %q", rec.Code, v)
	}
	rec = f.do(http.MethodPost, fmt.Sprintf("/key-types/%d", own.ID), gov, url.Values{
		"key_type": {"scoped_api_key"}, "max_lifetime_days": {"14"}, "rationale": {"Billing rotates fortnightly now."}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != fmt.Sprintf("/servers/%d", f.server.ID) {
		t.Fatalf("update: status %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec = f.do(http.MethodPost, fmt.Sprintf("/key-types/%d/delete", own.ID), gov, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: status %d", rec.Code)
	}
	events, _ := f.store.AuditOf(context.Background(), "server", f.server.ID, 10)
	if len(events) < 3 || events[0].Action != "keytype.delete" || events[1].Action != "keytype.update" || events[2].Action != "keytype.create" {
		t.Errorf("server history = %+v", events)
	}

	// A default is edited through the same form and goes back to its environment.
	defaults, _ := f.store.EnvironmentKeyPolicy(context.Background(), env)
	rec = f.do(http.MethodPost, fmt.Sprintf("/key-types/%d", defaults[0].ID), gov, url.Values{
		"key_type": {string(defaults[0].KeyType)}, "max_lifetime_days": {"60"}, "rotation_spec": {"0 3 1 * *"},
		"rotation_tz": {"Europe/Berlin"}, "rationale": {"Scoped keys are the best the vendors offer."}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != fmt.Sprintf("/environments/%d", env) {
		t.Fatalf("update default: status %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	envEvents, _ := f.store.AuditOf(context.Background(), "environment", env, 10)
	if len(envEvents) != 3 || envEvents[0].Action != "keytype.update" {
		t.Errorf("environment history = %+v", envEvents)
	}

	// The environments page lists the defaults.
	list := parse(t, f.do(http.MethodGet, "/environments", f.session(f.users["manager"]), nil))
	if got := list.Find(`tr[data-environment=prod]`).Text(); !strings.Contains(got, "Scoped API key: 60 days") || !strings.Contains(got, "sensitive") {
		t.Errorf("prod row = %q", got)
	}
}

func TestSchedulePreview(t *testing.T) {
	f := newFixture(t)
	mgr := f.session(f.users["manager"])
	rec := f.do(http.MethodGet, "/key-types/preview?spec="+url.QueryEscape("0 3 * * *")+"&tz=Europe/Berlin", mgr, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	doc := parse(t, rec)
	items := doc.Find("li time")
	if items.Length() != 5 {
		t.Fatalf("%d times, want 5: %s", items.Length(), rec.Body.String())
	}
	// The clock starts on 2026-03-02 09:00 UTC: the next 03:00 in Berlin is
	// on the 3rd, in winter time.
	if first := items.First().Text(); first != "Tue 2026-03-03 03:00 CET" {
		t.Errorf("first time = %q", first)
	}
	if dt := items.First().AttrOr("datetime", ""); dt != "2026-03-03T02:00:00Z" {
		t.Errorf("first datetime = %q", dt)
	}
	// The form's own field names work too (hx-include sends them).
	rec = f.do(http.MethodGet, "/key-types/preview?rotation_spec=%40daily", mgr, nil)
	if n := parse(t, rec).Find("li time").Length(); n != 5 {
		t.Errorf("@daily: %d times", n)
	}
	for spec, want := range map[string]string{
		"TZ=Europe/Berlin 0 3 * * *": "TZ=",
		"CRON_TZ=UTC 0 0 * * *":      "TZ=",
		"* * * * *":                  "minimum interval",
		"0 25 * * *":                 "hour",
		"TZ=":                        "TZ=",
		"CRON_TZ=Europe/Berlin":      "TZ=",
		"@every 1h":                  "@every",
		"0 0 30 2 *":                 "never fires",
	} {
		// The live check (live=1) reports the problem on the field, out of
		// band; the preview only says to fix the schedule.
		rec := f.do(http.MethodGet, "/key-types/preview?live=1&spec="+url.QueryEscape(spec), mgr, nil)
		doc := parse(t, rec)
		msg := doc.Find(`#rotation_spec-error[hx-swap-oob]`).Text()
		if rec.Code != http.StatusOK || !strings.Contains(msg, want) {
			t.Errorf("%q: status %d, message %q", spec, rec.Code, msg)
		}
		if doc.Find(`[data-testid=schedule-preview-invalid]`).Length() != 1 {
			t.Errorf("%q: preview = %q", spec, doc.Find(`[data-testid=schedule-preview]`).Text())
		}
	}
	rec = f.do(http.MethodGet, "/key-types/preview?live=1&spec=0+3+*+*+*&tz=Mars/Base", mgr, nil)
	if msg := parse(t, rec).Find(`#rotation_tz-error[hx-swap-oob]`).Text(); !strings.Contains(msg, "Unknown time zone") {
		t.Errorf("unknown zone message = %q", msg)
	}
}

func TestKeyPolicyWritesNeedGovernance(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"key_type": {"scoped_api_key"}, "max_lifetime_days": {"30"}, "rationale": {"Billing rotates monthly, by contract."}}
	for _, role := range []string{"manager", "admin", "auditor", "approver"} {
		cookie := f.session(f.users[role])
		for _, path := range []string{fmt.Sprintf("/servers/%d/key-types", f.server.ID), fmt.Sprintf("/environments/%d/key-types", f.server.EnvironmentID)} {
			if rec := f.do(http.MethodPost, path, cookie, form); rec.Code != http.StatusForbidden {
				t.Errorf("%s POST %s: status %d, want 403", role, path, rec.Code)
			}
		}
	}
	// Governance of another team cannot see, let alone change, this server's policy.
	other := newGovernanceOf(t, f, "logistics")
	if rec := f.do(http.MethodPost, fmt.Sprintf("/servers/%d/key-types", f.server.ID), other, form); rec.Code != http.StatusNotFound {
		t.Errorf("other team's governance: status %d, want 404", rec.Code)
	}
	id := f.keyTypeID()
	if rec := f.do(http.MethodPost, fmt.Sprintf("/key-types/%d/delete", id), other, nil); rec.Code != http.StatusNotFound {
		t.Errorf("other team's governance delete: status %d, want 404", rec.Code)
	}
	if _, err := f.store.AllowedKeyTypeByID(context.Background(), id); err != nil {
		t.Errorf("entry gone after a refused delete: %v", err)
	}
}

// newGovernanceOf signs in a governance member of a new team.
func newGovernanceOf(t *testing.T, f *fixture, slug string) *http.Cookie {
	t.Helper()
	team := modeltest.MustTeam(t, f.store, slug)
	u := modeltest.MustUser(t, f.store, "gov-"+slug+"@example.com", models.RoleGovernance, team.ID)
	return f.session(u)
}
