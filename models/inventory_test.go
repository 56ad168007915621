package models_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func ptr(b bool) *bool { return &b }

func TestDerivedRisk(t *testing.T) {
	cases := []struct {
		name string
		tool models.Tool
		want models.Risk
	}{
		{"read-only closed-world", models.Tool{ReadOnlyHint: ptr(true), OpenWorldHint: ptr(false)}, models.RiskLow},
		{"read-only open-world", models.Tool{ReadOnlyHint: ptr(true), OpenWorldHint: ptr(true)}, models.RiskMedium},
		{"read-only, open-world by default", models.Tool{ReadOnlyHint: ptr(true)}, models.RiskMedium},
		{"writes, not destructive", models.Tool{ReadOnlyHint: ptr(false), DestructiveHint: ptr(false)}, models.RiskMedium},
		{"writes, destructive by default", models.Tool{ReadOnlyHint: ptr(false)}, models.RiskHigh},
		{"destructive", models.Tool{DestructiveHint: ptr(true)}, models.RiskHigh},
		{"no hints", models.Tool{}, models.RiskHigh},
		{"changed definition", models.Tool{ReadOnlyHint: ptr(true), OpenWorldHint: ptr(false), DefinitionHash: "b", ReviewedHash: "a"}, models.RiskHigh},
	}
	for _, c := range cases {
		if got, reasons := models.DerivedRisk(c.tool); got != c.want || len(reasons) == 0 {
			t.Errorf("%s: %s %v, want %s", c.name, got, reasons, c.want)
		}
	}
	over := models.Tool{RiskOverride: models.RiskLow, OverrideReason: "sandbox only"}
	if got, _ := models.EffectiveRisk(over); got != models.RiskLow {
		t.Errorf("override ignored: %s", got)
	}
	over.DefinitionHash, over.ReviewedHash = "new", "old"
	if got, _ := models.EffectiveRisk(over); got != models.RiskHigh {
		t.Errorf("a changed definition must be high whatever the override: %s", got)
	}
}

func serverInput(teamID, envID uint, slug string) models.ServerInput {
	return models.ServerInput{Slug: slug, Name: "Server " + slug, TeamID: teamID, EnvironmentID: envID,
		Transport: models.TransportStreamableHTTP, Endpoint: "https://" + slug + ".example.com/mcp", Status: models.ServerActive}
}

func TestServersCreateValidateUpdate(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "payments")
		prod, err := s.EnvironmentByName(ctx, "prod")
		if err != nil || !prod.Sensitive {
			t.Fatalf("prod environment: %+v %v", prod, err)
		}
		srv, err := s.CreateServer(ctx, modeltest.Admin, serverInput(team.ID, prod.ID, "billing-prod"))
		if err != nil {
			t.Fatal(err)
		}
		bad := []struct {
			field string
			in    models.ServerInput
		}{
			{"slug", serverInput(team.ID, prod.ID, "billing-prod")},
			{"slug", serverInput(team.ID, prod.ID, "Not A Slug")},
			{"environment", serverInput(team.ID, 999, "x1")},
			{"team", serverInput(999, prod.ID, "x2")},
			{"endpoint", func() models.ServerInput {
				in := serverInput(team.ID, prod.ID, "x3")
				in.Endpoint = "ftp://x"
				return in
			}()},
			{"endpoint", func() models.ServerInput {
				in := serverInput(team.ID, prod.ID, "x4")
				in.Endpoint = "https://user:pw@x.example.com"
				return in
			}()},
			{"vendor_name", func() models.ServerInput {
				in := serverInput(team.ID, prod.ID, "x5")
				in.Hosting = models.HostingVendor
				return in
			}()},
			{"transport", func() models.ServerInput {
				in := serverInput(team.ID, prod.ID, "x6")
				in.Transport = "carrier-pigeon"
				return in
			}()},
		}
		for _, b := range bad {
			_, err := s.CreateServer(ctx, modeltest.Admin, b.in)
			if v, ok := models.AsValidation(err); !ok || !v.Has(b.field) {
				t.Errorf("%s: got %v, want a message on %s", b.in.Slug, err, b.field)
			}
		}
		in := serverInput(team.ID, prod.ID, "ignored")
		in.Name, in.ProductionData, in.DataClasses = "Billing (prod)", true, "PII, financial, pii"
		got, err := s.UpdateServer(ctx, modeltest.Admin, srv.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Slug != "billing-prod" || got.DataClasses != "financial,pii" || !got.SensitiveReach() {
			t.Errorf("updated server = %+v", got)
		}
		page, err := s.Servers(ctx, models.ServerFilter{Scope: models.AllTeams, ListParams: models.ListParams{Search: "BILLING"}})
		if err != nil || page.Total != 1 || page.Items[0].TeamName != "Payments" {
			t.Fatalf("search: %+v %v", page, err)
		}
		page, _ = s.Servers(ctx, models.ServerFilter{Scope: models.TeamScope{IDs: []uint{999}}})
		if page.Total != 0 {
			t.Errorf("scope leaks servers of other teams")
		}
	})
}

