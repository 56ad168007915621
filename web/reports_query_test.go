package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// Every report reads the same query: the period (30, 90 or 365 days, else
// 30), the team and the environment, and shows them selected; an id that is
// not a number is ignored. Exporting needs the export permission in some
// team: an admin reads the reports but does not export them.
func TestReportsReadTheSameQuery(t *testing.T) {
	f := newFixture(t)
	manager := f.session(f.users["manager"])
	team, env := itoa(f.team.ID), itoa(f.server.EnvironmentID)
	selected := func(t *testing.T, path, query, name string) string {
		t.Helper()
		rec := f.do(http.MethodGet, path+"?"+query, manager, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s?%s: status %d", path, query, rec.Code)
		}
		doc := parse(t, rec)
		if doc.Find(`select[name=`+name+`]`).Length() == 0 {
			return "-"
		}
		return doc.Find(`select[name=`+name+`] option[selected]`).AttrOr("value", "")
	}
	for _, path := range []string{"/reports", "/reports/frameworks", "/reports/reviews", "/reports/rotations"} {
		t.Run(path, func(t *testing.T) {
			query := "team=" + team + "&environment=" + env + "&days=90"
			if got := selected(t, path, query, "team"); got != team {
				t.Errorf("team %q, want %q", got, team)
			}
			if got := selected(t, path, query, "environment"); got != env {
				t.Errorf("environment %q, want %q", got, env)
			}
			if got := selected(t, path, query, "days"); got != "90" && got != "-" {
				t.Errorf("days %q, want 90", got)
			}
			bad := "team=abc&environment=-1&days=7"
			if got := selected(t, path, bad, "team"); got != "" {
				t.Errorf("team=abc: team %q selected", got)
			}
			if got := selected(t, path, bad, "days"); got != "30" && got != "-" {
				t.Errorf("days=7: days %q, want 30", got)
			}
		})
	}
	for _, path := range []string{"/reports/reviews?format=csv&team=" + team, "/reports/rotations?format=csv&days=365"} {
		if rec := f.do(http.MethodGet, path, manager, nil); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Errorf("manager %s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	admin := f.session(f.users["admin"])
	rec := f.do(http.MethodGet, "/reports/reviews?format=csv", admin, nil)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Exporting reports needs the manager or auditor role") {
		t.Errorf("admin review CSV: %d", rec.Code)
	}
	rec = f.do(http.MethodGet, "/reports/reviews", admin, nil)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "Export CSV") {
		t.Errorf("admin review analytics: %d, offered the export: %v", rec.Code, strings.Contains(rec.Body.String(), "Export CSV"))
	}
}
