package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func TestSeedHistoryBackfillsReviewsAndSnapshots(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		if _, err := s.SeedDemo(ctx, "demo-password-123456"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SeedDemoInventory(ctx); err != nil {
			t.Fatal(err)
		}
		sum, err := s.SeedHistory(ctx, 90, 7)
		if err != nil {
			t.Fatal(err)
		}
		var teams int64
		s.RawForTest(ctx).Model(&models.Team{}).Count(&teams)
		if sum.Reviews < 300 || sum.Decisions < sum.Reviews/2 || sum.Snapshots != int(91*(teams+1)) {
			t.Fatalf("summary = %+v (teams %d)", sum, teams)
		}
		now := clock.Now()
		// Generated requests are consistent with the review rules: nothing
		// decided in the future, nothing pending past its deadline, every
		// decision by an approver of the request's team.
		var bad int64
		s.RawForTest(ctx).Model(&models.ReviewRequest{}).Where("decided_at > ? OR (status = ? AND deadline <= ?) OR created_at > ?",
			now, models.ReviewPending, now, now).Count(&bad)
		if bad != 0 {
			t.Errorf("%d inconsistent review requests", bad)
		}
		s.RawForTest(ctx).Table("review_decisions").
			Joins("JOIN review_requests ON review_requests.id = review_decisions.request_id").
			Where(`NOT EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.user_id = review_decisions.approver_id
				AND ra.team_id = review_requests.team_id AND ra.role = ?)`, models.RoleApprover).Count(&bad)
		if bad != 0 {
			t.Errorf("%d decisions by someone who is not an approver of the team", bad)
		}
		// Analytics see the generated requests.
		a, err := s.ReviewAnalytics(ctx, models.ReviewAnalyticsFilter{Scope: models.AllTeams, From: now.AddDate(0, 0, -91), To: now.Add(time.Hour)})
		if err != nil || a.Total != sum.Reviews || a.Decided == 0 || a.Median <= 0 || a.P90 < a.Median || a.Outcomes[models.ReviewExpired] == 0 || a.Outcomes[models.ReviewDenied] == 0 {
			t.Fatalf("analytics = total %d decided %d median %v p90 %v outcomes %v (%v)", a.Total, a.Decided, a.Median, a.P90, a.Outcomes, err)
		}
		// One org snapshot per day; review figures computed from the
		// requests; the generated inventory path ends at today's figures.
		org, err := s.ComplianceSnapshots(ctx, 0, now.AddDate(0, 0, -90), now)
		if err != nil || len(org) != 91 {
			t.Fatalf("%d org snapshots (%v)", len(org), err)
		}
		first, mid, last := org[0], org[45], org[90]
		if mid.ReviewsDecided == 0 || mid.ReviewMedianSeconds <= 0 || mid.ReviewP90Seconds < mid.ReviewMedianSeconds {
			t.Errorf("mid-history review figures = %+v", mid)
		}
		d, _ := s.Dashboard(ctx, models.DashboardFilter{Scope: models.AllTeams, Days: models.SnapshotReviewDays})
		if last.Day != now.Format(time.DateOnly) || last.Overdue != d.Overdue || last.ReviewsDecided != d.Reviews.Decided {
			t.Errorf("today's snapshot %+v does not match the dashboard %+v", last, d)
		}
		if first.Overdue <= last.Overdue || first.OpenFindings() <= last.OpenFindings() || first.Credentials != last.Credentials {
			t.Errorf("history does not start worse: first %+v last %+v", first, last)
		}
		again, err := s.SeedHistory(ctx, 90, 7)
		if err != nil || !again.Skipped {
			t.Errorf("second run = %+v, %v", again, err)
		}
		if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
			t.Errorf("audit chain after the seed: %+v %v", v, err)
		}
	})
}
