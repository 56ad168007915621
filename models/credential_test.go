package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func TestCredentialValidation(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	ctx := context.Background()
	team := modeltest.MustTeam(t, s, "payments")
	other := modeltest.MustTeam(t, s, "support")
	prod, _ := s.EnvironmentByName(ctx, "prod")
	srv, err := s.CreateServer(ctx, modeltest.Admin, models.ServerInput{Slug: "crm", Name: "CRM", TeamID: other.ID,
		EnvironmentID: prod.ID, Transport: models.TransportStdio})
	if err != nil {
		t.Fatal(err)
	}
	base := func() models.CredentialInput {
		return models.CredentialInput{Name: "key", TeamID: team.ID, EnvironmentID: prod.ID, KeyType: models.KeyStaticAPIKey}
	}
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	later := past.Add(-time.Hour)
	cases := []struct {
		name  string
		edit  func(*models.CredentialInput)
		field string
	}{
		{"no name", func(in *models.CredentialInput) { in.Name = " " }, "name"},
		{"no team", func(in *models.CredentialInput) { in.TeamID = 0 }, "team"},
		{"unknown environment", func(in *models.CredentialInput) { in.EnvironmentID = 999 }, "environment"},
		{"unknown key type", func(in *models.CredentialInput) { in.KeyType = "password" }, "key_type"},
		{"bad cron", func(in *models.CredentialInput) { in.RotationSpec = "every tuesday" }, "rotation_spec"},
		{"TZ= prefix", func(in *models.CredentialInput) { in.RotationSpec = "TZ=Europe/Berlin 0 3 * * *" }, "rotation_spec"},
		{"CRON_TZ= prefix", func(in *models.CredentialInput) { in.RotationSpec = "CRON_TZ=UTC 0 0 * * *" }, "rotation_spec"},
		{"too frequent", func(in *models.CredentialInput) { in.RotationSpec = "* * * * *" }, "rotation_spec"},
		{"unknown zone", func(in *models.CredentialInput) { in.RotationSpec = "0 3 * * *"; in.RotationTZ = "Mars/Olympus" }, "rotation_tz"},
		{"zone without schedule", func(in *models.CredentialInput) { in.RotationTZ = "Europe/Berlin" }, "rotation_tz"},
		{"server of another team", func(in *models.CredentialInput) { in.ServerIDs = []uint{srv.ID} }, "servers"},
		{"expiry before issue", func(in *models.CredentialInput) { in.IssuedAt, in.ExpiresAt = &past, &later }, "expires_at"},
		{"short secret", func(in *models.CredentialInput) { in.Secret = "abc" }, "secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(&in)
			_, err := s.CreateCredential(ctx, modeltest.Admin, in)
			v, ok := models.AsValidation(err)
			if !ok || !v.Has(tc.field) {
				t.Fatalf("error = %v, want a message on %s", err, tc.field)
			}
			if in.Secret != "" && strings.Contains(err.Error(), in.Secret) {
				t.Error("the error quotes the secret")
			}
		})
	}
}

// A bad zone does not hide a bad schedule: both are reported at once, as on
// the key type form, and with the same words as the form's live check.
func TestCredentialZoneAndScheduleProblemsTogether(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	ctx := context.Background()
	team := modeltest.MustTeam(t, s, "payments")
	prod, _ := s.EnvironmentByName(ctx, "prod")
	in := models.CredentialInput{Name: "key", TeamID: team.ID, EnvironmentID: prod.ID, KeyType: models.KeyStaticAPIKey,
		Status: models.CredentialActive, RotationSpec: "0 25 * * *", RotationTZ: "Mars/Olympus"}
	_, want := models.CheckScheduleFields(in.RotationSpec, in.RotationTZ, s.ScheduleOptions())
	for name, err := range map[string]error{"check": s.CheckCredential(ctx, in), "create": func() error {
		_, err := s.CreateCredential(ctx, modeltest.Admin, in)
		return err
	}()} {
		v, _ := models.AsValidation(err)
		if v.Get("rotation_spec") != want.Spec || v.Get("rotation_tz") != want.Zone {
			t.Errorf("%s: rotation_spec %q, rotation_tz %q; want %q and %q", name, v.Get("rotation_spec"), v.Get("rotation_tz"), want.Spec, want.Zone)
		}
	}
	in.RotationSpec = ""
	if v, _ := models.AsValidation(s.CheckCredential(ctx, in)); v.Get("rotation_tz") != models.ZoneWithoutScheduleMessage {
		t.Errorf("zone without a schedule: %q", v.Get("rotation_tz"))
	}
}

