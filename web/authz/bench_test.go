package authz_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/authz"
)

// BenchmarkCan measures one Casbin check, uncached and from the decision cache, for a user holding roles in
// several teams, with 200 users and 20 teams loaded.
func BenchmarkCan(b *testing.B) {
	s := modeltest.OpenSQLite(b, nil)
	var teams []models.Team
	for i := 0; i < 20; i++ {
		teams = append(teams, modeltest.MustTeam(b, s, fmt.Sprintf("team-%02d", i)))
	}
	var last models.User
	for i := 0; i < 200; i++ {
		last = modeltest.MustUser(b, s, fmt.Sprintf("u%03d@example.com", i), models.RoleApprover, teams[i%20].ID)
		s.AssignRole(context.Background(), modeltest.Admin, last.ID, models.RoleGovernance, teams[(i+1)%20].ID)
	}
	a, err := authz.New(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	dom := models.TeamDomain(teams[19].ID)
	p := authz.Permission{Object: authz.ObjReviews, Action: authz.ActDecide}
	b.Run("Can/uncached", func(b *testing.B) {
		for i := 0; i < b.N; i++ { // a new domain each time: always a real Enforce
			if _, err := a.Can(last.ID, fmt.Sprintf("team:%d", 100000+i), p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Can/cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if ok, err := a.Can(last.ID, dom, p); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("CanAnywhere", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if ok, err := a.CanAnywhere(last.ID, p); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
