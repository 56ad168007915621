package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// fakePoster records posts and fails while fail is set.
type fakePoster struct {
	mu    sync.Mutex
	posts map[string][]string
	fail  bool
}

func (p *fakePoster) Post(_ context.Context, url string, body []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("connection refused")
	}
	if p.posts == nil {
		p.posts = map[string][]string{}
	}
	p.posts[url] = append(p.posts[url], string(body))
	return nil
}

func TestOutboxDeliveryToChannelsWithRetries(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		for _, in := range []models.NotificationChannelInput{
			{TeamID: f.team.ID, Name: "ops", Kind: models.ChannelWebhook, URL: "https://hooks.example.com/ops", Enabled: true},
			{TeamID: f.team.ID, Name: "slack", Kind: models.ChannelSlack, URL: "https://hooks.slack.com/x", Events: "review.requested", Enabled: true},
		} {
			if _, err := s.CreateNotificationChannel(ctx, modeltest.Admin, in); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CreateNotificationChannel(ctx, modeltest.Admin, models.NotificationChannelInput{TeamID: f.team.ID, Name: "x",
			Kind: "email", URL: "ftp://x"}); err == nil {
			t.Error("bad channel accepted")
		}
		f.eval(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-7"}`))
		p := &fakePoster{fail: true}
		res, err := s.DeliverOutbox(ctx, p, 100)
		if err != nil || res.Retried != 1 {
			t.Fatalf("failing delivery: %+v %v", res, err)
		}
		if res, _ := s.DeliverOutbox(ctx, p, 100); res.Retried+res.Sent != 0 {
			t.Errorf("retried before its backoff: %+v", res)
		}
		p.fail = false
		clock.Advance(models.RetryBackoff(1))
		if res, err := s.DeliverOutbox(ctx, p, 100); err != nil || res.Sent != 1 {
			t.Fatalf("delivery after backoff: %+v %v", res, err)
		}
		var generic map[string]any
		if len(p.posts["https://hooks.example.com/ops"]) != 1 || json.Unmarshal([]byte(p.posts["https://hooks.example.com/ops"][0]), &generic) != nil ||
			generic["event"] != models.EventReviewRequested {
			t.Errorf("generic payload: %v", p.posts)
		}
		if slack := p.posts["https://hooks.slack.com/x"]; len(slack) != 1 || !strings.Contains(slack[0], `"text":"*Review pending`) {
			t.Errorf("slack payload: %v", slack)
		}
		// A message that always fails ends as failed after the last attempt.
		f.eval(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-8"}`))
		p.fail = true
		for i := 0; i < models.MaxDeliveryAttempts; i++ {
			if _, err := s.DeliverOutbox(ctx, p, 100); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Hour)
		}
		failed, _ := s.OutboxMessages(ctx, models.OutboxFailed, 10)
		if len(failed) != 1 || failed[0].LastError == "" {
			t.Fatalf("failed messages: %+v", failed)
		}
		if err := s.RetryOutboxMessage(ctx, modeltest.Admin, failed[0].ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFiftyApproversAndConsumersAtOnce: 50 goroutines approve (as 50
// approvers of a 1-approval request) and then 50 consume: one approval
// wins, one grant, one consumption, no error, the audit chain intact.
func TestFiftyApproversAndConsumersAtOnce(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		call := f.call("billing-prod/refund_payment", `{"invoice":"INV-7"}`)
		d := f.eval(t, call)
		approvers := make([]models.User, 50)
		for i := range approvers {
			approvers[i] = modeltest.MustUser(t, s, "approver"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com", models.RoleApprover, f.team.ID)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		results := map[string]int{}
		for i := 0; i < 50; i++ {
			wg.Add(2)
			go func(u models.User) {
				defer wg.Done()
				_, err := s.ApproveReview(ctx, as(u), d.Review.ID, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					results["approved"]++
				case errors.Is(err, models.ErrInvalidTransition):
					results["too late"]++
				default:
					results["error: "+err.Error()]++
				}
			}(approvers[i])
			go func() {
				defer wg.Done()
				dec, err := s.Evaluate(ctx, f.client, call)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					results["eval error: "+err.Error()]++
				} else if dec.Outcome == models.OutcomeAllow {
					results["consumed"]++
				}
			}()
		}
		wg.Wait()
		if results["approved"] != 1 || results["too late"] != 49 || results["consumed"] > 1 || len(results) > 3 {
			t.Errorf("results: %v", results)
		}
		grants, _ := s.Grants(ctx, models.GrantFilter{Scope: models.AllTeams})
		if len(grants) != 1 {
			t.Errorf("grants: %d, want 1", len(grants))
		}
		if results["consumed"] == 0 {
			if dec := f.eval(t, call); dec.Outcome != models.OutcomeAllow {
				t.Errorf("grant not usable after the race: %+v", dec)
			}
		}
		if dec := f.eval(t, call); dec.Outcome == models.OutcomeAllow {
			t.Error("grant consumed twice")
		}
		if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
			t.Errorf("audit chain: %+v %v", v, err)
		}
	})
}
