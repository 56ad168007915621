package models_test

import (
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func keyTypeInput(k models.KeyType, days int) models.AllowedKeyTypeInput {
	return models.AllowedKeyTypeInput{KeyType: k, MaxLifetimeDays: days, RotationSpec: "0 3 1 * *",
		RotationTZ: "Europe/Berlin", RequiredScopes: "billing:read, billing:read Mail.Read", Rationale: "The vendor offers nothing better yet."}
}

func TestAllowedKeyTypeInputValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(in *models.AllowedKeyTypeInput)
		field string // "" means valid
	}{
		{"valid", func(in *models.AllowedKeyTypeInput) {}, ""},
		{"no schedule", func(in *models.AllowedKeyTypeInput) { in.RotationSpec, in.RotationTZ = "", "" }, ""},
		{"descriptor", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "@monthly" }, ""},
		{"unknown key type", func(in *models.AllowedKeyTypeInput) { in.KeyType = "password" }, "key_type"},
		{"negative lifetime", func(in *models.AllowedKeyTypeInput) { in.MaxLifetimeDays = -1 }, "max_lifetime_days"},
		{"lifetime too long", func(in *models.AllowedKeyTypeInput) { in.MaxLifetimeDays = 3651 }, "max_lifetime_days"},
		{"no rationale", func(in *models.AllowedKeyTypeInput) { in.Rationale = "  " }, "rationale"},
		{"short rationale", func(in *models.AllowedKeyTypeInput) { in.Rationale = "because" }, "rationale"},
		{"invalid cron", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "61 3 * * *" }, "rotation_spec"},
		{"four fields", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "0 3 * *" }, "rotation_spec"},
		{"TZ prefix", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "TZ=Europe/Berlin 0 3 * * *" }, "rotation_spec"},
		{"CRON_TZ prefix", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "CRON_TZ=UTC 0 0 * * *" }, "rotation_spec"},
		{"bare TZ prefix", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "TZ=" }, "rotation_spec"},
		{"every", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "@every 1h" }, "rotation_spec"},
		{"too frequent", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "* * * * *" }, "rotation_spec"},
		{"unknown zone", func(in *models.AllowedKeyTypeInput) { in.RotationTZ = "Mars/Olympus" }, "rotation_tz"},
		{"Local zone", func(in *models.AllowedKeyTypeInput) { in.RotationTZ = "Local" }, "rotation_tz"},
		{"zone without spec", func(in *models.AllowedKeyTypeInput) { in.RotationSpec = "" }, "rotation_tz"},
		{"too many scopes", func(in *models.AllowedKeyTypeInput) { in.RequiredScopes = strings.Repeat("scope-x ", 100) + "a b c" }, ""},
		{"scopes too long", func(in *models.AllowedKeyTypeInput) {
			var b strings.Builder
			for i := range 60 {
				b.WriteString("scope-number-" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " ")
			}
			in.RequiredScopes = b.String()
		}, "required_scopes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := keyTypeInput(models.KeyScopedAPIKey, 90)
			c.edit(&in)
			in.Normalize()
			err := in.Validate(models.ScheduleOptions{})
			v, _ := models.AsValidation(err)
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case c.field != "" && (v == nil || !v.Has(c.field)):
				t.Fatalf("want a message on %s, got %v", c.field, err)
			case c.field != "" && len(v.Get(c.field)) < 10:
				t.Fatalf("message on %s is not helpful: %q", c.field, v.Get(c.field))
			}
		})
	}
}

// A bad time zone does not hide a bad schedule: both are reported at once.
func TestKeyTypeZoneAndScheduleProblemsTogether(t *testing.T) {
	in := keyTypeInput(models.KeyScopedAPIKey, 90)
	in.RotationSpec, in.RotationTZ = "61 3 * * *", "Mars/Olympus"
	in.Normalize()
	v, _ := models.AsValidation(in.Validate(models.ScheduleOptions{}))
	if v == nil || !v.Has("rotation_tz") || !v.Has("rotation_spec") {
		t.Fatalf("want messages on rotation_tz and rotation_spec, got %v", v)
	}
}

