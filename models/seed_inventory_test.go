package models_test

import (
	"context"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func TestSeedDemoInventory(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	ctx := context.Background()
	if _, err := s.SeedDemoInventory(ctx); err == nil {
		t.Fatal("seeding the inventory without the demo teams should fail")
	}
	if _, err := s.SeedDemo(ctx, "demo-password-123"); err != nil {
		t.Fatal(err)
	}
	sum, err := s.SeedDemoInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Servers != 15 || sum.Credentials != 40 || sum.Findings == 0 {
		t.Fatalf("summary = %+v", sum)
	}
	for _, rule := range []string{"CS-001", "CS-002", "CS-003", "CS-004", "CS-005", "CS-006", "CS-007", "CS-008", "CS-009"} {
		page, err := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, RuleID: rule})
		if err != nil || page.Total == 0 {
			t.Errorf("the demo shows no %s finding (%v)", rule, err)
		}
	}
	again, err := s.SeedDemoInventory(ctx)
	if err != nil || !again.Skipped {
		t.Fatalf("second seed = %+v, %v", again, err)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain after seed: %+v %v", v, err)
	}
}

func TestSeedScale(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		ctx := context.Background()
		sum, err := s.SeedScale(ctx, models.ScaleOptions{Servers: 60, Credentials: 600, Audit: 300, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Servers != 60 || sum.Credentials != 600 || sum.Tools != 180 || sum.Audit != 300 || sum.Findings == 0 {
			t.Fatalf("summary = %+v", sum)
		}
		page, err := s.Servers(ctx, models.ServerFilter{Scope: models.TeamScope{All: true}})
		if err != nil || page.Total != 60 {
			t.Fatalf("servers = %d, %v", page.Total, err)
		}
		v, err := s.VerifyAudit(ctx)
		if err != nil || !v.OK || v.Events < 300 {
			t.Fatalf("audit chain after scale seed: %+v %v", v, err)
		}
		// A second run adds more, with fresh slugs.
		if _, err := s.SeedScale(ctx, models.ScaleOptions{Servers: 5, Credentials: 10, Seed: 8}); err != nil {
			t.Fatal(err)
		}
	})
}