func TestToolSyncFlagsChangedDefinitions(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "payments")
		prod, _ := s.EnvironmentByName(ctx, "prod")
		srv, err := s.CreateServer(ctx, modeltest.Admin, serverInput(team.ID, prod.ID, "billing"))
		if err != nil {
			t.Fatal(err)
		}
		list := []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[
			{"name":"get_invoice","inputSchema":{"type":"object","properties":{"id":{"type":"string"}}},"annotations":{"readOnlyHint":true,"openWorldHint":false}},
			{"name":"refund_payment","description":"Refund","annotations":{"destructiveHint":true}}]}}`)
		defs, err := models.ParseToolsList(list)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.SyncTools(ctx, modeltest.Admin, srv.ID, defs, true)
		if err != nil || res.Added != 2 {
			t.Fatalf("first sync: %+v %v", res, err)
		}
		// Same definitions, formatted differently: unchanged.
		defs2, _ := models.ParseToolsList([]byte(`{"tools":[{"annotations":{"openWorldHint":false,"readOnlyHint":true},"inputSchema":{"properties":{"id":{"type":"string"}},"type":"object"},"name":"get_invoice"}]}`))
		if res, _ := s.SyncTools(ctx, modeltest.Admin, srv.ID, defs2, false); res.Unchanged != 1 || res.Changed != 0 {
			t.Errorf("reformatted definition counted as a change: %+v", res)
		}
		// A new description: changed, flagged until reviewed.
		defs2[0].Description = "now also deletes things"
		if res, _ := s.SyncTools(ctx, modeltest.Admin, srv.ID, defs2, false); res.Changed != 1 {
			t.Fatalf("changed definition not detected: %+v", res)
		}
		tools, _ := s.ToolsOfServer(ctx, srv.ID)
		get := tools[0]
		if !get.DefinitionChanged() {
			t.Fatal("changed tool is not flagged")
		}
		if risk, _ := models.EffectiveRisk(get); risk != models.RiskHigh {
			t.Errorf("changed tool risk = %s, want high", risk)
		}
		if _, err := s.MarkToolReviewed(ctx, modeltest.Admin, get.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkToolReviewed(ctx, modeltest.Admin, get.ID); !errors.Is(err, models.ErrInvalidTransition) {
			t.Errorf("second review: %v", err)
		}
		if _, err := s.SetToolRisk(ctx, modeltest.Admin, get.ID, models.RiskHigh, ""); err == nil {
			t.Error("override without a reason accepted")
		}
		if _, err := models.ParseToolsList([]byte("{\n  \"tools\": [\n    {\"name\": }\n]}")); err == nil || !contains(err.Error(), "line 3") {
			t.Errorf("malformed tools/list error should name the line: %v", err)
		}
		var schema map[string]any
		if err := json.Unmarshal([]byte(tools[0].InputSchema), &schema); err != nil {
			t.Errorf("stored input schema is not JSON: %v", err)
		}
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
