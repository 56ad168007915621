package models_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// A small fixture whose rotation compliance is computed by hand:
// payments/prod: one rotation on time, one late; growth/dev: one missed
// (overdue now); one credential of growth/dev falls due next week.
func TestRotationComplianceReport(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		payments := modeltest.MustTeam(t, s, "payments")
		growth := modeltest.MustTeam(t, s, "growth")
		prod, _ := s.EnvironmentByName(ctx, "prod")
		dev, _ := s.EnvironmentByName(ctx, "dev")
		gov := modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, payments.ID)
		start := clock.Now() // Monday 2026-03-02 09:00 UTC
		mk := func(name string, team models.Team, env models.Environment, last time.Time) models.Credential {
			c, err := s.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: name, TeamID: team.ID, EnvironmentID: env.ID,
				KeyType: models.KeyScopedAPIKey, LastRotatedAt: &last, RotationSpec: "0 9 * * 1", RotationTZ: "UTC"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		mk("on time", payments, prod, start)
		mk("late", payments, prod, start)
		mk("missed", growth, dev, start)
		due := start.AddDate(0, 0, 7) // the three fall due Monday 2026-03-09 09:00
		clock.Set(due)
		if res, err := s.RunRotationDueCheck(ctx); err != nil || res.Due != 3 {
			t.Fatalf("due check: %+v %v", res, err)
		}
		tasks, _ := s.RotationTasks(ctx, models.RotationTaskFilter{Scope: models.AllTeams})
		byName := map[string]uint{}
		for _, r := range tasks.Items {
			byName[r.CredentialName] = r.ID
		}
		actor := models.Actor{UserID: gov.ID, Label: gov.Email}
		clock.Set(due.Add(2 * time.Hour))
		if _, err := s.CompleteRotation(ctx, actor, byName["on time"], models.RotationByConfirm, models.RotationCompletion{Note: "done"}); err != nil {
			t.Fatal(err)
		}
		clock.Set(due.Add(models.DefaultRotationGrace + time.Hour))
		if _, err := s.RunRotationDueCheck(ctx); err != nil { // "late" and "missed" become overdue
			t.Fatal(err)
		}
		if _, err := s.CompleteRotation(ctx, actor, byName["late"], models.RotationByConfirm, models.RotationCompletion{Note: "done late"}); err != nil {
			t.Fatal(err)
		}
		// A credential of growth/dev whose first rotation is next week.
		mk("upcoming", growth, dev, clock.Now())

		rep, err := s.RotationComplianceReport(ctx, models.RotationComplianceFilter{Scope: models.AllTeams,
			From: start, To: clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rep.Rows {
			got[r.TeamName+"/"+r.EnvironmentName] = fmtRow(r)
		}
		want := map[string]string{"Payments/prod": "1 1 0 0", "Growth/dev": "0 0 1 1"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: on-time late missed overdue-now = %q, want %q", k, got[k], v)
			}
		}
		if len(rep.Rows) != 2 || fmtRow(rep.Total) != "1 1 1 1" {
			t.Errorf("rows %v total %q", got, fmtRow(rep.Total))
		}
		if share := rep.Total.OnTimeShare(); share < 0.333 || share > 0.334 {
			t.Errorf("on-time share %.3f, want 1/3", share)
		}
		// Upcoming: "on time" and "late" fall due again next Monday, and so
		// does "upcoming": three in week 0 ... counted from now.
		sum := 0
		for _, n := range rep.Upcoming {
			sum += n
		}
		if sum != 3 || len(rep.Upcoming) != 8 {
			t.Errorf("upcoming %v, want 3 rotations over 8 weeks", rep.Upcoming)
		}
		// Scope and filters.
		only, _ := s.RotationComplianceReport(ctx, models.RotationComplianceFilter{Scope: models.TeamScope{IDs: []uint{growth.ID}},
			From: start, To: clock.Now().Add(time.Hour)})
		if len(only.Rows) != 1 || only.Rows[0].TeamName != "Growth" {
			t.Errorf("scoped to growth: %+v", only.Rows)
		}
		none, _ := s.RotationComplianceReport(ctx, models.RotationComplianceFilter{Scope: models.AllTeams, EnvironmentID: prod.ID,
			TeamID: growth.ID, From: start, To: clock.Now()})
		if len(none.Rows) != 0 {
			t.Errorf("growth in prod: %+v", none.Rows)
		}
		_ = dev
	})
}

func fmtRow(r models.RotationComplianceRow) string {
	return fmt.Sprint(r.OnTime, " ", r.Late, " ", r.Missed, " ", r.OverdueNow)
}

// The history seed fills the report with real completed rotations and is
// idempotent.
func TestSeedRotationHistory(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "payments")
		prod, _ := s.EnvironmentByName(ctx, "prod")
		for _, name := range []string{"a", "b", "c"} {
			last := clock.Now()
			if _, err := s.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: name, TeamID: team.ID, EnvironmentID: prod.ID,
				KeyType: models.KeyScopedAPIKey, LastRotatedAt: &last, RotationSpec: "0 9 * * 1", RotationTZ: "Europe/Berlin"}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.SeedRotationHistory(ctx, clock.Now(), 90)
		if err != nil || n < 3*12 {
			t.Fatalf("seeded %d tasks (%v), want about 13 per credential", n, err)
		}
		if again, err := s.SeedRotationHistory(ctx, clock.Now(), 90); err != nil || again != 0 {
			t.Fatalf("second run: %d %v, want nothing", again, err)
		}
		rep, err := s.RotationComplianceReport(ctx, models.RotationComplianceFilter{Scope: models.AllTeams,
			From: clock.Now().AddDate(0, 0, -90), To: clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total.Completed() != n || rep.Total.OnTime == 0 || rep.Total.Late == 0 {
			t.Fatalf("report after the seed: %+v (seeded %d)", rep.Total, n)
		}
		c, _ := s.CredentialByID(ctx, 1)
		if c.NextDueAt == nil || !c.NextDueAt.After(*c.LastRotatedAt) {
			t.Fatalf("credential after the seed: last %v next %v", c.LastRotatedAt, c.NextDueAt)
		}
	})
}
