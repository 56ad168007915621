package models_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// TestExportImportRoundTrip exports a demo inventory from SQLite, imports it
// into PostgreSQL (a second SQLite file without a DSN), exports again and
// compares the bytes; a second import changes nothing.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := modeltest.NewClock()
	src := modeltest.OpenSQLite(t, clock)
	if _, err := src.SeedDemo(ctx, "demo-password-123"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.SeedDemoInventory(ctx); err != nil {
		t.Fatal(err)
	}
	// An approved exception, so exceptions and excepted findings travel too.
	gov, _ := src.UserByEmail(ctx, "grace.governance@example.com")
	admin, _ := src.UserByEmail(ctx, "amir.approver@example.com")
	page, err := src.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, RuleID: "CS-001"})
	if err != nil || page.Total == 0 {
		t.Fatalf("no CS-001 in the demo: %v", err)
	}
	ex, err := src.RequestException(ctx, models.Actor{UserID: gov.ID}, page.Items[0].ID, models.ExceptionInput{
		Justification: "Vendor migration to OAuth is scheduled for next quarter.", ExpiresAt: clock.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.DecideException(ctx, models.Actor{UserID: admin.ID}, ex.ID, true); err != nil {
		t.Fatal(err)
	}
	payments, _ := src.TeamBySlug(ctx, "payments")
	billing, _ := src.ServerBySlug(ctx, "billing-prod")
	prod, _ := src.EnvironmentByName(ctx, "prod")
	for _, in := range []models.ReviewRuleInput{
		{TeamID: payments.ID, Name: "Refunds need two", ServerID: billing.ID, ToolPattern: "refund_*", Outcome: models.RuleOutcome("review"),
			ApprovalsNeeded: 2, ApproverRole: models.RoleApprover, Enabled: true},
		{TeamID: payments.ID, Name: "No deletes in prod", ToolPattern: "delete_*", EnvironmentID: prod.ID, Outcome: models.RuleOutcome("deny"), Enabled: true},
	} {
		if _, err := src.CreateReviewRule(ctx, modeltest.Admin, in); err != nil {
			t.Fatalf("review rule %s: %v", in.Name, err)
		}
	}
	if _, err := src.RecomputeFindings(ctx); err != nil { // as the pages do after a change
		t.Fatal(err)
	}
	first := exportJSON(t, src)

	var dst *models.Store
	if os.Getenv(modeltest.PostgresEnv) != "" {
		dst = modeltest.Open(t, modeltest.Engine{Name: "postgres", DSN: modeltest.PostgresDSN}, clock)
	} else {
		dst = modeltest.OpenSQLite(t, clock)
	}
	// The shared deployment knows the same people (owners are matched by email).
	if _, err := dst.SeedDemo(ctx, "another-password-456"); err != nil {
		t.Fatal(err)
	}
	var doc models.InventoryDocument
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatal(err)
	}
	sum, err := dst.ImportInventory(ctx, modeltest.Admin, doc)
	if err != nil {
		t.Fatal(err)
	}
	if c := sum.Counts["review_rules"]; c.Created != 2 {
		t.Fatalf("review rules imported: %+v", c)
	}
	if c := sum.Counts["credentials"]; c.Created != 40 || len(sum.Warnings) != 0 {
		t.Fatalf("first import: credentials %+v, warnings %v", c, sum.Warnings)
	}
	second := exportJSON(t, dst)
	if !bytes.Equal(first, second) {
		t.Fatalf("exports differ:\n%s", firstDiff(first, second))
	}
	again, err := dst.ImportInventory(ctx, modeltest.Admin, doc)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed() {
		for k, c := range again.Counts {
			t.Logf("%s: %+v", k, *c)
		}
		t.Fatal("a second import changed something")
	}
	if v, err := dst.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("audit chain: %+v %v", v, err)
	}
	// The imported findings are what the rules find on the target too: a
	// recompute opens and resolves nothing.
	if res, err := dst.RecomputeFindings(ctx); err != nil || res.Opened != 0 || res.Resolved != 0 {
		t.Fatalf("recompute after import: %+v %v", res, err)
	}
	if strings.Contains(string(first), "demo_") {
		t.Error("the export holds a seeded secret")
	}
}

func TestImportWithAnotherFingerprintKeyDropsFingerprints(t *testing.T) {
	ctx := context.Background()
	src := modeltest.OpenSQLite(t, nil)
	src.SeedDemo(ctx, "demo-password-123")
	src.SeedDemoInventory(ctx)
	doc, err := src.ExportInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc.FingerprintKeyID = "someone-else"
	dst := modeltest.OpenSQLite(t, nil)
	sum, err := dst.ImportInventory(ctx, modeltest.Admin, doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Warnings) == 0 || !strings.Contains(sum.Warnings[0], "fingerprint key") {
		t.Fatalf("warnings = %v", sum.Warnings)
	}
	out, _ := dst.ExportInventory(ctx)
	for _, c := range out.Credentials {
		if c.Fingerprint != "" {
			t.Fatalf("credential %s kept a foreign fingerprint", c.Ref)
		}
	}
	if _, err := dst.ImportInventory(ctx, modeltest.Admin, models.InventoryDocument{Format: "other"}); err == nil {
		t.Error("a document of another format is accepted")
	}
}

func exportJSON(t *testing.T, s *models.Store) []byte {
	t.Helper()
	doc, err := s.ExportInventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la[i], lb[i])
		}
	}
	return "lengths differ"
}
