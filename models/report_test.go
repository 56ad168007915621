package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func TestReviewAnalyticsHandComputed(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		team := modeltest.MustTeam(t, s, "payments")
		ana := modeltest.MustUser(t, s, "ana@example.com", models.RoleApprover, team.ID)
		bo := modeltest.MustUser(t, s, "bo@example.com", models.RoleApprover, team.ID)
		prod, _ := s.EnvironmentByName(ctx, "prod")
		srv, err := s.CreateServer(ctx, modeltest.Admin, models.ServerInput{Slug: "billing-prod", Name: "Billing", TeamID: team.ID,
			EnvironmentID: prod.ID, Transport: models.TransportStdio, Status: models.ServerActive})
		if err != nil {
			t.Fatal(err)
		}
		tool, err := s.AddTool(ctx, modeltest.Admin, srv.ID, models.ToolDefinition{Name: "refund_payment"})
		if err != nil {
			t.Fatal(err)
		}
		t0 := modeltest.Epoch
		type dec struct {
			who     models.User
			approve bool
		}
		reqs := []struct {
			created time.Time
			decided time.Duration // 0: not decided
			status  models.ReviewStatus
			subject string
			rule    string
			by      []dec
		}{
			{t0, 3 * time.Minute, models.ReviewApproved, "support-bot", "Refunds", []dec{{ana, true}}},
			{t0.Add(24 * time.Hour), 30 * time.Minute, models.ReviewDenied, "support-bot", "Refunds", []dec{{bo, false}}},
			{t0.Add(24 * time.Hour), 2 * time.Hour, models.ReviewApproved, "billing-agent", "", []dec{{ana, true}, {bo, true}}},
			{t0.Add(48 * time.Hour), 0, models.ReviewExpired, "support-bot", "Refunds", nil},
		}
		for i, r := range reqs {
			req := models.ReviewRequest{PublicID: fmt.Sprintf("rv_test%d", i), TeamID: team.ID, Status: r.status, Subject: r.subject,
				ServerID: srv.ID, ToolID: tool.ID, EnvironmentID: prod.ID, ArgumentDigest: fmt.Sprintf("%064d", i), ArgumentSummary: "{}",
				Risk: models.RiskHigh, RuleName: r.rule, ApprovalsNeeded: 1, Deadline: r.created.Add(time.Hour), CreatedAt: r.created}
			if r.decided > 0 {
				at := r.created.Add(r.decided)
				req.DecidedAt = &at
			}
			if err := s.RawForTest(ctx).Omit("Server", "Tool").Create(&req).Error; err != nil {
				t.Fatal(err)
			}
			for _, d := range r.by {
				if err := s.RawForTest(ctx).Omit("Approver").Create(&models.ReviewDecision{RequestID: req.ID, ApproverID: d.who.ID,
					Approve: d.approve, Comment: "ok", CreatedAt: r.created}).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		a, err := s.ReviewAnalytics(ctx, models.ReviewAnalyticsFilter{Scope: models.TeamScope{All: true}, From: t0, To: t0.Add(3 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if a.Total != 4 || a.Decided != 3 || a.WithinDeadline != 2 || a.Outcomes[models.ReviewExpired] != 1 {
			t.Fatalf("totals = %d/%d/%d, outcomes %v", a.Total, a.Decided, a.WithinDeadline, a.Outcomes)
		}
		if a.Median != 30*time.Minute || a.P90 != 2*time.Hour {
			t.Errorf("median %v p90 %v, want 30m and 2h", a.Median, a.P90)
		}
		if len(a.ByDay) != 4 || a.ByDay[0].Requests != 1 || a.ByDay[1].Requests != 2 || a.ByDay[1].Denied != 1 || a.ByDay[2].Expired != 1 {
			t.Errorf("by day = %+v", a.ByDay)
		}
		if got := []int{a.Durations[0].Count, a.Durations[1].Count, a.Durations[2].Count, a.Durations[3].Count}; fmt.Sprint(got) != "[1 0 1 1]" {
			t.Errorf("buckets = %v", got)
		}
		if len(a.PerApprover) != 2 || a.PerApprover[0].Label != ana.Name || a.PerApprover[0].Count != 2 ||
			a.PerApprover[1].Count != 1 || a.PerApprover[1].Extra != 1 {
			t.Errorf("per approver = %+v", a.PerApprover)
		}
		if a.TopRequesters[0] != (models.LabelCount{Label: "support-bot", Count: 3}) || a.TopRules[0].Label != "Refunds" {
			t.Errorf("top requesters %v rules %v", a.TopRequesters, a.TopRules)
		}
		if fmt.Sprint(a.TopServers, a.TopTools) != "[{billing-prod 4 0}] [{billing-prod/refund_payment 4 0}]" {
			t.Errorf("top servers %v tools %v", a.TopServers, a.TopTools)
		}
		if other, _ := s.ReviewAnalytics(ctx, models.ReviewAnalyticsFilter{Scope: models.TeamScope{IDs: []uint{team.ID + 1}},
			From: t0, To: t0.Add(72 * time.Hour)}); other.Total != 0 {
			t.Errorf("another team's scope sees %d requests", other.Total)
		}
	})
}

func TestFrameworkStatus(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	ctx := context.Background()
	team := modeltest.MustTeam(t, s, "payments")
	gov := modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, team.ID)
	staticKeyOnProd(t, s, gov, team)
	if _, err := s.RecomputeFindings(ctx); err != nil {
		t.Fatal(err)
	}
	views, err := s.FrameworkStatus(ctx, models.TeamScope{All: true}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]models.ControlView{}
	for _, f := range views {
		for _, c := range f.Controls {
			status[c.ID] = c
		}
	}
	for id, want := range map[string]models.ControlStatus{"NHI7": models.ControlAttention, "PR.AA-05": models.ControlAttention,
		"NHI2": models.ControlClear, "NHI4": models.ControlNotAssessed} {
		if status[id].Status != want {
			t.Errorf("%s: %s, want %s", id, status[id].Status, want)
		}
	}
	if status["NHI7"].Open != 1 || len(status["NHI7"].Rules) == 0 {
		t.Errorf("NHI7 = %+v", status["NHI7"])
	}
}
