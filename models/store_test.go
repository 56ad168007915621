package models_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

var ctx = context.Background()

func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	for _, writer := range []bool{true, false} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": "1",
		} {
			got, err := s.Pragma(ctx, pragma, writer)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("writer=%v: PRAGMA %s = %q, want %q", writer, pragma, got, want)
			}
		}
	}
	if got, _ := s.Pragma(ctx, "query_only", false); got != "1" {
		t.Errorf("reader pool is not query_only: %q", got)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v == "" {
			t.Fatalf("schema version = %q, %v", v, err)
		}
	})
}

func TestOpenUnreachablePostgresFailsClearly(t *testing.T) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := models.Open(ctx, models.Options{DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"})
	if err == nil {
		t.Fatal("open of an unreachable PostgreSQL succeeded")
	}
}

func TestUsersCreateAuthenticateDeactivate(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "payments")
		u := modeltest.MustUser(t, s, "Ana@Example.com", models.RoleApprover, team.ID)
		if u.Email != "ana@example.com" {
			t.Errorf("email not normalised: %q", u.Email)
		}
		_, err := s.CreateUser(ctx, modeltest.Admin, models.NewUser{Email: "ana@example.com", Name: "Ana", Password: "another long password"})
		if v, ok := models.AsValidation(err); !ok || !v.Has("email") {
			t.Fatalf("duplicate email: got %v, want a validation error on email", err)
		}
		if _, err := s.Authenticate(ctx, "ana@example.com", "wrong password!!"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("wrong password: %v", err)
		}
		if _, err := s.Authenticate(ctx, "nobody@example.com", "whatever password"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("unknown user: %v", err)
		}
		if got, err := s.Authenticate(ctx, "ANA@example.com ", "correct horse battery"); err != nil || got.ID != u.ID {
			t.Fatalf("right password: %v", err)
		}
		token, _, err := s.CreateSession(ctx, modeltest.Admin, u.ID, "127.0.0.1", "test", models.DefaultSessionPolicy)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionUser(ctx, token, models.DefaultSessionPolicy); err != nil {
			t.Fatalf("fresh session: %v", err)
		}
		if err := s.DeactivateUser(ctx, modeltest.Admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionUser(ctx, token, models.DefaultSessionPolicy); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("session of a deactivated user still works: %v", err)
		}
		if _, err := s.Authenticate(ctx, "ana@example.com", "correct horse battery"); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("deactivated user signed in: %v", err)
		}
		if err := s.DeactivateUser(ctx, modeltest.Admin, u.ID); !errors.Is(err, models.ErrInvalidTransition) {
			t.Errorf("second deactivate: %v", err)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		u := modeltest.MustUser(t, s, "bo@example.com", models.RoleAdmin, 0)
		policy := models.SessionPolicy{Lifetime: 3 * time.Hour, IdleTimeout: time.Hour}
		token, _, err := s.CreateSession(ctx, modeltest.Admin, u.ID, "", "", policy)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // used every 50 minutes: stays alive while within the lifetime
			clock.Advance(50 * time.Minute)
			if _, _, err := s.SessionUser(ctx, token, policy); err != nil {
				t.Fatalf("active session ended after %d uses: %v", i+1, err)
			}
		}
		clock.Advance(61 * time.Minute)
		if _, _, err := s.SessionUser(ctx, token, policy); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("idle session still valid: %v", err)
		}
		token2, _, _ := s.CreateSession(ctx, modeltest.Admin, u.ID, "", "", policy)
		other, _, _ := s.CreateSession(ctx, modeltest.Admin, u.ID, "", "", policy)
		if n, err := s.EndAllSessions(ctx, modeltest.Admin, u.ID); err != nil || n != 2 {
			t.Fatalf("sign out everywhere ended %d sessions, %v", n, err)
		}
		for _, tok := range []string{token2, other} {
			if _, _, err := s.SessionUser(ctx, tok, policy); !errors.Is(err, models.ErrUnauthenticated) {
				t.Errorf("session survived sign out everywhere")
			}
		}
	})
}

