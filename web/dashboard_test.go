package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// dashboardData adds to the fixture (team payments, billing-prod: prod,
// writes, no owner) a dev server owned by the governance user, three
// credentials, two open findings and two reviews:
//
//	static key on billing-prod (sensitive), due yesterday  -> overdue
//	scoped key on the dev server, due in 3 days            -> within policy
//	static key on the dev server, no schedule
//	open findings: 1 high, 1 medium
//	reviews: one approved after 10 minutes (deadline 1 h), one pending
func dashboardData(t *testing.T, f *fixture) (dev models.Environment) {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	dev, _ = f.store.EnvironmentByName(ctx, "dev")
	devSrv, err := f.store.CreateServer(ctx, modeltest.Admin, models.ServerInput{Slug: "sandbox", Name: "Sandbox", TeamID: f.team.ID,
		EnvironmentID: dev.ID, Transport: models.TransportStdio, Endpoint: "sandbox-mcp", Status: models.ServerActive,
		OwnerID: f.users["governance"].ID})
	if err != nil {
		t.Fatal(err)
	}
	due := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	for _, c := range []struct {
		name string
		kt   models.KeyType
		srv  uint
		env  uint
		due  *time.Time
	}{
		{"billing live key", models.KeyStaticAPIKey, f.server.ID, f.server.EnvironmentID, due(-24 * time.Hour)},
		{"sandbox scoped key", models.KeyScopedAPIKey, devSrv.ID, dev.ID, due(72 * time.Hour)},
		{"sandbox static key", models.KeyStaticAPIKey, devSrv.ID, dev.ID, nil},
	} {
		cred := models.Credential{Name: c.name, TeamID: f.team.ID, EnvironmentID: c.env, KeyType: c.kt, NextDueAt: c.due,
			Status: models.CredentialActive, CreatedAt: now, UpdatedAt: now}
		if c.due != nil {
			cred.RotationSpec, cred.RotationTZ = "0 9 * * 1", "UTC"
		}
		if err := f.store.RawForTest(ctx).Omit("Team", "Environment", "Owner", "Servers").Create(&cred).Error; err != nil {
			t.Fatal(err)
		}
		if err := f.store.RawForTest(ctx).Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", cred.ID, c.srv).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i, sev := range []models.Severity{models.SeverityHigh, models.SeverityMedium} {
		env := f.server.EnvironmentID
		fd := models.Finding{Key: fmt.Sprintf("dash:%d", i), RuleID: "CS-001", Severity: sev, SeverityRank: sev.Rank(), ObjectType: "server",
			ObjectID: f.server.ID, ObjectName: "billing-prod", TeamID: f.team.ID, EnvironmentID: &env, FirstSeenAt: now, LastSeenAt: now}
		if err := f.store.RawForTest(ctx).Create(&fd).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range []struct {
		status  models.ReviewStatus
		created time.Duration
		decided time.Duration
	}{{models.ReviewApproved, -2 * time.Hour, 10 * time.Minute}, {models.ReviewPending, -10 * time.Minute, 0}} {
		created := now.Add(r.created)
		req := models.ReviewRequest{PublicID: fmt.Sprintf("rv_dashweb%d", i), TeamID: f.team.ID, Status: r.status, Subject: "bot",
			ServerID: f.server.ID, ToolID: f.tool.ID, EnvironmentID: f.server.EnvironmentID, ArgumentDigest: fmt.Sprintf("%064d", i),
			ArgumentSummary: "{}", Risk: models.RiskHigh, ApprovalsNeeded: 1, Deadline: created.Add(time.Hour), CreatedAt: created}
		if r.decided > 0 {
			at := created.Add(r.decided)
			req.DecidedAt = &at
		}
		if err := f.store.RawForTest(ctx).Omit("Server", "Tool").Create(&req).Error; err != nil {
			t.Fatal(err)
		}
	}
	return dev
}

func figure(t *testing.T, doc *goquery.Document, testid string) (value, href string) {
	t.Helper()
	s := doc.Find(`[data-testid="` + testid + `"]`)
	if s.Length() != 1 {
		t.Fatalf("figure %s not found", testid)
	}
	href, _ = s.Attr("href")
	return strings.TrimSpace(s.Find(".stat-value").Text()), href
}

func TestDashboardShowsFiguresLinkedToTheirLists(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dev := dashboardData(t, f)
	// Two daily snapshots, so the trend charts have lines.
	if _, err := f.store.TakeComplianceSnapshots(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	if _, err := f.store.TakeComplianceSnapshots(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(-24 * time.Hour)
	manager := f.session(f.users["manager"])
	team, prod := itoa(f.team.ID), itoa(f.server.EnvironmentID)

	rec := f.do(http.MethodGet, "/reports", manager, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /reports = %d", rec.Code)
	}
	doc := parse(t, rec)
	want := map[string]string{"fig-compliance": "50%", "fig-overdue": "1", "fig-static": "100%", "fig-no-owner": "1",
		"fig-pending": "1", "fig-time": "10 min", "fig-deadline": "100%", "fig-expired": "0"}
	for id, v := range want {
		if got, _ := figure(t, doc, id); got != v {
			t.Errorf("%s = %q, want %q", id, got, v)
		}
	}
	if got := doc.Find(`[data-testid=by-key-type] tr[data-key-type=static_api_key] a`).Text(); got != "2" {
		t.Errorf("static keys = %q, want 2", got)
	}
	if got := doc.Find(`[data-testid=by-severity] tr[data-severity=high] a`).Text(); got != "1" {
		t.Errorf("high findings = %q, want 1", got)
	}
	if n := doc.Find(`[data-testid=trend-chart] svg[role=img] path.trend-line`).Length(); n < 4 {
		t.Errorf("%d trend lines, want at least 4", n)
	}
	if doc.Find(`[data-testid=trend-chart] svg title`).Length() < 4 || doc.Find(`[data-testid=trend-chart] svg desc`).Length() < 4 {
		t.Error("trend charts lack their title or description")
	}
	if doc.Find(`[style]`).Length() != 0 {
		t.Error("the dashboard has inline style attributes (CSP)")
	}

	// With filters: the figures narrow and every link keeps them.
	rec = f.do(http.MethodGet, "/reports?team="+team+"&environment="+prod+"&days=90", manager, nil)
	doc = parse(t, rec)
	want = map[string]string{"fig-compliance": "0%", "fig-overdue": "1", "fig-static": "100%", "fig-no-owner": "1", "fig-pending": "1"}
	for id, v := range want {
		if got, _ := figure(t, doc, id); got != v {
			t.Errorf("filtered %s = %q, want %q", id, got, v)
		}
	}
	links := map[string]url.Values{
		"fig-overdue":  {"overdue": {"1"}, "team": {team}, "environment": {prod}},
		"fig-static":   {"status": {"active"}, "key_type": {"static_api_key"}, "sensitive": {"1"}, "team": {team}, "environment": {prod}},
		"fig-no-owner": {"owner": {"none"}, "team": {team}, "environment": {prod}},
		"fig-pending":  {"status": {"pending"}, "team": {team}, "environment": {prod}},
		"fig-expired":  {"status": {"expired"}, "team": {team}, "environment": {prod}},
		"fig-time":     {"days": {"90"}, "team": {team}, "environment": {prod}},
	}
	for id, q := range links {
		_, href := figure(t, doc, id)
		u, err := url.Parse(href)
		if err != nil || u.Query().Encode() != q.Encode() {
			t.Errorf("%s links to %q, want the query %s", id, href, q.Encode())
		}
	}
	sev, _ := doc.Find(`[data-testid=by-severity] tr[data-severity=high] a`).Attr("href")
	if sev != "/findings?environment="+prod+"&severity=high&team="+team {
		t.Errorf("high findings link = %q", sev)
	}
	if cur, _ := doc.Find(`.range-switch a[aria-current=page]`).Attr("href"); !strings.Contains(cur, "days=90") || !strings.Contains(cur, "team="+team) {
		t.Errorf("range switch current = %q", cur)
	}

	// The review figures follow the environment filter, and so do the
	// review list and the review report they link to.
	_, pending := figure(t, doc, "fig-pending")
	if n := parse(t, f.do(http.MethodGet, pending, manager, nil)).Find(`[data-testid=review-row]`).Length(); n != 1 {
		t.Errorf("%s lists %d requests, want 1", pending, n)
	}
	devDoc := parse(t, f.do(http.MethodGet, "/reports?team="+team+"&environment="+itoa(dev.ID), manager, nil))
	if got, href := figure(t, devDoc, "fig-pending"); got != "0" {
		t.Errorf("dev pending = %q, want 0", got)
	} else if n := parse(t, f.do(http.MethodGet, href, manager, nil)).Find(`[data-testid=review-row]`).Length(); n != 0 {
		t.Errorf("%s lists %d requests, want 0", href, n)
	}
	if got, _ := figure(t, devDoc, "fig-time"); got != "—" {
		t.Errorf("dev time to decision = %q, want — (nothing decided in dev)", got)
	}
	_, timeHref := figure(t, doc, "fig-time")
	report := parse(t, f.do(http.MethodGet, timeHref, manager, nil))
	if got, _ := report.Find(`select[name=environment] option[selected]`).Attr("value"); got != prod {
		t.Errorf("review report from %s: environment filter %q, want %s", timeHref, got, prod)
	}

	// The lists behind the figures show the same numbers.
	rec = f.do(http.MethodGet, "/credentials?status=active&key_type=static_api_key&sensitive=1", manager, nil)
	if n := parse(t, rec).Find(`[data-testid=credential-row]`).Length(); n != 1 || !strings.Contains(rec.Body.String(), "billing live key") {
		t.Errorf("sensitive static credentials list: %d rows", n)
	}
	rec = f.do(http.MethodGet, "/servers?owner=none", manager, nil)
	body := rec.Body.String()
	if !strings.Contains(body, "billing-prod") || strings.Contains(body, "sandbox-mcp") || !strings.Contains(body, `data-testid="filter-no-owner"`) {
		t.Errorf("servers without an owner list is wrong")
	}
	if rec := f.do(http.MethodGet, "/reports", f.session(f.users["approver"]), nil); rec.Code != http.StatusForbidden {
		t.Errorf("approver opens the dashboard: %d", rec.Code)
	}
}

func TestComplianceSnapshotJobRunsOncePerDay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sched := f.srv.Scheduler()
	slot := time.Date(2026, 3, 3, 0, 5, 0, 0, time.UTC)
	f.clock.Set(slot)
	for i, want := range []bool{true, false} {
		ran, err := sched.RunSlot(ctx, "compliance-snapshot", slot)
		if err != nil || ran != want {
			t.Fatalf("run %d: ran=%v err=%v, want ran=%v", i+1, ran, err, want)
		}
	}
	// A manual run later the same day replaces the day's rows.
	f.clock.Advance(5 * time.Hour)
	if _, err := sched.RunNow(ctx, "compliance-snapshot", modeltest.Admin); err != nil {
		t.Fatal(err)
	}
	var n int64
	f.store.RawForTest(ctx).Model(&models.ComplianceSnapshot{}).Where("day = ? AND team_id = 0", "2026-03-03").Count(&n)
	if n != 1 {
		t.Fatalf("%d organisation snapshots on 2026-03-03, want 1", n)
	}
	f.store.RawForTest(ctx).Model(&models.ComplianceSnapshot{}).Count(&n)
	if n != 2 { // the organisation and the fixture's one team
		t.Errorf("%d snapshot rows, want 2", n)
	}
}

func TestReportsRenderWithSeededHistory(t *testing.T) {
	f := newFixtureEmpty(t)
	ctx := context.Background()
	if _, err := f.store.SeedDemo(ctx, "demo-password-123456"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SeedDemoInventory(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SeedHistory(ctx, 90, 1); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"olu.auditor@example.com", "maya.manager@example.com"} {
		u, err := f.store.UserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		cookie := f.session(u)
		rec := f.do(http.MethodGet, "/reports?days=90", cookie, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: /reports = %d", email, rec.Code)
		}
		doc := parse(t, rec)
		if v, _ := figure(t, doc, "fig-time"); v == "—" || v == "" {
			t.Errorf("%s: no time to decision on the dashboard", email)
		}
		if v, _ := figure(t, doc, "fig-static"); v == "0%" {
			t.Errorf("%s: static keys on sensitive servers = %s (the demo has some)", email, v)
		}
		doc.Find(`[data-testid=trend-chart]`).Each(func(_ int, s *goquery.Selection) {
			d, _ := s.Find("path.trend-line").First().Attr("d")
			if strings.Count(d, "L") < 80 {
				t.Errorf("%s: chart %s has %d segments over 90 days", email, s.AttrOr("id", "?"), strings.Count(d, "L"))
			}
			if s.Find("details.chart-data tbody tr").Length() < 90 {
				t.Errorf("%s: chart %s data table is short", email, s.AttrOr("id", "?"))
			}
		})
		rec = f.do(http.MethodGet, "/reports/reviews?days=90", cookie, nil)
		doc = parse(t, rec)
		if rec.Code != http.StatusOK || doc.Find(`[data-testid=approver-load] tbody tr td.num`).Length() == 0 {
			t.Errorf("%s: review analytics without approver load (%d)", email, rec.Code)
		}
		if n := doc.Find(`[data-testid=volume-chart] rect`).Length(); n < 90 {
			t.Errorf("%s: volume chart has %d bars", email, n)
		}
		rec = f.do(http.MethodGet, "/reports/frameworks", cookie, nil)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "need attention") {
			t.Errorf("%s: framework view without open controls (%d)", email, rec.Code)
		}
	}
}
