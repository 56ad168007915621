package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// staticKeyOnProd registers a prod write server allowing only delegated
// OAuth and short-lived tokens, with a static API key attached.
func staticKeyOnProd(t *testing.T, s *models.Store, owner models.User, team models.Team) (models.Server, uint) {
	t.Helper()
	ctx := context.Background()
	prod, err := s.EnvironmentByName(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	actor := models.Actor{UserID: owner.ID, Label: owner.Email}
	srv, err := s.CreateServer(ctx, actor, models.ServerInput{Slug: "billing-prod", Name: "Billing", TeamID: team.ID,
		EnvironmentID: prod.ID, Transport: models.TransportStdio, Status: models.ServerActive, WriteActions: true, OwnerID: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []models.KeyType{models.KeyOAuthDelegated, models.KeyShortLivedToken} {
		sid := srv.ID
		if err := s.RawForTest(ctx).Create(&models.AllowedKeyType{ServerID: &sid, KeyType: k, Rationale: "only delegated access on prod"}).Error; err != nil {
			t.Fatal(err)
		}
	}
	exp := modeltest.Epoch.AddDate(1, 0, 0)
	cred := models.Credential{Name: "stripe-live", TeamID: team.ID, EnvironmentID: prod.ID, KeyType: models.KeyStaticAPIKey,
		Status: models.CredentialActive, OwnerID: &owner.ID, ExpiresAt: &exp}
	if err := s.RawForTest(ctx).Omit("Team", "Environment", "Owner", "Servers").Create(&cred).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.RawForTest(ctx).Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", cred.ID, srv.ID).Error; err != nil {
		t.Fatal(err)
	}
	return srv, cred.ID
}

func TestRecomputeFindingsLifecycle(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		team := modeltest.MustTeam(t, s, "payments")
		gov := modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, team.ID)
		admin := modeltest.MustUser(t, s, "admin@example.com", models.RoleAdmin, 0)
		_, credID := staticKeyOnProd(t, s, gov, team)

		res, err := s.RecomputeFindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Opened != 2 || res.Open != 2 {
			t.Fatalf("first recompute = %+v, want CS-001 and CS-006", res)
		}
		page, err := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}})
		if err != nil || page.Total != 2 {
			t.Fatalf("findings = %d, %v", page.Total, err)
		}
		first := page.Items[0]
		if first.RuleID != "CS-001" && first.RuleID != "CS-006" || first.TeamName != team.Name || first.EnvironmentName != "prod" {
			t.Errorf("row = %+v", first)
		}
		if len(first.Controls()) == 0 {
			t.Error("no framework controls on the finding")
		}
		// A second recompute with nothing changed changes nothing.
		clock.Advance(time.Hour)
		if res, err := s.RecomputeFindings(ctx); err != nil || res.Opened != 0 || res.Resolved != 0 {
			t.Fatalf("idempotent recompute = %+v, %v", res, err)
		}
		// An exception: the requester cannot decide; another person approves.
		gActor := models.Actor{UserID: gov.ID, Label: gov.Email}
		until := clock.Now().Add(48 * time.Hour)
		if _, err := s.RequestException(ctx, gActor, first.ID, models.ExceptionInput{Justification: "too short", ExpiresAt: until}); err == nil {
			t.Fatal("short justification accepted")
		}
		ex, err := s.RequestException(ctx, gActor, first.ID, models.ExceptionInput{
			Justification: "Vendor only supports static keys until Q3; key scoped to refunds.", ExpiresAt: until})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RequestException(ctx, gActor, first.ID, models.ExceptionInput{
			Justification: "A second request for the same finding should fail.", ExpiresAt: until}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("second request: %v, want conflict", err)
		}
		if _, err := s.DecideException(ctx, gActor, ex.ID, true); !errors.Is(err, models.ErrForbidden) {
			t.Fatalf("self-approval: %v, want forbidden", err)
		}
		if _, err := s.DecideException(ctx, models.Actor{UserID: admin.ID}, ex.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DecideException(ctx, models.Actor{UserID: admin.ID}, ex.ID, false); !errors.Is(err, models.ErrInvalidTransition) {
			t.Fatalf("second decision: %v", err)
		}
		open, _ := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}})
		excepted, err := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, State: models.FindingExcepted})
		if err != nil {
			t.Fatal(err)
		}
		if open.Total != 1 || excepted.Total != 1 || excepted.Items[0].ExceptionExpires == nil {
			t.Fatalf("open %d, excepted %d after approval", open.Total, excepted.Total)
		}
		// After expiry the finding is open again, and the job records it.
		clock.Advance(49 * time.Hour)
		open, _ = s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}})
		if open.Total != 2 {
			t.Fatalf("open after expiry = %d, want 2", open.Total)
		}
		if n, err := s.ExpireExceptions(ctx); err != nil || n != 1 {
			t.Fatalf("expire = %d, %v", n, err)
		}
		// Filters: framework, rule, severity, control.
		for _, tc := range []struct {
			f    models.FindingFilter
			want int64
		}{
			{models.FindingFilter{RuleID: "CS-001"}, 1},
			{models.FindingFilter{Severity: models.SeverityCritical}, 0},
			{models.FindingFilter{Framework: "owasp-nhi-2025"}, 2},
			{models.FindingFilter{Framework: "NHI7"}, 1},
			{models.FindingFilter{Framework: "nist-ai-rmf-1.0"}, 0},
			{models.FindingFilter{TeamID: team.ID + 100}, 0},
			{models.FindingFilter{ListParams: models.ListParams{Search: "stripe"}}, 2},
		} {
			tc.f.Scope = models.TeamScope{All: true}
			if p, err := s.Findings(ctx, tc.f); err != nil || p.Total != tc.want {
				t.Errorf("filter %+v: %d, %v; want %d", tc.f, p.Total, err, tc.want)
			}
		}
		// Revoking the credential resolves both findings.
		s.RawForTest(ctx).Model(&models.Credential{}).Where("id = ?", credID).Update("status", "revoked")
		if res, err := s.RecomputeFindings(ctx); err != nil || res.Resolved != 2 {
			t.Fatalf("after revoke = %+v, %v", res, err)
		}
		resolved, _ := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, State: models.FindingResolved})
		if resolved.Total != 2 || resolved.Items[0].ResolvedAt == nil {
			t.Fatalf("resolved = %d", resolved.Total)
		}
		// Reinstating it reopens them, keeping the first-seen time.
		s.RawForTest(ctx).Model(&models.Credential{}).Where("id = ?", credID).Update("status", "active")
		if res, err := s.RecomputeFindings(ctx); err != nil || res.Opened != 2 {
			t.Fatalf("after reinstate = %+v, %v", res, err)
		}
		again, _ := s.FindingByID(ctx, first.ID)
		if again.ResolvedAt != nil || !again.FirstSeenAt.Equal(first.FirstSeenAt) {
			t.Fatalf("reopened finding = %+v (first seen was %v)", again, first.FirstSeenAt)
		}
		if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
			t.Fatalf("audit chain: %+v, %v", v, err)
		}
	})
}

func TestFindingsRefresherCoalesces(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	r := models.NewFindingsRefresher(s)
	done := make(chan error, 8)
	for range 8 {
		go func() { done <- r.Refresh(context.Background()) }()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindingsRefresherGoesToTheBackgroundWhenSlow(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	ctx := context.Background()
	r := models.NewFindingsRefresher(s)
	r.SyncLimit = -1                       // every recompute counts as slow
	if err := r.Refresh(ctx); err != nil { // the first runs inline: nothing is known yet
		t.Fatal(err)
	}
	team := modeltest.MustTeam(t, s, "payments")
	gov := modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, team.ID)
	staticKeyOnProd(t, s, gov, team)
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// The refresh returned before recomputing; the background run opens
	// the findings shortly after.
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background recompute never ran (%d findings)", page.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
