package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// The decision path caches tokens, servers, tools and rules; a change made
// through the same store must apply to the very next decision.
func TestDecisionCacheAppliesChangesAtOnce(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		call := f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`)
		for range 2 { // the second answer comes from the cache
			if d := f.eval(t, call); d.Outcome != models.OutcomeAllow {
				t.Fatalf("low-risk tool: %s (%s)", d.Outcome, d.Reason)
			}
		}
		rule, err := s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "no invoices",
			ToolPattern: "get_invoice", Outcome: models.RuleDeny, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if d := f.eval(t, call); d.Outcome != models.OutcomeDeny {
			t.Fatalf("after a deny rule: %s (%s)", d.Outcome, d.Reason)
		}
		if err := s.DeleteReviewRule(ctx, modeltest.Admin, rule.ID); err != nil {
			t.Fatal(err)
		}
		if d := f.eval(t, call); d.Outcome != models.OutcomeAllow {
			t.Fatalf("after deleting the rule: %s (%s)", d.Outcome, d.Reason)
		}
		tools, err := s.ToolsOfServer(ctx, f.prod.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range tools {
			if tool.Name == "get_invoice" {
				if _, err := s.SetToolRisk(ctx, modeltest.Admin, tool.ID, models.RiskHigh, "reads customer data"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if d := f.eval(t, call); d.Outcome != models.OutcomeReviewRequired {
			t.Fatalf("after raising the tool's risk: %s (%s)", d.Outcome, d.Reason)
		}

		client, secret, err := s.CreateAPIClient(ctx, modeltest.Admin, models.APIClientInput{Name: "second gateway",
			TeamID: f.team.ID, Scopes: []string{models.ScopeEvaluate}})
		if err != nil {
			t.Fatal(err)
		}
		token, _, _, err := s.IssueAPIToken(ctx, client.ClientID, secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, _, err := s.CheckAPIToken(ctx, token); err != nil {
				t.Fatalf("live token refused: %v", err)
			}
		}
		if err := s.RevokeAPIClient(ctx, modeltest.Admin, client.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CheckAPIToken(ctx, token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("token of a revoked client: %v, want refused at once", err)
		}
		other, secret, err := s.CreateAPIClient(ctx, modeltest.Admin, models.APIClientInput{Name: "third gateway",
			TeamID: f.team.ID, Scopes: []string{models.ScopeEvaluate}})
		if err != nil {
			t.Fatal(err)
		}
		token, _, _, err = s.IssueAPIToken(ctx, other.ClientID, secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CheckAPIToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		clock.Advance(16 * time.Minute)
		if _, _, err := s.CheckAPIToken(ctx, token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Fatalf("expired token: %v, want refused at once", err)
		}
	})
}

// A change made by another replica (another store on the same database) is
// seen once the cached rows' lifetime ends.
func TestDecisionCacheSeesOtherReplicasAfterTTL(t *testing.T) {
	for _, e := range modeltest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			dsn, clock := e.DSN(t), modeltest.NewClock()
			writer := modeltest.OpenDSN(t, dsn, clock)
			const ttl = 50 * time.Millisecond
			reader, err := models.Open(context.Background(), models.Options{DSN: dsn, Now: clock.Now,
				Argon2: modeltest.CheapArgon2, Fingerprinter: modeltest.TestFingerprinter(), PolicyCacheTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			f := newRuntimeFixture(t, writer, clock)
			call := f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`)
			if d, err := reader.Evaluate(ctx, f.client, call); err != nil || d.Outcome != models.OutcomeAllow {
				t.Fatalf("before the rule: %v %v", d.Outcome, err)
			}
			if _, err := writer.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID,
				Name: "no invoices", ToolPattern: "get_invoice", Outcome: models.RuleDeny, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(ttl + 10*time.Millisecond)
			if d, err := reader.Evaluate(ctx, f.client, call); err != nil || d.Outcome != models.OutcomeDeny {
				t.Fatalf("after the other replica's deny rule and the cache lifetime: %v %v", d.Outcome, err)
			}
		})
	}
}

