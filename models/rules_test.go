package models

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// ruleFixture is a small inventory: one sensitive prod server, one quiet dev
// server, an owner, and an environment policy for prod.
func ruleFixture() InventorySnapshot {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return InventorySnapshot{
		Now:          now,
		Environments: map[uint]Environment{1: {ID: 1, Name: "dev"}, 3: {ID: 3, Name: "prod", Sensitive: true}},
		Servers: []Server{
			{ID: 10, Slug: "billing-prod", TeamID: 1, EnvironmentID: 3, Status: ServerActive, WriteActions: true, OwnerID: ptr(uint(7)), Hosting: HostingSelf},
			{ID: 11, Slug: "notes-dev", TeamID: 1, EnvironmentID: 1, Status: ServerActive, OwnerID: ptr(uint(7)), Hosting: HostingSelf},
		},
		Policies: []AllowedKeyType{
			{ID: 1, EnvironmentID: ptr(uint(3)), KeyType: KeyOAuthDelegated},
			{ID: 2, EnvironmentID: ptr(uint(1)), KeyType: KeyStaticAPIKey},
			{ID: 3, EnvironmentID: ptr(uint(1)), KeyType: KeyShortLivedToken},
		},
		CredentialServers: map[uint][]uint{},
		ActiveUsers:       map[uint]bool{7: true},
		RotationGrace:     72 * time.Hour,
	}
}

func expiry() *time.Time { t := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); return &t }

func keysOf(fs []FindingResult) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}

