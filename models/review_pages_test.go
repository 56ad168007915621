package models_test

import (
	"fmt"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// TestReviewPageReads checks the reads of the review pages on every
// engine: a request by either id, grants with their names (live only, by
// team scope, by search) and the outbox page of a team.
func TestReviewPageReads(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		r := f.approvedGrant(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-1"}`))
		for _, ref := range []string{r.PublicID, fmt.Sprint(r.ID)} {
			if got, err := s.ReviewRequestByRef(ctx, ref); err != nil || got.ID != r.ID {
				t.Errorf("ReviewRequestByRef(%s) = %d, %v", ref, got.ID, err)
			}
		}
		for _, ref := range []string{"rv_nope", "0", "x", ""} {
			if _, err := s.ReviewRequestByRef(ctx, ref); err != models.ErrNotFound {
				t.Errorf("ReviewRequestByRef(%q) = %v, want not found", ref, err)
			}
		}

		mine := models.TeamScope{IDs: []uint{f.team.ID}}
		page, err := s.GrantRows(ctx, models.GrantListFilter{Scope: mine, LiveOnly: true})
		if err != nil || page.Total != 1 || page.Items[0].ServerSlug != "billing-prod" || page.Items[0].ToolName != "refund_payment" ||
			page.Items[0].ReviewPublicID != r.PublicID || page.Items[0].TeamName != f.team.Name {
			t.Fatalf("live grants = %+v, %v", page, err)
		}
		if page, _ := s.GrantRows(ctx, models.GrantListFilter{Scope: models.TeamScope{IDs: []uint{f.other.ID}}}); page.Total != 0 {
			t.Error("another team sees the grant")
		}
		if page, _ := s.GrantRows(ctx, models.GrantListFilter{Scope: mine, ListParams: models.ListParams{Search: "SUPPORT"}}); page.Total != 1 {
			t.Error("search by subject misses the grant")
		}
		if err := s.RevokeGrant(ctx, as(f.ana), page.Items[0].ID, "done"); err != nil {
			t.Fatal(err)
		}
		if page, _ := s.GrantRows(ctx, models.GrantListFilter{Scope: mine, LiveOnly: true}); page.Total != 0 {
			t.Error("a revoked grant is live")
		}
		if page, _ := s.GrantRows(ctx, models.GrantListFilter{Scope: mine}); page.Total != 1 {
			t.Error("the revoked grant is not listed among all grants")
		}

		// The request and its decision were notified to the team.
		out, err := s.OutboxPage(ctx, models.OutboxFilter{Scope: mine, ListParams: models.ListParams{Search: "review."}})
		if err != nil || out.Total < 2 {
			t.Fatalf("outbox of the team = %d, %v", out.Total, err)
		}
		if out, _ := s.OutboxPage(ctx, models.OutboxFilter{Scope: models.TeamScope{IDs: []uint{f.other.ID}}}); out.Total != 0 {
			t.Error("another team sees the team's deliveries")
		}
		if out, _ := s.OutboxPage(ctx, models.OutboxFilter{Scope: mine, Status: models.OutboxFailed}); out.Total != 0 {
			t.Error("failed deliveries where none failed")
		}
		m, err := s.OutboxMessageByID(ctx, out.Items[0].ID)
		if err != nil || m.ID != out.Items[0].ID {
			t.Errorf("OutboxMessageByID: %v", err)
		}
	})
}