func TestRoleScopeRules(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "core")
		u := modeltest.MustUser(t, s, "cy@example.com", "", 0)
		cases := []struct {
			role    models.Role
			team    uint
			wantErr bool
		}{
			{models.RoleAdmin, 0, false},
			{models.RoleAuditor, 0, false},
			{models.RoleApprover, 0, true},
			{models.RoleGovernance, 0, true},
			{models.RoleManager, team.ID, false},
			{models.RoleManager, team.ID, true}, // duplicate
			{models.Role("root"), team.ID, true},
			{models.RoleApprover, 9999, true},
		}
		for _, c := range cases {
			_, err := s.AssignRole(ctx, modeltest.Admin, u.ID, c.role, c.team)
			if (err != nil) != c.wantErr {
				t.Errorf("assign %s in %d: err=%v, wantErr=%v", c.role, c.team, err, c.wantErr)
			}
			if err != nil {
				if _, ok := models.AsValidation(err); !ok {
					t.Errorf("assign %s in %d: %v is not a validation error", c.role, c.team, err)
				}
			}
		}
		roles, err := s.RolesOfUser(ctx, u.ID)
		if err != nil || len(roles) != 3 {
			t.Fatalf("roles = %d, %v; want 3", len(roles), err)
		}
	})
}

func TestAuditChainVerifiesAndDetectsTampering(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		for i := 0; i < 5; i++ {
			clock.Advance(time.Second)
			modeltest.MustTeam(t, s, "team-"+string(rune('a'+i)))
		}
		res, err := s.VerifyAudit(ctx)
		if err != nil || !res.OK || res.Events != 5 {
			t.Fatalf("fresh chain: %+v, %v", res, err)
		}
		page, err := s.AuditEvents(ctx, models.AuditFilter{})
		if err != nil || page.Total != 5 || page.Items[0].Hash != res.HeadHash {
			t.Fatalf("list: total %d, head %q vs %q, %v", page.Total, page.Items[0].Hash, res.HeadHash, err)
		}
		if err := s.TamperAuditForTest(ctx, 3, "after", `{"slug":"forged"}`); err != nil {
			t.Fatal(err)
		}
		res, err = s.VerifyAudit(ctx)
		if err != nil || res.OK || res.FirstBad != 3 {
			t.Fatalf("tampered chain: %+v, %v; want first bad event 3", res, err)
		}
	})
}

func TestAuditAppendsAreSerialised(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, _ *modeltest.Clock) {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- s.Audit(ctx, modeltest.Admin, models.AuditEntry{Action: "test.concurrent", ObjectType: "test", ObjectID: string(rune('a' + i))})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent append: %v", err)
			}
		}
		res, err := s.VerifyAudit(ctx)
		if err != nil || !res.OK || res.Events != 20 {
			t.Fatalf("after concurrent appends: %+v, %v", res, err)
		}
	})
}

func TestSecretFreeDatabaseFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := models.Open(ctx, models.Options{DSN: filepath.Join(dir, "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, modeltest.Admin, models.NewUser{Email: "d@example.com", Name: "D", Password: "plaintext-password-123"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x.db", "x.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(b, []byte("plaintext-password-123")) {
			t.Errorf("%s holds the plaintext password", name)
		}
	}
}

// A missing name and a long one get their own messages.
func TestNameProblemsAreNamed(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	_, err := s.CreateTeam(ctx, modeltest.Admin, models.TeamInput{Slug: "ops", Name: ""})
	if v, ok := models.AsValidation(err); !ok || v.Fields["name"] != "Enter a name." {
		t.Errorf("empty name: %v", err)
	}
	_, err = s.CreateTeam(ctx, modeltest.Admin, models.TeamInput{Slug: "ops", Name: strings.Repeat("é", 121)})
	if v, ok := models.AsValidation(err); !ok || v.Fields["name"] != "Use at most 120 characters (this name has 121)." {
		t.Errorf("long name: %v", err)
	}
}
