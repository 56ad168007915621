package models_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// dashFixture is the small inventory behind the hand-computed dashboard
// figures (see the comments in newDashFixture).
type dashFixture struct {
	teamA, teamB models.Team
	prod, dev    models.Environment
	servers      map[string]models.Server
}

// newDashFixture builds, as of modeltest.Epoch:
//
//	servers  s1 A prod (sensitive env)   owner ana
//	         s2 A dev, write actions      owner ana
//	         s3 A dev, data class pii     owner ana
//	         s4 A dev                     no owner
//	         s5 B dev                     owner bo, deactivated
//	         s6 B prod, retired           no owner (ignored)
//	credentials (active unless said)
//	         c1 A prod static  on s1      due now-1d   (overdue)
//	         c2 A dev  static  on s4      due now+1d
//	         c3 A dev  scoped  on s2, s4  no schedule
//	         c4 A dev  static  on s3      due now+10d
//	         c5 B dev  oauth   on s5      due now-2h   (overdue)
//	         c6 B dev  static  on s5      revoked (ignored)
//	         c7 B prod short   on s6      due now      (within policy)
//	findings open: A critical, A high ×2, B high, A medium (its exception
//	         ended); not open: A medium resolved, B low excepted
//	reviews  r1 A approved  -2d   decided +10m  (deadline +1h)
//	         r2 A denied    -3d   decided +2h   (late)
//	         r3 A approved  -40d  (outside 30 days)
//	         r4 A expired   -5d
//	         r5 A pending   -30m  deadline +30m
//	         r6 B pending   -2h   deadline passed (not pending any more)
//	         r7 B approved  -1d   decided +30m
func newDashFixture(t *testing.T, s *models.Store) dashFixture {
	t.Helper()
	ctx := context.Background()
	now := modeltest.Epoch
	f := dashFixture{teamA: modeltest.MustTeam(t, s, "payments"), teamB: modeltest.MustTeam(t, s, "support"), servers: map[string]models.Server{}}
	ana := modeltest.MustUser(t, s, "ana@example.com", models.RoleGovernance, f.teamA.ID)
	bo := modeltest.MustUser(t, s, "bo@example.com", models.RoleGovernance, f.teamB.ID)
	f.prod, _ = s.EnvironmentByName(ctx, "prod")
	f.dev, _ = s.EnvironmentByName(ctx, "dev")
	if !f.prod.Sensitive || f.dev.Sensitive {
		t.Fatalf("expected prod sensitive and dev not: %+v %+v", f.prod, f.dev)
	}
	type srv struct {
		slug    string
		team    models.Team
		env     models.Environment
		owner   uint
		writes  bool
		classes string
		retired bool
	}
	for _, d := range []srv{{"s1", f.teamA, f.prod, ana.ID, false, "", false}, {"s2", f.teamA, f.dev, ana.ID, true, "", false},
		{"s3", f.teamA, f.dev, ana.ID, false, "pii", false}, {"s4", f.teamA, f.dev, 0, false, "", false},
		{"s5", f.teamB, f.dev, bo.ID, false, "", false}, {"s6", f.teamB, f.prod, 0, false, "", true}} {
		in := models.ServerInput{Slug: d.slug, Name: d.slug, TeamID: d.team.ID, EnvironmentID: d.env.ID, Transport: models.TransportStdio,
			Endpoint: "mcp-" + d.slug, Hosting: models.HostingSelf, OwnerID: d.owner, Status: models.ServerActive, WriteActions: d.writes, DataClasses: d.classes}
		if d.retired {
			in.Status = models.ServerRetired
		}
		sv, err := s.CreateServer(ctx, modeltest.Admin, in)
		if err != nil {
			t.Fatalf("server %s: %v", d.slug, err)
		}
		f.servers[d.slug] = sv
	}
	if err := s.DeactivateUser(ctx, modeltest.Admin, bo.ID); err != nil {
		t.Fatal(err)
	}
	due := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	type cred struct {
		name    string
		team    models.Team
		env     models.Environment
		kt      models.KeyType
		servers []string
		due     *time.Time
		status  models.CredentialStatus
	}
	for _, d := range []cred{
		{"c1", f.teamA, f.prod, models.KeyStaticAPIKey, []string{"s1"}, due(-24 * time.Hour), models.CredentialActive},
		{"c2", f.teamA, f.dev, models.KeyStaticAPIKey, []string{"s4"}, due(24 * time.Hour), models.CredentialActive},
		{"c3", f.teamA, f.dev, models.KeyScopedAPIKey, []string{"s2", "s4"}, nil, models.CredentialActive},
		{"c4", f.teamA, f.dev, models.KeyStaticAPIKey, []string{"s3"}, due(240 * time.Hour), models.CredentialActive},
		{"c5", f.teamB, f.dev, models.KeyOAuthDelegated, []string{"s5"}, due(-2 * time.Hour), models.CredentialActive},
		{"c6", f.teamB, f.dev, models.KeyStaticAPIKey, []string{"s5"}, due(-120 * time.Hour), models.CredentialRevoked},
		{"c7", f.teamB, f.prod, models.KeyShortLivedToken, []string{"s6"}, due(0), models.CredentialActive},
	} {
		c := models.Credential{Name: d.name, TeamID: d.team.ID, EnvironmentID: d.env.ID, KeyType: d.kt, NextDueAt: d.due, Status: d.status,
			CreatedAt: now, UpdatedAt: now}
		if d.due != nil {
			c.RotationSpec, c.RotationTZ = "0 9 * * 1", "UTC"
		}
		if err := s.RawForTest(ctx).Omit("Team", "Environment", "Owner", "Servers").Create(&c).Error; err != nil {
			t.Fatal(err)
		}
		for _, slug := range d.servers {
			if err := s.RawForTest(ctx).Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", c.ID, f.servers[slug].ID).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	past, future := now.Add(-time.Hour), now.Add(24*time.Hour)
	resolved := now.Add(-time.Hour)
	for i, d := range []struct {
		team     models.Team
		sev      models.Severity
		resolved *time.Time
		excepted *time.Time
	}{{f.teamA, models.SeverityCritical, nil, nil}, {f.teamA, models.SeverityHigh, nil, nil}, {f.teamA, models.SeverityHigh, nil, nil},
		{f.teamB, models.SeverityHigh, nil, nil}, {f.teamA, models.SeverityMedium, nil, &past}, {f.teamA, models.SeverityMedium, &resolved, nil},
		{f.teamB, models.SeverityLow, nil, &future}} {
		env := f.dev.ID
		fd := models.Finding{Key: fmt.Sprintf("test:%d", i), RuleID: "CS-004", Severity: d.sev, SeverityRank: d.sev.Rank(), ObjectType: "server",
			ObjectID: uint(i + 1), ObjectName: "x", TeamID: d.team.ID, EnvironmentID: &env, FirstSeenAt: now, LastSeenAt: now,
			ResolvedAt: d.resolved, ExceptedUntil: d.excepted}
		if err := s.RawForTest(ctx).Create(&fd).Error; err != nil {
			t.Fatal(err)
		}
	}
	toolA, err := s.AddTool(ctx, modeltest.Admin, f.servers["s1"].ID, models.ToolDefinition{Name: "refund"})
	if err != nil {
		t.Fatal(err)
	}
	toolB, err := s.AddTool(ctx, modeltest.Admin, f.servers["s5"].ID, models.ToolDefinition{Name: "reply"})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []struct {
		team     models.Team
		status   models.ReviewStatus
		created  time.Duration
		decided  time.Duration // after creation; 0: none
		deadline time.Duration // after creation
	}{
		{f.teamA, models.ReviewApproved, -48 * time.Hour, 10 * time.Minute, time.Hour},
		{f.teamA, models.ReviewDenied, -72 * time.Hour, 2 * time.Hour, time.Hour},
		{f.teamA, models.ReviewApproved, -40 * 24 * time.Hour, time.Minute, time.Hour},
		{f.teamA, models.ReviewExpired, -120 * time.Hour, time.Hour, time.Hour},
		{f.teamA, models.ReviewPending, -30 * time.Minute, 0, time.Hour},
		{f.teamB, models.ReviewPending, -2 * time.Hour, 0, time.Hour},
		{f.teamB, models.ReviewApproved, -24 * time.Hour, 30 * time.Minute, time.Hour},
	} {
		srvID, toolID, env := f.servers["s1"].ID, toolA.ID, f.prod.ID
		if d.team.ID == f.teamB.ID {
			srvID, toolID, env = f.servers["s5"].ID, toolB.ID, f.dev.ID
		}
		created := now.Add(d.created)
		req := models.ReviewRequest{PublicID: fmt.Sprintf("rv_dash%d", i), TeamID: d.team.ID, Status: d.status, Subject: "bot",
			ServerID: srvID, ToolID: toolID, EnvironmentID: env, ArgumentDigest: fmt.Sprintf("%064d", i), ArgumentSummary: "{}",
			Risk: models.RiskHigh, ApprovalsNeeded: 1, Deadline: created.Add(d.deadline), CreatedAt: created}
		if d.decided > 0 {
			at := created.Add(d.decided)
			req.DecidedAt = &at
		}
		if err := s.RawForTest(ctx).Omit("Server", "Tool").Create(&req).Error; err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestDashboardHandComputed(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		fx := newDashFixture(t, s)
		type want struct {
			creds, static, onSens, staticOnSens, sched, overdue, servers, noOwner int64
			byKey                                                                 map[models.KeyType]int64
			findings                                                              [4]int64 // critical, high, medium, low
			pending, requested, decided, inTime, expired                          int64
			median, p90                                                           time.Duration
		}
		cases := []struct {
			name string
			f    models.DashboardFilter
			w    want
		}{
			{"org", models.DashboardFilter{Scope: models.AllTeams}, want{6, 3, 3, 2, 5, 2, 5, 2,
				map[models.KeyType]int64{models.KeyStaticAPIKey: 3, models.KeyScopedAPIKey: 1, models.KeyOAuthDelegated: 1, models.KeyShortLivedToken: 1},
				[4]int64{1, 3, 1, 0}, 1, 6, 3, 2, 1, 30 * time.Minute, 2 * time.Hour}},
			{"team A", models.DashboardFilter{Scope: models.AllTeams, TeamID: fx.teamA.ID}, want{4, 3, 3, 2, 3, 1, 4, 1,
				map[models.KeyType]int64{models.KeyStaticAPIKey: 3, models.KeyScopedAPIKey: 1},
				[4]int64{1, 2, 1, 0}, 1, 4, 2, 1, 1, 10 * time.Minute, 2 * time.Hour}},
			{"prod", models.DashboardFilter{Scope: models.AllTeams, EnvironmentID: fx.prod.ID}, want{2, 1, 1, 1, 2, 1, 1, 0,
				map[models.KeyType]int64{models.KeyStaticAPIKey: 1, models.KeyShortLivedToken: 1},
				[4]int64{0, 0, 0, 0}, 1, 4, 2, 1, 1, 10 * time.Minute, 2 * time.Hour}}, // reviews r1-r5 (team A's, in prod)
			{"scope B only", models.DashboardFilter{Scope: models.TeamScope{IDs: []uint{fx.teamB.ID}}}, want{2, 0, 0, 0, 2, 1, 1, 1,
				map[models.KeyType]int64{models.KeyOAuthDelegated: 1, models.KeyShortLivedToken: 1},
				[4]int64{0, 1, 0, 0}, 0, 2, 1, 1, 0, 30 * time.Minute, 30 * time.Minute}},
		}
		for _, tc := range cases {
			d, err := s.Dashboard(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			w := tc.w
			got := [8]int64{d.Credentials, d.StaticKeys, d.OnSensitive, d.StaticOnSensitive, d.Scheduled, d.Overdue, d.Servers, d.ServersWithoutOwner}
			if got != [8]int64{w.creds, w.static, w.onSens, w.staticOnSens, w.sched, w.overdue, w.servers, w.noOwner} {
				t.Errorf("%s: inventory figures %v, want %v", tc.name, got, []int64{w.creds, w.static, w.onSens, w.staticOnSens, w.sched, w.overdue, w.servers, w.noOwner})
			}
			if d.WithinPolicy != w.sched-w.overdue {
				t.Errorf("%s: within policy %d", tc.name, d.WithinPolicy)
			}
			if len(d.ByKeyType) != len(models.KeyTypes) {
				t.Errorf("%s: %d key types", tc.name, len(d.ByKeyType))
			}
			for _, k := range d.ByKeyType {
				if k.Count != w.byKey[k.KeyType] {
					t.Errorf("%s: %s = %d, want %d", tc.name, k.KeyType, k.Count, w.byKey[k.KeyType])
				}
			}
			f := [4]int64{d.Findings[models.SeverityCritical], d.Findings[models.SeverityHigh], d.Findings[models.SeverityMedium], d.Findings[models.SeverityLow]}
			if f != w.findings {
				t.Errorf("%s: findings %v, want %v", tc.name, f, w.findings)
			}
			r := d.Reviews
			if g := [5]int64{d.ReviewsPending, r.Requested, r.Decided, r.WithinDeadline, r.Expired}; g != [5]int64{w.pending, w.requested, w.decided, w.inTime, w.expired} {
				t.Errorf("%s: reviews pending/requested/decided/in time/expired = %v, want %v", tc.name, g, []int64{w.pending, w.requested, w.decided, w.inTime, w.expired})
			}
			if r.Median != w.median || r.P90 != w.p90 {
				t.Errorf("%s: median %v p90 %v, want %v %v", tc.name, r.Median, r.P90, w.median, w.p90)
			}
		}
		d, _ := s.Dashboard(ctx, models.DashboardFilter{Scope: models.AllTeams})
		if fmt.Sprintf("%.3f %.3f %.3f", d.StaticShare(), d.RotationCompliance(), d.Reviews.WithinDeadlineShare()) != "0.667 0.600 0.667" {
			t.Errorf("shares = %.3f %.3f %.3f", d.StaticShare(), d.RotationCompliance(), d.Reviews.WithinDeadlineShare())
		}
	})
}

// TestDashboardDecisionTimesInWholeSeconds: decision times are rounded to
// the nearest second before the median is taken (r1 of team A, the
// median of its two decided requests, moved by 400 and 600 ms).
func TestDashboardDecisionTimesInWholeSeconds(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		fx := newDashFixture(t, s)
		var r1 models.ReviewRequest
		if err := s.RawForTest(ctx).Where("public_id = ?", "rv_dash0").First(&r1).Error; err != nil {
			t.Fatal(err)
		}
		for extra, want := range map[time.Duration]time.Duration{400 * time.Millisecond: 10 * time.Minute,
			600 * time.Millisecond: 10*time.Minute + time.Second, 59*time.Second + 700*time.Millisecond: 11 * time.Minute} {
			at := r1.CreatedAt.Add(10*time.Minute + extra)
			if err := s.RawForTest(ctx).Model(&models.ReviewRequest{}).Where("id = ?", r1.ID).Update("decided_at", at).Error; err != nil {
				t.Fatal(err)
			}
			d, err := s.Dashboard(ctx, models.DashboardFilter{Scope: models.AllTeams, TeamID: fx.teamA.ID})
			if err != nil {
				t.Fatal(err)
			}
			if d.Reviews.Median != want {
				t.Errorf("decided %v after creation: median %v, want %v", 10*time.Minute+extra, d.Reviews.Median, want)
			}
		}
	})
}

func TestComplianceSnapshotOncePerDayAndPruned(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		fx := newDashFixture(t, s)
		old := models.ComplianceSnapshot{Day: clock.Now().AddDate(0, 0, -401).Format(time.DateOnly), TakenAt: clock.Now()}
		kept := models.ComplianceSnapshot{Day: clock.Now().AddDate(0, 0, -399).Format(time.DateOnly), TakenAt: clock.Now()}
		if err := s.RawForTest(ctx).Create([]*models.ComplianceSnapshot{&old, &kept}).Error; err != nil {
			t.Fatal(err)
		}
		first, err := s.TakeComplianceSnapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if first.Rows != 3 || first.Pruned != 1 {
			t.Fatalf("first run = %+v, want 3 rows (org + 2 teams) and 1 pruned", first)
		}
		clock.Advance(3 * time.Hour) // same day: the run replaces today's rows
		if _, err := s.TakeComplianceSnapshots(ctx); err != nil {
			t.Fatal(err)
		}
		var n int64
		s.RawForTest(ctx).Model(&models.ComplianceSnapshot{}).Where("day = ?", first.Day).Count(&n)
		if n != 3 {
			t.Fatalf("%d rows for %s after two runs, want 3", n, first.Day)
		}
		org, err := s.ComplianceSnapshots(ctx, 0, clock.Now().AddDate(0, 0, -400), clock.Now())
		if err != nil || len(org) != 2 || org[0].Day != kept.Day {
			t.Fatalf("org snapshots = %+v (%v)", org, err)
		}
		today := org[1]
		// Three hours on, c7 (due at Epoch) is overdue too: the second run's
		// figures replaced the first's.
		if today.Credentials != 6 || today.Overdue != 3 || today.Scheduled != 5 || today.StaticOnSensitive != 2 || today.FindingsHigh != 3 ||
			today.ServersWithoutOwner != 2 || today.ReviewsDecided != 3 || today.ReviewMedianSeconds != 1800 || !today.TakenAt.Equal(clock.Now()) {
			t.Errorf("today's org snapshot = %+v", today)
		}
		teamA, _ := s.ComplianceSnapshots(ctx, fx.teamA.ID, clock.Now(), clock.Now())
		if len(teamA) != 1 || teamA[0].Credentials != 4 || teamA[0].Overdue != 1 || teamA[0].TeamID != fx.teamA.ID {
			t.Errorf("team A snapshot = %+v", teamA)
		}
		clock.Advance(24 * time.Hour)
		if _, err := s.TakeComplianceSnapshots(ctx); err != nil {
			t.Fatal(err)
		}
		s.RawForTest(ctx).Model(&models.ComplianceSnapshot{}).Where("team_id = 0").Count(&n)
		if n != 3 {
			t.Errorf("%d org rows after a second day, want 3", n)
		}
	})
}