func TestKeyTypeScopesKeepCase(t *testing.T) {
	in := keyTypeInput(models.KeyScopedAPIKey, 90)
	in.Normalize()
	if in.RequiredScopes != "Mail.Read,billing:read" {
		t.Fatalf("scopes = %q", in.RequiredScopes)
	}
}

// policyFixture is a team, the prod environment and one server in it.
func policyFixture(t *testing.T, s *models.Store) (models.Environment, models.Server) {
	t.Helper()
	team := modeltest.MustTeam(t, s, "payments")
	prod, err := s.EnvironmentByName(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.CreateServer(ctx, modeltest.Admin, serverInput(team.ID, prod.ID, "billing-prod"))
	if err != nil {
		t.Fatal(err)
	}
	return prod, srv
}

func wantFieldError(t *testing.T, err error, field, contains string) {
	t.Helper()
	v, ok := models.AsValidation(err)
	if !ok || !v.Has(field) {
		t.Fatalf("want a message on %s, got %v", field, err)
	}
	if !strings.Contains(v.Get(field), contains) {
		t.Fatalf("message on %s = %q, want it to mention %q", field, v.Get(field), contains)
	}
}

func TestKeyTypeStoreRules(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		prod, srv := policyFixture(t, s)

		// Without environment defaults, a server may allow anything.
		static, err := s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyStaticAPIKey, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyStaticAPIKey, 30))
		wantFieldError(t, err, "key_type", "already listed")
		if _, err := s.DeleteAllowedKeyType(ctx, modeltest.Admin, static.ID); err != nil {
			t.Fatal(err)
		}

		// Environment defaults: scoped keys up to 90 days, workload identity.
		if _, err := s.CreateEnvironmentKeyType(ctx, modeltest.Admin, prod.ID, keyTypeInput(models.KeyScopedAPIKey, 90)); err != nil {
			t.Fatal(err)
		}
		wl, err := s.CreateEnvironmentKeyType(ctx, modeltest.Admin, prod.ID, keyTypeInput(models.KeyWorkloadIdentity, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateEnvironmentKeyType(ctx, modeltest.Admin, prod.ID, keyTypeInput(models.KeyWorkloadIdentity, 1))
		wantFieldError(t, err, "key_type", "already listed")

		// The server may only tighten.
		_, err = s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyStaticAPIKey, 30))
		wantFieldError(t, err, "key_type", "prod environment does not allow")
		_, err = s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyScopedAPIKey, 120))
		wantFieldError(t, err, "max_lifetime_days", "at most 90")
		_, err = s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyScopedAPIKey, 0))
		wantFieldError(t, err, "max_lifetime_days", "no limit")
		scoped, err := s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyScopedAPIKey, 30))
		if err != nil {
			t.Fatal(err)
		}
		if scoped.ServerID == nil || *scoped.ServerID != srv.ID || scoped.EnvironmentID != nil || scoped.RequiredScopes != "Mail.Read,billing:read" {
			t.Fatalf("stored entry = %+v", scoped)
		}

		// An update obeys the same rules; an unknown id is not found.
		_, err = s.UpdateAllowedKeyType(ctx, modeltest.Admin, scoped.ID, keyTypeInput(models.KeyScopedAPIKey, 91))
		wantFieldError(t, err, "max_lifetime_days", "at most 90")
		bad := keyTypeInput(models.KeyScopedAPIKey, 10)
		bad.RotationSpec = "CRON_TZ=UTC 0 0 * * *"
		_, err = s.UpdateAllowedKeyType(ctx, modeltest.Admin, scoped.ID, bad)
		wantFieldError(t, err, "rotation_spec", "TZ=")
		updated, err := s.UpdateAllowedKeyType(ctx, modeltest.Admin, scoped.ID, keyTypeInput(models.KeyScopedAPIKey, 60))
		if err != nil || updated.MaxLifetimeDays != 60 {
			t.Fatalf("update: %+v %v", updated, err)
		}
		if _, err := s.UpdateAllowedKeyType(ctx, modeltest.Admin, 99999, keyTypeInput(models.KeyScopedAPIKey, 60)); err != models.ErrNotFound {
			t.Fatalf("update unknown: %v", err)
		}
		if _, err := s.CreateServerKeyType(ctx, modeltest.Admin, 99999, keyTypeInput(models.KeyScopedAPIKey, 60)); err != models.ErrNotFound {
			t.Fatalf("create on unknown server: %v", err)
		}

		// Every change is in the server's (or environment's) history.
		events, err := s.AuditOf(ctx, "server", srv.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, " "); got != "keytype.update keytype.create keytype.delete keytype.create server.create" {
			t.Fatalf("server history = %s", got)
		}
		envEvents, err := s.AuditOf(ctx, "environment", prod.ID, 20)
		if err != nil || len(envEvents) != 2 || envEvents[0].Action != "keytype.create" || !strings.Contains(envEvents[0].After, "workload_identity") {
			t.Fatalf("environment history = %+v %v", envEvents, err)
		}
		if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
			t.Fatalf("audit chain: %+v %v", v, err)
		}

		// The view: the server's entry overrides the default; the other
		// default is not inherited because the server's policy replaces it.
		srv, _ = s.ServerByID(ctx, srv.ID)
		view, err := s.KeyPolicyViewOf(ctx, srv)
		if err != nil {
			t.Fatal(err)
		}
		if view.Inherited || len(view.Rows) != 2 || len(view.Effective()) != 1 {
			t.Fatalf("view = %+v", view)
		}
		row := view.Rows[0]
		if !row.Overridden || row.EnvDefault == nil || row.EnvDefault.MaxLifetimeDays != 90 || row.Problem != "" {
			t.Fatalf("server row = %+v", row)
		}
		if r := view.Rows[1]; !r.NotInherited || r.Applies || r.KeyType != models.KeyWorkloadIdentity {
			t.Fatalf("default row = %+v", r)
		}

		// Without own entries the server inherits every default.
		if _, err := s.DeleteAllowedKeyType(ctx, modeltest.Admin, scoped.ID); err != nil {
			t.Fatal(err)
		}
		view, _ = s.KeyPolicyViewOf(ctx, srv)
		if !view.Inherited || len(view.Effective()) != 2 || !view.Rows[0].Inherited {
			t.Fatalf("inherited view = %+v", view)
		}
		if _, err := s.DeleteAllowedKeyType(ctx, modeltest.Admin, wl.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteAllowedKeyType(ctx, modeltest.Admin, wl.ID); err != models.ErrNotFound {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestKeyPolicyViewFlagsLooserEntries(t *testing.T) {
	srvID, envID := uint(1), uint(3)
	srv := models.Server{ID: srvID, EnvironmentID: envID}
	entries := []models.AllowedKeyType{
		{ID: 1, EnvironmentID: &envID, KeyType: models.KeyScopedAPIKey, MaxLifetimeDays: 30},
		{ID: 2, ServerID: &srvID, KeyType: models.KeyScopedAPIKey, MaxLifetimeDays: 60},
		{ID: 3, ServerID: &srvID, KeyType: models.KeyStaticAPIKey},
	}
	view := models.BuildKeyPolicyView(srv, entries, "prod")
	if len(view.Rows) != 2 {
		t.Fatalf("rows = %+v", view.Rows)
	}
	for _, r := range view.Rows {
		if r.Problem == "" {
			t.Errorf("entry %d looser than the environment is not flagged", r.ID)
		}
	}
}

func TestKeyTypeUniqueIndexes(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		prod, srv := policyFixture(t, s)
		// The same key type may be a default and a server entry at once.
		if _, err := s.CreateEnvironmentKeyType(ctx, modeltest.Admin, prod.ID, keyTypeInput(models.KeyScopedAPIKey, 90)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateServerKeyType(ctx, modeltest.Admin, srv.ID, keyTypeInput(models.KeyScopedAPIKey, 30)); err != nil {
			t.Fatal(err)
		}
		// The indexes refuse a duplicate that bypasses the store's check.
		insert := "INSERT INTO allowed_key_types (server_id, environment_id, key_type, rationale, created_at, updated_at) VALUES (?, ?, ?, 'raw insert', ?, ?)"
		if s.Dialect() == models.DialectPostgres {
			insert = "INSERT INTO allowed_key_types (server_id, environment_id, key_type, rationale, created_at, updated_at) VALUES ($1, $2, $3, 'raw insert', $4, $5)"
		}
		now := modeltest.Epoch
		if _, err := s.SQLDB().ExecContext(ctx, insert, srv.ID, nil, "scoped_api_key", now, now); err == nil {
			t.Fatal("a second server entry of the same key type was stored")
		}
		if _, err := s.SQLDB().ExecContext(ctx, insert, nil, prod.ID, "scoped_api_key", now, now); err == nil {
			t.Fatal("a second environment default of the same key type was stored")
		}
		dev, _ := s.EnvironmentByName(ctx, "dev")
		if _, err := s.CreateEnvironmentKeyType(ctx, modeltest.Admin, dev.ID, keyTypeInput(models.KeyScopedAPIKey, 0)); err != nil {
			t.Fatal(err)
		}
	})
}

// Each server entry says how it compares with the environment's default of
// its key type, on max lifetime (0 is no limit, the longest), in one word
// that never disagrees with its Problem nor with the rule that refuses a
// looser entry (LooserThan).
func TestKeyPolicyViewComparesWithDefaults(t *testing.T) {
	srvID, envID := uint(1), uint(3)
	srv := models.Server{ID: srvID, EnvironmentID: envID}
	cases := []struct {
		name          string
		envDays, days int
		want          models.DefaultComparison
	}{
		{"shorter", 90, 30, models.Tighter},
		{"a limit where the default has none", 0, 30, models.Tighter},
		{"same", 90, 90, models.SameLimit},
		{"both without limit", 0, 0, models.SameLimit},
		{"longer", 30, 60, models.Looser},
		{"no limit where the default has one", 30, 0, models.Looser},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			view := models.BuildKeyPolicyView(srv, []models.AllowedKeyType{
				{ID: 1, EnvironmentID: &envID, KeyType: models.KeyScopedAPIKey, MaxLifetimeDays: c.envDays},
				{ID: 2, ServerID: &srvID, KeyType: models.KeyScopedAPIKey, MaxLifetimeDays: c.days},
			}, "prod")
			row := view.Rows[0]
			if row.ServerID == nil || !row.Overridden || row.Comparison != c.want {
				t.Fatalf("row = %+v, want an overriding entry compared %q", row, c.want)
			}
			looser := models.LooserThan(c.days, c.envDays, "prod") != ""
			if (row.Comparison == models.Looser) != looser || (row.Problem != "") != looser {
				t.Errorf("comparison %q, problem %q; the form's rule says looser = %v", row.Comparison, row.Problem, looser)
			}
		})
	}

	// A key type the defaults do not list is not allowed; without defaults
	// there is nothing to compare with; defaults are never compared.
	view := models.BuildKeyPolicyView(srv, []models.AllowedKeyType{
		{ID: 1, EnvironmentID: &envID, KeyType: models.KeyScopedAPIKey, MaxLifetimeDays: 90},
		{ID: 2, ServerID: &srvID, KeyType: models.KeyStaticAPIKey},
	}, "prod")
	if r := view.Rows[0]; r.Comparison != models.NotAllowed || !strings.Contains(r.Problem, "does not allow Static API key") {
		t.Errorf("key type outside the defaults: %+v", r)
	}
	if r := view.Rows[1]; !r.NotInherited || r.Comparison != models.NotCompared || r.Problem != "" {
		t.Errorf("default the server does not inherit: %+v", r)
	}
	view = models.BuildKeyPolicyView(srv, []models.AllowedKeyType{{ID: 2, ServerID: &srvID, KeyType: models.KeyStaticAPIKey}}, "prod")
	if r := view.Rows[0]; r.Comparison != models.NotCompared || r.Problem != "" {
		t.Errorf("entry in an environment without defaults: %+v", r)
	}
	view = models.BuildKeyPolicyView(srv, []models.AllowedKeyType{{ID: 1, EnvironmentID: &envID, KeyType: models.KeyScopedAPIKey}}, "prod")
	if r := view.Rows[0]; !r.Inherited || r.Comparison != models.NotCompared {
		t.Errorf("inherited default: %+v", r)
	}
}
