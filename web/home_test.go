package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestOverviewShowsWhatNeedsAttention(t *testing.T) {
	f := newFixture(t)
	f.credentialID() // a static key on a prod write server: CS-001 (high)
	if _, err := f.store.RecomputeFindings(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc := parse(t, f.do(http.MethodGet, "/", f.session(f.users["governance"]), nil))
	att := doc.Find(`[data-testid=attention]`)
	if !strings.Contains(att.Text(), "High findings") || att.Find(`a[href="/findings?severity=high"].stat-alarm`).Length() != 1 {
		t.Fatalf("attention block = %q", att.Text())
	}
	if !strings.Contains(att.Text(), "Exceptions to decide") {
		t.Error("governance does not see exceptions to decide")
	}
	if strings.Contains(att.Text(), "Reviews waiting") {
		t.Error("governance (no approver role) sees the review count")
	}
	doc = parse(t, f.do(http.MethodGet, "/", f.session(f.users["approver"]), nil))
	if !strings.Contains(doc.Find(`[data-testid=attention]`).Text(), "Reviews waiting for you") {
		t.Error("an approver does not see the reviews waiting")
	}
	doc = parse(t, f.do(http.MethodGet, "/", f.session(f.users["none"]), nil))
	if doc.Find(`[data-testid=attention]`).Length() != 0 {
		t.Error("a user with no role sees figures")
	}
}

// "Your roles" names the team, not its internal domain code.
func TestHomeNamesTheTeamsOfRoles(t *testing.T) {
	f := newFixture(t)
	for role, want := range map[string]string{"governance": "governance in " + f.team.Name, "admin": "admin in all teams"} {
		body := f.do(http.MethodGet, "/", f.session(f.users[role]), nil).Body.String()
		if !strings.Contains(body, want) || strings.Contains(body, "@team:") || strings.Contains(body, "@*") {
			t.Errorf("%s home: want %q and no role codes", role, want)
		}
	}
}