func TestComplianceTrendKeepsToTheScope(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	ctx := context.Background()
	fx := newDashFixture(t, s)
	if _, err := s.TakeComplianceSnapshots(ctx); err != nil {
		t.Fatal(err)
	}
	day := modeltest.Epoch
	cases := []struct {
		name  string
		scope models.TeamScope
		team  uint
		creds int64 // -1: no rows
	}{
		{"org-wide reader", models.AllTeams, 0, 6},
		{"org-wide reader, team B", models.AllTeams, fx.teamB.ID, 2},
		{"team A reader", models.TeamScope{IDs: []uint{fx.teamA.ID}}, 0, 4},
		{"team A reader asks for team B", models.TeamScope{IDs: []uint{fx.teamA.ID}}, fx.teamB.ID, -1},
		{"reader of both teams: their sum", models.TeamScope{IDs: []uint{fx.teamA.ID, fx.teamB.ID}}, 0, 6},
		{"no team", models.TeamScope{}, 0, -1},
	}
	for _, tc := range cases {
		rows, err := s.ComplianceTrend(ctx, tc.scope, tc.team, day, day)
		if err != nil {
			t.Fatal(err)
		}
		if tc.creds < 0 {
			if len(rows) != 0 {
				t.Errorf("%s: %d rows, want none", tc.name, len(rows))
			}
			continue
		}
		if len(rows) != 1 || rows[0].Credentials != tc.creds {
			t.Errorf("%s: %+v, want %d credentials", tc.name, rows, tc.creds)
		}
	}
	both, _ := s.ComplianceTrend(ctx, models.TeamScope{IDs: []uint{fx.teamA.ID, fx.teamB.ID}}, 0, day, day)
	if both[0].Overdue != 2 || both[0].FindingsHigh != 3 || both[0].ServersWithoutOwner != 2 || both[0].ReviewsDecided != 3 {
		t.Errorf("summed snapshot = %+v", both[0])
	}
}