func TestCredentialLifecycleAndReuse(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		ctx := context.Background()
		team := modeltest.MustTeam(t, s, "payments")
		owner := modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, team.ID)
		dev, _ := s.EnvironmentByName(ctx, "dev")
		prod, _ := s.EnvironmentByName(ctx, "prod")
		mk := func(slug string, env models.Environment) models.Server {
			srv, err := s.CreateServer(ctx, modeltest.Admin, models.ServerInput{Slug: slug, Name: slug, TeamID: team.ID,
				EnvironmentID: env.ID, Transport: models.TransportStdio, Status: models.ServerActive})
			if err != nil {
				t.Fatal(err)
			}
			return srv
		}
		devSrv, prodSrv := mk("billing-dev", dev), mk("billing-prod", prod)
		// The server's key policy gives the default schedule.
		if _, err := s.CreateServerKeyType(ctx, modeltest.Admin, prodSrv.ID, models.AllowedKeyTypeInput{KeyType: models.KeyScopedAPIKey,
			MaxLifetimeDays: 90, RotationSpec: "0 9 1 * *", RotationTZ: "Europe/Berlin", Rationale: "Scoped keys rotated monthly."}); err != nil {
			t.Fatal(err)
		}
		secret := "sk_live_" + strings.Repeat("q7", 16)
		a, err := s.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: "stripe prod", TeamID: team.ID, EnvironmentID: prod.ID,
			KeyType: models.KeyScopedAPIKey, ServerIDs: []uint{prodSrv.ID}, OwnerID: owner.ID, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		if a.Fingerprint != modeltest.TestFingerprinter().Fingerprint(secret) || a.Last4 != "q7q7" {
			t.Fatalf("fingerprint/last4 = %q/%q", a.Fingerprint, a.Last4)
		}
		if a.RotationSpec != "0 9 1 * *" || a.RotationTZ != "Europe/Berlin" || a.NextDueAt == nil {
			t.Fatalf("schedule not inherited from the key policy: %q %q %v", a.RotationSpec, a.RotationTZ, a.NextDueAt)
		}
		b, err := s.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: "stripe dev", TeamID: team.ID, EnvironmentID: dev.ID,
			KeyType: models.KeyStaticAPIKey, ServerIDs: []uint{devSrv.ID}, Secret: " " + secret + "\n"})
		if err != nil {
			t.Fatal(err)
		}
		same, err := s.SameSecret(ctx, a)
		if err != nil || len(same) != 1 || same[0].ID != b.ID || same[0].EnvironmentName != "dev" || same[0].ServerSlugs[0] != "billing-dev" {
			t.Fatalf("same secret = %+v, %v", same, err)
		}
		for _, tc := range []struct {
			f    models.CredentialFilter
			want int64
		}{
			{models.CredentialFilter{}, 2},
			{models.CredentialFilter{Reused: true}, 2},
			{models.CredentialFilter{ServerID: prodSrv.ID}, 1},
			{models.CredentialFilter{KeyType: models.KeyStaticAPIKey}, 1},
			{models.CredentialFilter{EnvironmentID: dev.ID}, 1},
			{models.CredentialFilter{ListParams: models.ListParams{Search: "STRIPE"}}, 2},
			{models.CredentialFilter{ListParams: models.ListParams{Search: "q7q7"}}, 2},
			{models.CredentialFilter{Status: models.CredentialRevoked}, 0},
			{models.CredentialFilter{Scope: models.TeamScope{IDs: []uint{team.ID + 99}}}, 0},
		} {
			if tc.f.Scope.IDs == nil {
				tc.f.Scope = models.TeamScope{All: true}
			}
			page, err := s.Credentials(ctx, tc.f)
			if err != nil || page.Total != tc.want {
				t.Errorf("filter %+v: %d, %v; want %d", tc.f, page.Total, err, tc.want)
			}
		}
		page, _ := s.Credentials(ctx, models.CredentialFilter{Scope: models.TeamScope{All: true}, ListParams: models.ListParams{Sort: "name"}})
		if page.Items[0].Name != "stripe dev" || page.Items[0].SharedWith != 1 {
			t.Errorf("first row = %+v", page.Items[0])
		}
		// Findings: one secret in dev and prod (CS-002), a static key not
		// allowed on the dev server with no policy (CS-006).
		if _, err := s.RecomputeFindings(ctx); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Findings(ctx, models.FindingFilter{Scope: models.TeamScope{All: true}, RuleID: "CS-002"}); f.Total != 2 {
			t.Errorf("CS-002 findings = %d, want 2", f.Total)
		}
		// A new secret on update replaces the fingerprint; an empty one keeps it.
		in := models.CredentialInput{Name: "stripe dev", TeamID: team.ID, EnvironmentID: dev.ID, KeyType: models.KeyStaticAPIKey,
			ServerIDs: []uint{devSrv.ID}}
		kept, err := s.UpdateCredential(ctx, modeltest.Admin, b.ID, in)
		if err != nil || kept.Fingerprint != b.Fingerprint {
			t.Fatalf("update without secret: %v %q", err, kept.Fingerprint)
		}
		in.Secret = "rk_live_" + strings.Repeat("z9", 16)
		changed, err := s.UpdateCredential(ctx, modeltest.Admin, b.ID, in)
		if err != nil || changed.Fingerprint == b.Fingerprint || changed.Last4 != "z9z9" {
			t.Fatalf("update with secret: %v", err)
		}
		if _, err := s.RevokeCredential(ctx, modeltest.Admin, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeCredential(ctx, modeltest.Admin, a.ID); !errors.Is(err, models.ErrInvalidTransition) {
			t.Fatalf("second revoke: %v", err)
		}
		if err := s.DeleteCredential(ctx, modeltest.Admin, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CredentialByID(ctx, b.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleted credential: %v", err)
		}
		events, _ := s.AuditOf(ctx, "credential", a.ID, 10)
		if len(events) < 2 {
			t.Fatalf("audit events = %d", len(events))
		}
		for _, e := range events {
			if strings.Contains(e.After+e.Before, secret) || strings.Contains(e.After, a.Fingerprint) {
				t.Fatalf("audit event holds the secret or the whole fingerprint: %s", e.After)
			}
		}
	})
}
