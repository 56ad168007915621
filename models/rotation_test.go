package models_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// rotationFixture is a team with a governance person, an owner and one
// scheduled credential.
type rotationFixture struct {
	s          *models.Store
	clock      *modeltest.Clock
	team       models.Team
	gov, owner models.User
	cred       models.Credential
}

func newRotationFixture(t *testing.T, s *models.Store, clock *modeltest.Clock, spec, zone string) *rotationFixture {
	t.Helper()
	f := &rotationFixture{s: s, clock: clock}
	f.team = modeltest.MustTeam(t, s, "payments")
	f.gov = modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, f.team.ID)
	f.owner = modeltest.MustUser(t, s, "owner@example.com", models.RoleApprover, f.team.ID)
	prod, _ := s.EnvironmentByName(ctx, "prod")
	last := clock.Now()
	var err error
	f.cred, err = s.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: "stripe prod", TeamID: f.team.ID,
		EnvironmentID: prod.ID, KeyType: models.KeyScopedAPIKey, OwnerID: f.owner.ID, LastRotatedAt: &last,
		RotationSpec: spec, RotationTZ: zone, Secret: "sk_live_" + strings.Repeat("a1", 16)})
	if err != nil {
		t.Fatal(err)
	}
	if f.cred.NextDueAt == nil {
		t.Fatal("no next due time")
	}
	return f
}