func TestDashboardCacheFollowsWritesAndTime(t *testing.T) {
	clock := modeltest.NewClock()
	s := modeltest.OpenDSN(t, modeltest.SQLiteDSN(t), clock)
	ctx := context.Background()
	fx := newDashFixture(t, s)
	org := models.DashboardFilter{Scope: models.AllTeams}
	first, _ := s.Dashboard(ctx, org)
	clock.Advance(30 * time.Second)
	again, _ := s.Dashboard(ctx, org)
	if !again.At.Equal(first.At) {
		t.Fatalf("a second view 30 s later was recomputed (at %v, first %v)", again.At, first.At)
	}
	// A write through a transaction (deactivating the owner of s1-s3).
	ana, _ := s.UserByEmail(ctx, "ana@example.com")
	if err := s.DeactivateUser(ctx, modeltest.Admin, ana.ID); err != nil {
		t.Fatal(err)
	}
	d, _ := s.Dashboard(ctx, org)
	if d.ServersWithoutOwner != 5 {
		t.Errorf("after deactivating the owner: %d servers without an owner, want 5", d.ServersWithoutOwner)
	}
	// A plain write.
	c := models.Credential{Name: "c8", TeamID: fx.teamA.ID, EnvironmentID: fx.dev.ID, KeyType: models.KeyMTLSCertificate,
		Status: models.CredentialActive, CreatedAt: clock.Now(), UpdatedAt: clock.Now()}
	if err := s.RawForTest(ctx).Omit("Team", "Environment", "Owner", "Servers").Create(&c).Error; err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Dashboard(ctx, org); d.Credentials != 7 {
		t.Errorf("after a new credential: %d credentials, want 7", d.Credentials)
	}
	// Time: a minute on, c7 (due at Epoch) is overdue.
	clock.Advance(time.Minute)
	if d, _ := s.Dashboard(ctx, org); d.Overdue != 3 || !d.At.Equal(clock.Now()) {
		t.Errorf("a minute later: overdue %d at %v, want 3 at %v", d.Overdue, d.At, clock.Now())
	}
}

