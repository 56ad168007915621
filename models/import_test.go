package models_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

func TestApplyImport(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "platform")
		dev, err := s.EnvironmentByName(ctx, "dev")
		if err != nil {
			t.Fatal(err)
		}
		// A server already holds the slug "github": the import gets github-2.
		if _, err := s.CreateServer(ctx, modeltest.Admin, serverInput(team.ID, dev.ID, "github")); err != nil {
			t.Fatal(err)
		}
		preview, err := models.ParseMCPConfig(readSample(t, "claude_desktop_config.json"), s.Fingerprinter())
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.ApplyImport(ctx, modeltest.Admin, preview, team.ID, dev.ID, "/Users/ana/Library/claude_desktop_config.json")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Servers) != 4 || len(res.Credentials) != 3 {
			t.Fatalf("created %d servers, %d credentials", len(res.Servers), len(res.Credentials))
		}
		if res.Renamed["mcpServers.github"] != "github-2" {
			t.Errorf("renamed = %v", res.Renamed)
		}
		for _, srv := range res.Servers {
			got, err := s.ServerByID(ctx, srv.ID)
			if err != nil || got.Status != models.ServerDraft || got.TeamID != team.ID || got.EnvironmentID != dev.ID {
				t.Errorf("server %s = %+v, %v", srv.Slug, got, err)
			}
		}
		gh, err := s.ServerBySlug(ctx, "github-2")
		if err != nil {
			t.Fatal(err)
		}
		creds, err := s.CredentialsOfServer(ctx, gh.ID)
		if err != nil || len(creds) != 1 {
			t.Fatalf("credentials of github-2: %v %v", creds, err)
		}
		c := creds[0]
		wantFP := s.Fingerprinter().Fingerprint(sampleGitHubToken)
		if c.Fingerprint != wantFP || c.Last4 != sampleGitHubToken[len(sampleGitHubToken)-4:] || c.Status != models.CredentialActive ||
			c.Source != "import" || c.KeyType != models.KeyStaticAPIKey || c.Name != "github-2 env.GITHUB_PERSONAL_ACCESS_TOKEN" ||
			c.ExposedIn != "claude_desktop_config.json: mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN" {
			t.Errorf("credential = %+v", c)
		}
		// Audited, without a secret.
		events, err := s.AuditOf(ctx, "credential", c.ID, 10)
		if err != nil || len(events) != 1 || events[0].Action != "credential.create" {
			t.Fatalf("audit of credential: %+v %v", events, err)
		}
		if events, _ := s.AuditOf(ctx, "server", gh.ID, 10); len(events) != 1 || events[0].Action != "server.create" {
			t.Errorf("audit of server: %+v", events)
		}
		page, err := s.AuditEvents(ctx, models.AuditFilter{ListParams: models.ListParams{PerPage: 100}})
		if err != nil {
			t.Fatal(err)
		}
		sawApply := false
		for _, e := range page.Items {
			all := e.Before + e.After + e.ObjectID
			for _, plain := range []string{sampleGitHubToken, sampleSlackToken, sampleLinearKey} {
				if strings.Contains(all, plain) || strings.Contains(all, plain[4:len(plain)-4]) {
					t.Errorf("audit event %s holds a secret: %s", e.Action, all)
				}
			}
			sawApply = sawApply || e.Action == "import.apply"
		}
		if !sawApply {
			t.Error("no import.apply event")
		}
		// The same preview cannot be applied twice.
		if _, err := s.ApplyImport(ctx, modeltest.Admin, preview, team.ID, dev.ID, "x.json"); !errors.Is(err, models.ErrConflict) {
			t.Errorf("second apply: %v", err)
		}
		// A fresh preview of the same file imports again; the same fingerprint
		// is recorded twice (that is what reuse detection looks for).
		again, _ := models.ParseMCPConfig(readSample(t, "claude_desktop_config.json"), s.Fingerprinter())
		res2, err := s.ApplyImport(ctx, modeltest.Admin, again, team.ID, dev.ID, "")
		if err != nil || res2.Servers[0].Slug != "github-3" || res2.Credentials[0].Fingerprint != wantFP {
			t.Errorf("second import: %+v %v", res2.Servers, err)
		}
		if !strings.HasPrefix(res2.Credentials[0].ExposedIn, "pasted configuration: ") {
			t.Errorf("exposed in = %q", res2.Credentials[0].ExposedIn)
		}
	})
}

func TestApplyImportIsAllOrNothing(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	team := modeltest.MustTeam(t, s, "platform")
	preview, err := models.ParseMCPConfig(readSample(t, "claude_desktop_config.json"), s.Fingerprinter())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ApplyImport(ctx, modeltest.Admin, preview, team.ID, 9999, "x.json")
	if v, ok := models.AsValidation(err); !ok || !v.Has("environment") {
		t.Fatalf("unknown environment: %v", err)
	}
	if _, err := s.ServerBySlug(ctx, "github"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("a server was left behind: %v", err)
	}
}

func TestSignVerify(t *testing.T) {
	fp := modeltest.TestFingerprinter()
	tag := fp.Sign("import", []byte("payload"))
	if !fp.Verify("import", []byte("payload"), tag) {
		t.Error("a good tag is refused")
	}
	if fp.Verify("import", []byte("payload!"), tag) || fp.Verify("other", []byte("payload"), tag) || fp.Verify("import", []byte("payload"), tag+"x") {
		t.Error("a bad tag is accepted")
	}
	if tag == fp.Fingerprint("payload") {
		t.Error("a signature equals a fingerprint")
	}
}