func (f *rotationFixture) check(t *testing.T) models.RotationCheck {
	t.Helper()
	res, err := f.s.RunRotationDueCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *rotationFixture) openTasks(t *testing.T) []models.RotationTaskRow {
	t.Helper()
	page, err := f.s.RotationTasks(ctx, models.RotationTaskFilter{Scope: models.AllTeams})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func outboxEvents(t *testing.T, s *models.Store) []string {
	t.Helper()
	msgs, err := s.OutboxMessages(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(msgs) - 1; i >= 0; i-- {
		out = append(out, msgs[i].Event)
	}
	return out
}

// Due → task → overdue → escalation → completion, with a fake clock.
func TestRotationLifecycle(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRotationFixture(t, s, clock, "0 9 * * 1", "UTC") // Mondays 09:00
		due := *f.cred.NextDueAt
		if want := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC); !due.Equal(want) {
			t.Fatalf("next due %s, want %s", due, want)
		}
		clock.Set(due.Add(-time.Minute))
		if res := f.check(t); res.Due != 0 {
			t.Fatalf("a minute early: %+v", res)
		}
		clock.Set(due)
		if res := f.check(t); res.Due != 1 || res.Overdue != 0 {
			t.Fatalf("at the due time: %+v, want one due task", res)
		}
		if res := f.check(t); res.Due != 0 {
			t.Fatalf("second run: %+v, want nothing new", res)
		}
		tasks := f.openTasks(t)
		if len(tasks) != 1 || tasks[0].State != models.TaskDue || !tasks[0].DueAt.Equal(due) || tasks[0].CredentialName != "stripe prod" {
			t.Fatalf("tasks %+v", tasks)
		}
		task := tasks[0]
		if ev := outboxEvents(t, s); len(ev) != 1 || ev[0] != models.EventRotationDue {
			t.Fatalf("outbox %v, want rotation.due", ev)
		}

		clock.Set(due.Add(models.DefaultRotationGrace - time.Minute))
		if res := f.check(t); res.Overdue != 0 {
			t.Fatalf("inside the grace period: %+v", res)
		}
		clock.Set(due.Add(models.DefaultRotationGrace))
		if res := f.check(t); res.Overdue != 1 {
			t.Fatalf("after the grace period: %+v, want one overdue", res)
		}
		got, err := s.RotationTaskByID(ctx, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != models.TaskOverdue || got.EscalatedTo != "gov@example.com" || got.OverdueAt == nil {
			t.Fatalf("overdue task %+v: want escalated to the team's governance", got)
		}
		if ev := outboxEvents(t, s); len(ev) != 2 || ev[1] != models.EventRotationOverdue {
			t.Fatalf("outbox %v, want rotation.overdue", ev)
		}
		if _, err := s.RecomputeFindings(ctx); err != nil {
			t.Fatal(err)
		}
		if !hasOpenFinding(t, s, "CS-005") {
			t.Fatal("an overdue rotation has no CS-005 finding")
		}

		// The same secret is not a rotation; an empty form is refused.
		actor := models.Actor{UserID: f.owner.ID, Label: f.owner.Email}
		if _, err := s.CompleteRotation(ctx, actor, task.ID, models.RotationByConfirm, models.RotationCompletion{Secret: "sk_live_" + strings.Repeat("a1", 16)}); !isValidation(err, "secret") {
			t.Fatalf("same secret: %v", err)
		}
		if _, err := s.CompleteRotation(ctx, actor, task.ID, models.RotationByConfirm, models.RotationCompletion{}); !isValidation(err, "note") {
			t.Fatalf("empty completion: %v", err)
		}
		clock.Advance(time.Hour)
		now := clock.Now()
		done, err := s.CompleteRotation(ctx, actor, task.ID, models.RotationByConfirm, models.RotationCompletion{Secret: "sk_live_" + strings.Repeat("b2", 16)})
		if err != nil {
			t.Fatal(err)
		}
		if done.State != models.TaskCompleted || done.Method != models.RotationBySecret || !done.Late(now) {
			t.Fatalf("completed %+v", done)
		}
		cred, err := s.CredentialByID(ctx, f.cred.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantNext := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
		if cred.LastRotatedAt == nil || !cred.LastRotatedAt.Equal(now) || cred.NextDueAt == nil || !cred.NextDueAt.Equal(wantNext) || cred.Last4 != "b2b2" {
			t.Fatalf("after rotation: last %v next %v last4 %q, want %s / %s", cred.LastRotatedAt, cred.NextDueAt, cred.Last4, now, wantNext)
		}
		// Completing twice is refused and changes nothing.
		clock.Advance(time.Hour)
		if _, err := s.CompleteRotation(ctx, actor, task.ID, models.RotationByConfirm, models.RotationCompletion{Note: "again"}); !errors.Is(err, models.ErrInvalidTransition) {
			t.Fatalf("second completion: %v, want ErrInvalidTransition", err)
		}
		again, _ := s.CredentialByID(ctx, f.cred.ID)
		if !again.LastRotatedAt.Equal(*cred.LastRotatedAt) {
			t.Fatal("a refused completion moved the last rotation")
		}
		if _, err := s.RecomputeFindings(ctx); err != nil {
			t.Fatal(err)
		}
		if hasOpenFinding(t, s, "CS-005") {
			t.Fatal("CS-005 still open after the rotation")
		}
		if len(f.openTasks(t)) != 0 {
			t.Fatal("the completed task is still listed as open")
		}
	})
}

func isValidation(err error, field string) bool {
	v, ok := models.AsValidation(err)
	return ok && v.Fields[field] != ""
}

func hasOpenFinding(t *testing.T, s *models.Store, rule string) bool {
	t.Helper()
	page, err := s.Findings(ctx, models.FindingFilter{Scope: models.AllTeams, RuleID: rule})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total > 0
}

// A daily 02:30 rotation across the spring-forward and fall-back nights of
// Europe/Berlin and America/New_York: every local day gets exactly one
// rotation task, driven through the due check minute by minute (in 10-minute
// steps) with each task completed as soon as it appears.
func TestRotationDueCheckAcrossDST(t *testing.T) {
	cases := []struct {
		zone  string
		start time.Time // a few days before a transition, local midnight
	}{
		{"Europe/Berlin", time.Date(2026, 3, 27, 0, 0, 0, 0, mustZone(t, "Europe/Berlin"))},        // spring forward 2026-03-29
		{"Europe/Berlin", time.Date(2026, 10, 23, 0, 0, 0, 0, mustZone(t, "Europe/Berlin"))},       // fall back 2026-10-25
		{"America/New_York", time.Date(2026, 3, 6, 0, 0, 0, 0, mustZone(t, "America/New_York"))},   // spring forward 2026-03-08
		{"America/New_York", time.Date(2026, 10, 30, 0, 0, 0, 0, mustZone(t, "America/New_York"))}, // fall back 2026-11-01
	}
	for _, c := range cases {
		t.Run(c.zone+"/"+c.start.Format("2006-01"), func(t *testing.T) {
			modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
				clock.Set(c.start.UTC())
				f := newRotationFixture(t, s, clock, "30 2 * * *", c.zone)
				actor := models.Actor{UserID: f.owner.ID, Label: f.owner.Email}
				perDay := map[string]int{}
				end := c.start.AddDate(0, 0, 4)
				for now := c.start; now.Before(end); now = now.Add(10 * time.Minute) {
					clock.Set(now.UTC())
					f.check(t)
					for _, task := range f.openTasks(t) {
						perDay[task.DueAt.In(c.start.Location()).Format("2006-01-02")]++
						if _, err := s.CompleteRotation(ctx, actor, task.ID, models.RotationByConfirm, models.RotationCompletion{Note: "rotated"}); err != nil {
							t.Fatal(err)
						}
					}
				}
				for d := 0; d < 4; d++ {
					day := c.start.AddDate(0, 0, d).Format("2006-01-02")
					if perDay[day] != 1 {
						t.Errorf("%s %s: %d rotations, want exactly 1 (all: %v)", c.zone, day, perDay[day], perDay)
					}
				}
			})
		})
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A rotation webhook callback is accepted only with the credential's
// signature over the exact body; the due task notifies the webhook.
func TestRotationCallbackSignature(t *testing.T) {
	clock := modeltest.NewClock()
	s := modeltest.OpenSQLite(t, clock)
	f := newRotationFixture(t, s, clock, "0 9 * * 1", "UTC")
	if err := s.SetRotationWebhook(ctx, modeltest.Admin, f.cred.ID, "https://vault.example.com/rotate"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRotationWebhook(ctx, modeltest.Admin, f.cred.ID, "ftp://nope"); !isValidation(err, "rotation_webhook_url") {
		t.Fatalf("bad webhook URL: %v", err)
	}
	clock.Set(*f.cred.NextDueAt)
	if res := f.check(t); res.Due != 1 {
		t.Fatalf("%+v", res)
	}
	msgs, _ := s.OutboxMessages(ctx, "", 10)
	webhook := 0
	for _, m := range msgs {
		if m.CredentialID != nil && *m.CredentialID == f.cred.ID && m.Event == models.EventRotationDue {
			webhook++
		}
	}
	if webhook != 1 {
		t.Fatalf("%d webhook messages, want 1", webhook)
	}
	task := f.openTasks(t)[0]
	body := []byte(`{"note":"rotated by vault"}`)
	sig, err := s.SignRotationCallback(f.cred.ID, body)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"no signature":    {body, ""},
		"wrong signature": {body, "sha256=" + strings.Repeat("0", 64)},
		"other body":      {[]byte(`{"note":"x"}`), sig},
	} {
		if _, err := s.VerifyRotationCallback(ctx, task.ID, c.body, c.sig); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", name, err)
		}
	}
	if _, err := s.VerifyRotationCallback(ctx, task.ID, body, sig); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	if secret, _ := s.RotationWebhookSecret(f.cred.ID); strings.Contains(string(mustDump(t, s)), secret) {
		t.Fatal("the webhook secret is stored in the database")
	}
}

// mustDump returns every text value of the tables that could hold a secret.
func mustDump(t *testing.T, s *models.Store) []byte {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"credentials", "rotation_tasks", "outbox_messages", "audit_events"} {
		var rows []map[string]any
		if err := s.RawForTest(ctx).Table(table).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for _, v := range r {
				if str, ok := v.(string); ok {
					b.WriteString(str + "\n")
				}
			}
		}
	}
	return []byte(b.String())
}