// Decisions made at the same time are each recorded once, with their own
// id (the recorder commits them in groups).
func TestConcurrentDecisionsAreAllRecorded(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		const n = 50
		ids := make([]uint, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`)
				in.Subject = fmt.Sprintf("agent-%d", i) // each id must name its own caller's record
				d, err := s.Evaluate(ctx, f.client, in)
				if err != nil || d.Outcome != models.OutcomeAllow {
					t.Errorf("call %d: %v %v", i, d.Outcome, err)
				}
				ids[i] = d.ID
			}()
		}
		wg.Wait()
		seen := map[uint]bool{}
		for _, id := range ids {
			if id == 0 || seen[id] {
				t.Fatalf("decision ids %v: want %d distinct non-zero ids", ids, n)
			}
			seen[id] = true
		}
		page, err := s.Decisions(ctx, models.DecisionFilter{ListParams: models.ListParams{PerPage: 100}, Scope: models.AllTeams})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != n {
			t.Fatalf("%d decisions recorded, want %d", page.Total, n)
		}
		byID := map[uint]models.DecisionRecord{}
		for _, rec := range page.Items {
			if !seen[rec.ID] || rec.Outcome != models.OutcomeAllow || rec.Resource != "billing-prod/get_invoice" || rec.ClientID == nil {
				t.Fatalf("recorded %+v", rec)
			}
			byID[rec.ID] = rec
		}
		for i, id := range ids {
			if got := byID[id].Subject; got != fmt.Sprintf("agent-%d", i) {
				t.Errorf("decision %d (caller %d) records subject %q", id, i, got)
			}
		}
	})
}

// Closing the store while decisions are in flight loses none that were
// answered: every decision with an id is in the log when the database is
// opened again, every other one is a deny, and no caller is left waiting.
func TestDecisionsInFlightAtCloseAreRecordedOrDenied(t *testing.T) {
	for _, e := range modeltest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			dsn, clock := e.DSN(t), modeltest.NewClock()
			s := modeltest.OpenDSN(t, dsn, clock)
			f := newRuntimeFixture(t, s, clock)
			const callers, perCaller = 20, 200
			results := make([][]models.Decision, callers)
			var answered atomic.Int64
			var wg sync.WaitGroup
			for i := range callers {
				wg.Add(1)
				go func() { // each caller decides until it is denied (the store closed)
					defer wg.Done()
					in := f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`)
					in.Subject = fmt.Sprintf("agent-%d", i)
					for range perCaller {
						d, _ := s.Evaluate(ctx, f.client, in)
						results[i] = append(results[i], d)
						answered.Add(1)
						if d.Outcome != models.OutcomeAllow {
							return
						}
					}
				}()
			}
			for answered.Load() < 100 {
				time.Sleep(time.Millisecond)
			}
			s.Close()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("decisions still waiting 30 s after the store was closed")
			}
			reopened := modeltest.OpenDSN(t, dsn, clock)
			logged := map[uint]string{} // the reopened log: id → subject
			for p := 1; ; p++ {
				page, err := reopened.Decisions(ctx, models.DecisionFilter{ListParams: models.ListParams{Page: p, PerPage: 100}, Scope: models.AllTeams})
				if err != nil {
					t.Fatal(err)
				}
				for _, rec := range page.Items {
					logged[rec.ID] = rec.Subject
				}
				if len(page.Items) == 0 || len(logged) >= int(page.Total) {
					break
				}
			}
			recorded, denied := 0, 0
			for i, ds := range results {
				for _, d := range ds {
					if d.ID == 0 {
						if d.Outcome != models.OutcomeDeny {
							t.Fatalf("caller %d was answered %s without a recorded decision", i, d.Outcome)
						}
						denied++
						continue
					}
					recorded++
					if logged[d.ID] != fmt.Sprintf("agent-%d", i) {
						t.Fatalf("caller %d was answered %s with decision %d, which the log does not hold", i, d.Outcome, d.ID)
					}
				}
			}
			if len(logged) != recorded {
				t.Errorf("the log holds %d decisions, callers were answered with %d", len(logged), recorded)
			}
			t.Logf("%d decisions recorded, %d denied once the store closed", recorded, denied)
			if recorded < 100 || denied == 0 {
				t.Errorf("%d recorded and %d denied: the store closed before or after every call", recorded, denied)
			}
		})
	}
}
