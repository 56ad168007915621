package models

import (
	"context"
	"errors"
	"fmt"
)

// SeedSummary reports what a seed created.
type SeedSummary struct {
	Teams    int
	Users    []string
	Password string
	Skipped  bool
}

// demoTeams and demoPeople form a small, plausible organisation.
var demoTeams = []TeamInput{
	{Slug: "payments", Name: "Payments", Description: "Billing, refunds and the payment gateways."},
	{Slug: "support", Name: "Customer Support", Description: "Support tooling and the ticket desk agents."},
	{Slug: "data-platform", Name: "Data Platform", Description: "Warehouse, pipelines and analytics agents."},
}

var demoPeople = []struct {
	email, name string
	role        Role
	team        string // "" for org-wide
}{
	{"grace.governance@example.com", "Grace Hopper", RoleGovernance, "payments"},
	{"grace.governance@example.com", "", RoleGovernance, "support"},
	{"dana.data@example.com", "Dana Scully", RoleGovernance, "data-platform"},
	{"amir.approver@example.com", "Amir Khan", RoleApprover, "payments"},
	{"bea.approver@example.com", "Bea Santos", RoleApprover, "payments"},
	{"bea.approver@example.com", "", RoleApprover, "support"},
	{"carl.approver@example.com", "Carl Jung", RoleApprover, "data-platform"},
	{"maya.manager@example.com", "Maya Patel", RoleManager, "payments"},
	{"maya.manager@example.com", "", RoleManager, "support"},
	{"maya.manager@example.com", "", RoleManager, "data-platform"},
	{"olu.auditor@example.com", "Olu Adeyemi", RoleAuditor, ""},
}

// SeedDemo loads the demo organisation: teams and one person per role. All
// demo users share password (which the caller prints once). It does nothing
// when the demo teams exist already.
func (s *Store) SeedDemo(ctx context.Context, password string) (SeedSummary, error) {
	sum := SeedSummary{Password: password}
	actor := SystemActor("seed")
	if _, err := s.TeamBySlug(ctx, demoTeams[0].Slug); err == nil {
		sum.Skipped = true
		return sum, nil
	} else if !errors.Is(err, ErrNotFound) {
		return sum, err
	}
	teams := map[string]uint{}
	for _, in := range demoTeams {
		t, err := s.CreateTeam(ctx, actor, in)
		if err != nil {
			return sum, fmt.Errorf("seed team %s: %w", in.Slug, err)
		}
		teams[t.Slug] = t.ID
		sum.Teams++
	}
	users := map[string]uint{}
	for _, p := range demoPeople {
		id, ok := users[p.email]
		if !ok {
			u, err := s.CreateUser(ctx, actor, NewUser{Email: p.email, Name: p.name, Password: password})
			if err != nil {
				return sum, fmt.Errorf("seed user %s: %w", p.email, err)
			}
			id, users[p.email] = u.ID, u.ID
			sum.Users = append(sum.Users, fmt.Sprintf("%s (%s)", p.email, p.role))
		}
		if _, err := s.AssignRole(ctx, actor, id, p.role, teams[p.team]); err != nil {
			return sum, fmt.Errorf("seed role of %s: %w", p.email, err)
		}
	}
	return sum, nil
}
