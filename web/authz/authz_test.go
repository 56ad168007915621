package authz_test

import (
	"context"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/authz"
)

func TestPolicyMatrix(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	teamA := modeltest.MustTeam(t, s, "team-a")
	teamB := modeltest.MustTeam(t, s, "team-b")
	admin := modeltest.MustUser(t, s, "admin@example.com", models.RoleAdmin, 0)
	gov := modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, teamA.ID)
	appr := modeltest.MustUser(t, s, "appr@example.com", models.RoleApprover, teamA.ID)
	aud := modeltest.MustUser(t, s, "aud@example.com", models.RoleAuditor, 0)
	nobody := modeltest.MustUser(t, s, "nobody@example.com", "", 0)
	a, err := authz.New(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	domA, domB := models.TeamDomain(teamA.ID), models.TeamDomain(teamB.ID)
	inventoryWrite := authz.Permission{Object: authz.ObjInventory, Action: authz.ActWrite}
	decide := authz.Permission{Object: authz.ObjReviews, Action: authz.ActDecide}
	usersWrite := authz.Permission{Object: authz.ObjUsers, Action: authz.ActWrite}
	auditRead := authz.Permission{Object: authz.ObjAudit, Action: authz.ActRead}
	cases := []struct {
		name string
		user uint
		dom  string
		perm authz.Permission
		want bool
	}{
		{"governance writes inventory in its team", gov.ID, domA, inventoryWrite, true},
		{"governance cannot write in another team", gov.ID, domB, inventoryWrite, false},
		{"governance cannot decide reviews", gov.ID, domA, decide, false},
		{"approver decides in its team", appr.ID, domA, decide, true},
		{"approver cannot decide elsewhere", appr.ID, domB, decide, false},
		{"approver cannot edit inventory", appr.ID, domA, inventoryWrite, false},
		{"org-wide admin manages users anywhere", admin.ID, domB, usersWrite, true},
		{"org-wide admin manages users org-wide", admin.ID, models.OrgWide, usersWrite, true},
		{"admin does not edit inventory", admin.ID, domA, inventoryWrite, false},
		{"auditor reads audit", aud.ID, models.OrgWide, auditRead, true},
		{"auditor cannot write users", aud.ID, models.OrgWide, usersWrite, false},
		{"user with no role can do nothing", nobody.ID, domA, auditRead, false},
	}
	for _, c := range cases {
		got, err := a.Can(c.user, c.dom, c.perm)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	if ok, _ := a.CanAnywhere(gov.ID, inventoryWrite); !ok {
		t.Error("governance should write inventory somewhere")
	}
	if _, err := a.Can(gov.ID, domA, authz.SignedIn); err == nil {
		t.Error("a pseudo-permission must be an error, not a silent answer")
	}
}

func TestEmptyPolicyDeniesEverything(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	admin := modeltest.MustUser(t, s, "admin@example.com", models.RoleAdmin, 0)
	a, err := authz.NewWithPolicy(context.Background(), s, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []string{authz.ObjUsers, authz.ObjAudit, authz.ObjInventory} {
		if ok, err := a.Can(admin.ID, models.OrgWide, authz.Permission{Object: obj, Action: authz.ActRead}); ok || err != nil {
			t.Errorf("empty policy allowed %s (err %v)", obj, err)
		}
	}
}

func TestReloadSeesNewAssignments(t *testing.T) {
	s := modeltest.OpenSQLite(t, nil)
	u := modeltest.MustUser(t, s, "late@example.com", "", 0)
	a, err := authz.New(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	p := authz.Permission{Object: authz.ObjAudit, Action: authz.ActRead}
	if ok, _ := a.Can(u.ID, models.OrgWide, p); ok {
		t.Fatal("allowed before the role was assigned")
	}
	if _, err := s.AssignRole(context.Background(), modeltest.Admin, u.ID, models.RoleAuditor, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.ReloadIfChanged(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Can(u.ID, models.OrgWide, p); !ok {
		t.Fatal("not allowed after the role was assigned and policy reloaded")
	}
}