func TestListFiltersBehindTheDashboard(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		fx := newDashFixture(t, s)
		creds, err := s.Credentials(ctx, models.CredentialFilter{Scope: models.AllTeams, Status: models.CredentialActive, OnSensitive: true})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range creds.Items {
			names = append(names, c.Name)
		}
		if fmt.Sprint(names) != "[c1 c3 c4]" {
			t.Errorf("credentials on sensitive servers = %v, want [c1 c3 c4]", names)
		}
		static, _ := s.Credentials(ctx, models.CredentialFilter{Scope: models.AllTeams, Status: models.CredentialActive, OnSensitive: true,
			KeyType: models.KeyStaticAPIKey})
		d, _ := s.Dashboard(ctx, models.DashboardFilter{Scope: models.AllTeams})
		if static.Total != d.StaticOnSensitive || creds.Total != d.OnSensitive {
			t.Errorf("lists %d/%d, dashboard %d/%d", static.Total, creds.Total, d.StaticOnSensitive, d.OnSensitive)
		}
		servers, err := s.Servers(ctx, models.ServerFilter{Scope: models.AllTeams, NoOwner: true})
		if err != nil {
			t.Fatal(err)
		}
		names = nil
		for _, r := range servers.Items {
			names = append(names, r.Slug)
		}
		if fmt.Sprint(names) != "[s4 s5]" || servers.Total != d.ServersWithoutOwner {
			t.Errorf("servers without an active owner = %v, want [s4 s5]", names)
		}
		overdue, _ := s.Credentials(ctx, models.CredentialFilter{Scope: models.AllTeams, Overdue: true})
		if overdue.Total != d.Overdue {
			t.Errorf("overdue list %d, dashboard %d", overdue.Total, d.Overdue)
		}
		// Review lists by environment: prod holds r1-r5 (team A), dev r6, r7.
		reviews := func(env uint, status models.ReviewStatus) []string {
			page, err := s.ReviewRequests(ctx, models.ReviewFilter{Scope: models.AllTeams, EnvironmentID: env, Status: status})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range page.Items {
				ids = append(ids, r.PublicID)
			}
			sort.Strings(ids)
			return ids
		}
		if got := fmt.Sprint(reviews(fx.prod.ID, "")); got != "[rv_dash0 rv_dash1 rv_dash2 rv_dash3 rv_dash4]" {
			t.Errorf("prod reviews = %s", got)
		}
		if got := fmt.Sprint(reviews(fx.dev.ID, models.ReviewPending)); got != "[rv_dash5]" {
			t.Errorf("dev pending reviews = %s", got)
		}
		prod, _ := s.Dashboard(ctx, models.DashboardFilter{Scope: models.AllTeams, EnvironmentID: fx.prod.ID})
		if got := reviews(fx.prod.ID, models.ReviewExpired); int64(len(got)) != prod.Reviews.Expired {
			t.Errorf("expired prod reviews %v, dashboard %d", got, prod.Reviews.Expired)
		}
		a, err := s.ReviewAnalytics(ctx, models.ReviewAnalyticsFilter{Scope: models.AllTeams, EnvironmentID: fx.dev.ID,
			From: modeltest.Epoch.AddDate(0, 0, -30), To: modeltest.Epoch})
		if err != nil {
			t.Fatal(err)
		}
		if a.Total != 2 || a.Decided != 1 || a.Median != 30*time.Minute {
			t.Errorf("dev review analytics: total %d decided %d median %v, want 2 1 30m", a.Total, a.Decided, a.Median)
		}
	})
}