func TestEvaluateFindingsRules(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(s *InventorySnapshot)
		want  []string
		check func(t *testing.T, fs []FindingResult)
	}{
		{name: "clean inventory has no findings", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{{ID: 1, Name: "oauth", TeamID: 1, EnvironmentID: 3, KeyType: KeyOAuthDelegated, Status: CredentialActive, OwnerID: ptr(uint(7))}}
			s.CredentialServers[1] = []uint{10}
		}},
		{name: "CS-001 and CS-006 static key on a prod write server", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{{ID: 1, Name: "stripe", TeamID: 1, EnvironmentID: 3, KeyType: KeyStaticAPIKey, Status: CredentialActive, OwnerID: ptr(uint(7)), ExpiresAt: expiry()}}
			s.CredentialServers[1] = []uint{10}
		}, want: []string{"CS-001|credential:1|server:10", "CS-006|credential:1|server:10"},
			check: func(t *testing.T, fs []FindingResult) {
				if fs[0].Severity != SeverityHigh || !strings.Contains(fs[0].Detail, "performs writes") {
					t.Errorf("CS-001 = %+v", fs[0])
				}
				if !strings.Contains(fs[1].Detail, "allowed: OAuth (user-delegated)") {
					t.Errorf("CS-006 detail = %q", fs[1].Detail)
				}
			}},
		{name: "static key on a quiet dev server allowed by policy is fine", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{{ID: 1, Name: "k", TeamID: 1, EnvironmentID: 1, KeyType: KeyStaticAPIKey, Status: CredentialActive, OwnerID: ptr(uint(7)), ExpiresAt: expiry()}}
			s.CredentialServers[1] = []uint{11}
		}},
		{name: "a server's own policy replaces the environment's", edit: func(s *InventorySnapshot) {
			s.Policies = append(s.Policies, AllowedKeyType{ID: 9, ServerID: ptr(uint(11)), KeyType: KeyShortLivedToken})
			s.Credentials = []Credential{{ID: 1, Name: "k", TeamID: 1, EnvironmentID: 1, KeyType: KeyStaticAPIKey, Status: CredentialActive, OwnerID: ptr(uint(7)), ExpiresAt: expiry()}}
			s.CredentialServers[1] = []uint{11}
		}, want: []string{"CS-006|credential:1|server:11"}},
		{name: "CS-006 on a server with no policy at all", edit: func(s *InventorySnapshot) {
			s.Policies = nil
			s.Credentials = []Credential{{ID: 1, Name: "t", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive, OwnerID: ptr(uint(7))}}
			s.CredentialServers[1] = []uint{11}
		}, want: []string{"CS-006|credential:1|server:11"}, check: func(t *testing.T, fs []FindingResult) {
			if !strings.Contains(fs[0].Detail, "no documented key policy") {
				t.Errorf("detail = %q", fs[0].Detail)
			}
		}},
		{name: "CS-002 and CS-003 one secret in two environments and on two servers", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{
				{ID: 1, Name: "a", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive, OwnerID: ptr(uint(7)), Fingerprint: "ff"},
				{ID: 2, Name: "b", TeamID: 1, EnvironmentID: 3, KeyType: KeyOAuthDelegated, Status: CredentialActive, OwnerID: ptr(uint(7)), Fingerprint: "ff"},
				{ID: 3, Name: "other", TeamID: 1, EnvironmentID: 3, KeyType: KeyOAuthDelegated, Status: CredentialActive, OwnerID: ptr(uint(7)), Fingerprint: "ee"},
			}
			s.CredentialServers[1] = []uint{11}
			s.CredentialServers[2] = []uint{10}
			s.CredentialServers[3] = []uint{10}
		}, want: []string{"CS-002|credential:1", "CS-002|credential:2", "CS-003|credential:1", "CS-003|credential:2"},
			check: func(t *testing.T, fs []FindingResult) {
				if fs[0].Severity != SeverityCritical || !strings.Contains(fs[0].Detail, "dev, prod") {
					t.Errorf("CS-002 = %+v", fs[0])
				}
			}},
		{name: "a revoked duplicate is not reuse", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{
				{ID: 1, Name: "a", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive, OwnerID: ptr(uint(7)), Fingerprint: "ff"},
				{ID: 2, Name: "b", TeamID: 1, EnvironmentID: 3, KeyType: KeyOAuthDelegated, Status: CredentialRevoked, OwnerID: ptr(uint(7)), Fingerprint: "ff"},
			}
			s.CredentialServers[1] = []uint{11}
			s.CredentialServers[2] = []uint{10}
		}},
		{name: "one credential on two servers is CS-003", edit: func(s *InventorySnapshot) {
			s.Policies = nil
			s.Credentials = []Credential{{ID: 1, Name: "a", TeamID: 1, EnvironmentID: 1, KeyType: KeyWorkloadIdentity, Status: CredentialActive, OwnerID: ptr(uint(7)), Fingerprint: "ff"}}
			s.CredentialServers[1] = []uint{10, 11}
		}, want: []string{"CS-003|credential:1", "CS-006|credential:1|server:10", "CS-006|credential:1|server:11"}},
		{name: "CS-004 scoped key without expiry", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{{ID: 1, Name: "k", TeamID: 1, EnvironmentID: 1, KeyType: KeyScopedAPIKey, Status: CredentialActive, OwnerID: ptr(uint(7))}}
		}, want: []string{"CS-004|credential:1"}},
		{name: "CS-005 only after the grace period", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{
				{ID: 1, Name: "late", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive, OwnerID: ptr(uint(7)), NextDueAt: ptr(s.Now.Add(-73 * time.Hour))},
				{ID: 2, Name: "in-grace", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive, OwnerID: ptr(uint(7)), NextDueAt: ptr(s.Now.Add(-71 * time.Hour))},
			}
		}, want: []string{"CS-005|credential:1"}},
		{name: "CS-007 servers and credentials without an active owner", edit: func(s *InventorySnapshot) {
			s.Servers[1].OwnerID = nil
			s.Servers[0].OwnerID = ptr(uint(8))
			s.Credentials = []Credential{{ID: 1, Name: "k", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive}}
		}, want: []string{"CS-007|credential:1", "CS-007|server:10", "CS-007|server:11"}},
		{name: "CS-008 vendor-hosted server with a static key", edit: func(s *InventorySnapshot) {
			s.Servers[1].Hosting, s.Servers[1].VendorName = HostingVendor, "Acme"
			s.Credentials = []Credential{{ID: 1, Name: "k", TeamID: 1, EnvironmentID: 1, KeyType: KeyStaticAPIKey, Status: CredentialActive, OwnerID: ptr(uint(7)), ExpiresAt: expiry()}}
			s.CredentialServers[1] = []uint{11}
		}, want: []string{"CS-008|server:11|credential:1"}},
		{name: "CS-009 high-risk tools without review rules, CS-011 changed tool", edit: func(s *InventorySnapshot) {
			s.Tools = []Tool{
				{ID: 1, ServerID: 10, Name: "refund", DestructiveHint: ptr(true), ReadOnlyHint: ptr(false)},
				{ID: 2, ServerID: 10, Name: "read", ReadOnlyHint: ptr(true), OpenWorldHint: ptr(false)},
				{ID: 3, ServerID: 11, Name: "edit", ReadOnlyHint: ptr(true), OpenWorldHint: ptr(false), DefinitionHash: "b", ReviewedHash: "a"},
			}
		}, want: []string{"CS-009|server:10", "CS-009|server:11", "CS-011|tool:3"}},
		{name: "CS-009 not raised when a review rule covers the tools", edit: func(s *InventorySnapshot) {
			s.Tools = []Tool{{ID: 1, ServerID: 10, Name: "refund", DestructiveHint: ptr(true)}}
			s.ReviewCovered = func(Server, Tool) bool { return true }
		}},
		{name: "CS-010 secret exposed in a client config", edit: func(s *InventorySnapshot) {
			s.Credentials = []Credential{{ID: 1, Name: "gh", TeamID: 1, EnvironmentID: 1, KeyType: KeyShortLivedToken, Status: CredentialActive, OwnerID: ptr(uint(7)), ExposedIn: "claude_desktop_config.json: env.GITHUB_TOKEN"}}
		}, want: []string{"CS-010|credential:1"}},
		{name: "retired servers and revoked credentials are out of scope", edit: func(s *InventorySnapshot) {
			s.Servers[0].Status = ServerRetired
			s.Servers[0].OwnerID = nil
			s.Tools = []Tool{{ID: 1, ServerID: 10, Name: "refund", DestructiveHint: ptr(true)}}
			s.Credentials = []Credential{
				{ID: 1, Name: "k", TeamID: 1, EnvironmentID: 3, KeyType: KeyStaticAPIKey, Status: CredentialActive, OwnerID: ptr(uint(7)), ExpiresAt: expiry()},
				{ID: 2, Name: "old", TeamID: 1, EnvironmentID: 3, KeyType: KeyStaticAPIKey, Status: CredentialRevoked, ExposedIn: "x"},
			}
			s.CredentialServers[1] = []uint{10}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ruleFixture()
			tc.edit(&s)
			got := EvaluateFindings(s)
			if strings.Join(keysOf(got), " ") != strings.Join(tc.want, " ") {
				t.Fatalf("findings = %v, want %v", keysOf(got), tc.want)
			}
			for _, f := range got {
				r, ok := RuleCatalog().Rule(f.RuleID)
				if !ok || f.Severity != r.Severity || f.TeamID == 0 || f.ObjectID == 0 || f.Detail == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestCatalogMapsEveryRule(t *testing.T) {
	c := RuleCatalog()
	var ids []string
	for _, r := range c.Rules {
		ids = append(ids, r.ID)
		if len(c.ControlsOf(r.ID)) == 0 || r.Explanation == "" || r.Title == "" {
			t.Errorf("rule %s has no controls, title or explanation", r.ID)
		}
	}
	sort.Strings(ids)
	want := "CS-001 CS-002 CS-003 CS-004 CS-005 CS-006 CS-007 CS-008 CS-009 CS-010 CS-011"
	if strings.Join(ids, " ") != want {
		t.Fatalf("rules = %v", ids)
	}
	if got := c.RulesOfControl("NHI9"); strings.Join(got, ",") != "CS-002,CS-003" {
		t.Errorf("NHI9 rules = %v", got)
	}
	if _, err := parseCatalog([]byte(`{"frameworks":[],"rules":[{"id":"CS-1","severity":"high","controls":["X"]}]}`)); err == nil {
		t.Error("a rule mapped to an unknown control is accepted")
	}
}

// scaleSnapshot builds an inventory of n servers with 10 credentials and 3
// tools each; every 50th secret is reused.
func scaleSnapshot(n int) InventorySnapshot {
	s := ruleFixture()
	s.Servers, s.Credentials, s.Tools = nil, nil, nil
	s.CredentialServers = make(map[uint][]uint, n*10)
	for i := 1; i <= n; i++ {
		env := uint(1 + 2*(i%2))
		s.Servers = append(s.Servers, Server{ID: uint(i), Slug: fmt.Sprintf("srv-%d", i), TeamID: uint(1 + i%3), EnvironmentID: env,
			Status: ServerActive, WriteActions: i%4 == 0, OwnerID: ptr(uint(7))})
		for j := 0; j < 3; j++ {
			s.Tools = append(s.Tools, Tool{ID: uint(i*3 + j), ServerID: uint(i), Name: fmt.Sprintf("t%d", j), ReadOnlyHint: ptr(j > 0)})
		}
		for j := 0; j < 10; j++ {
			id := uint(i*10 + j)
			kt := KeyTypes[j%len(KeyTypes)]
			s.Credentials = append(s.Credentials, Credential{ID: id, Name: fmt.Sprintf("c%d", id), TeamID: uint(1 + i%3), EnvironmentID: env,
				KeyType: kt, Status: CredentialActive, OwnerID: ptr(uint(7)), Fingerprint: fmt.Sprintf("fp%d", id%(uint(n)*10-uint(n)/5))})
			s.CredentialServers[id] = []uint{uint(i)}
		}
	}
	return s
}

func BenchmarkEvaluateFindings(b *testing.B) {
	s := scaleSnapshot(10_000)
	b.ResetTimer()
	for b.Loop() {
		fs := EvaluateFindings(s)
		if len(fs) == 0 {
			b.Fatal("no findings")
		}
	}
}
