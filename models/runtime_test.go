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

// runtimeFixture is a team with a prod server holding a high-risk, a
// medium-risk and a low-risk tool, a dev server, an API client, and users.
type runtimeFixture struct {
	s                  *models.Store
	clock              *modeltest.Clock
	team, other        models.Team
	prod, dev, foreign models.Server
	client             models.APIClient
	ana, bob, cy, gov  models.User
}

func newRuntimeFixture(t *testing.T, s *models.Store, clock *modeltest.Clock) *runtimeFixture {
	t.Helper()
	f := &runtimeFixture{s: s, clock: clock}
	f.team = modeltest.MustTeam(t, s, "payments")
	f.other = modeltest.MustTeam(t, s, "growth")
	prodEnv, _ := s.EnvironmentByName(ctx, "prod")
	devEnv, _ := s.EnvironmentByName(ctx, "dev")
	yes, no := true, false
	mk := func(slug string, team models.Team, env models.Environment) models.Server {
		srv, err := s.CreateServer(ctx, modeltest.Admin, models.ServerInput{Slug: slug, Name: slug, TeamID: team.ID,
			EnvironmentID: env.ID, Transport: models.TransportStdio, Status: models.ServerActive, DataClasses: "financial"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []models.ToolDefinition{
			{Name: "refund_payment", Annotations: &models.ToolHints{DestructiveHint: &yes}},
			{Name: "update_note", Annotations: &models.ToolHints{ReadOnlyHint: &no, DestructiveHint: &no}},
			{Name: "get_invoice", Annotations: &models.ToolHints{ReadOnlyHint: &yes, OpenWorldHint: &no}},
		} {
			if _, err := s.AddTool(ctx, modeltest.Admin, srv.ID, d); err != nil {
				t.Fatal(err)
			}
		}
		return srv
	}
	f.prod, f.dev, f.foreign = mk("billing-prod", f.team, prodEnv), mk("billing-dev", f.team, devEnv), mk("growth-prod", f.other, prodEnv)
	var err error
	f.client, _, err = s.CreateAPIClient(ctx, modeltest.Admin, models.APIClientInput{Name: "gateway", TeamID: f.team.ID, Scopes: []string{models.ScopeEvaluate}})
	if err != nil {
		t.Fatal(err)
	}
	f.ana = modeltest.MustUser(t, s, "ana@example.com", models.RoleApprover, f.team.ID)
	f.bob = modeltest.MustUser(t, s, "bob@example.com", models.RoleApprover, f.team.ID)
	f.cy = modeltest.MustUser(t, s, "cy@example.com", models.RoleApprover, f.team.ID)
	f.gov = modeltest.MustUser(t, s, "gov@example.com", models.RoleGovernance, f.team.ID)
	return f
}

func (f *runtimeFixture) call(resource string, args string) models.EvaluationRequest {
	return models.EvaluationRequest{Subject: "support-bot", SubjectType: "agent", OnBehalfOf: "ana@example.com",
		Action: models.ActionToolsCall, Resource: resource, Arguments: json.RawMessage(args), TaskID: "T-1", Justification: "ticket 4411"}
}

func (f *runtimeFixture) eval(t *testing.T, in models.EvaluationRequest) models.Decision {
	t.Helper()
	d, err := f.s.Evaluate(ctx, f.client, in)
	if err != nil {
		t.Fatalf("evaluate %s: %v", in.Resource, err)
	}
	return d
}

func as(u models.User) models.Actor { return models.Actor{UserID: u.ID, Label: u.Email} }

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true}, {"refund_*", "refund_payment", true}, {"refund_*", "get_refund", false},
		{"billing-?rod", "billing-prod", true}, {"*-prod", "billing-prod", true}, {"*-prod", "billing-dev", false},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false}, {"files/*", "files/a/b", true}, {"REFUND_*", "refund_x", true},
		{"", "", true}, {"", "x", false},
	} {
		if got := models.GlobMatch(c.pattern, c.s); got != c.want {
			t.Errorf("GlobMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestMatchRulesOrderAndConditions(t *testing.T) {
	env := uint(3)
	facts := models.CallFacts{ServerID: 7, ServerSlug: "billing-prod", ToolName: "refund_payment", EnvironmentID: env,
		Risk: models.RiskHigh, DataClasses: []string{"financial"}, Subject: "support-bot"}
	rule := func(id uint, pos int, out models.RuleOutcome, mod func(*models.ReviewRule)) models.ReviewRule {
		r := models.ReviewRule{ID: id, Position: pos, Name: "r", Outcome: out, Enabled: true}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	cases := []struct {
		name  string
		rules []models.ReviewRule
		want  uint
	}{
		{"none", nil, 0},
		{"first allow/review wins", []models.ReviewRule{rule(1, 1, models.RuleReview, nil), rule(2, 2, models.RuleAllow, nil)}, 1},
		{"deny beats earlier review", []models.ReviewRule{rule(1, 1, models.RuleReview, nil), rule(2, 2, models.RuleDeny, nil)}, 2},
		{"disabled ignored", []models.ReviewRule{rule(1, 1, models.RuleDeny, func(r *models.ReviewRule) { r.Enabled = false }), rule(2, 2, models.RuleAllow, nil)}, 2},
		{"tool glob miss", []models.ReviewRule{rule(1, 1, models.RuleDeny, func(r *models.ReviewRule) { r.ToolPattern = "delete_*" })}, 0},
		{"server glob hit", []models.ReviewRule{rule(1, 1, models.RuleReview, func(r *models.ReviewRule) { r.ServerPattern = "*-prod" })}, 1},
		{"server id miss", []models.ReviewRule{rule(1, 1, models.RuleReview, func(r *models.ReviewRule) { other := uint(8); r.ServerID = &other })}, 0},
		{"environment miss", []models.ReviewRule{rule(1, 1, models.RuleReview, func(r *models.ReviewRule) { e := uint(1); r.EnvironmentID = &e })}, 0},
		{"min risk high hit", []models.ReviewRule{rule(1, 1, models.RuleReview, func(r *models.ReviewRule) { r.MinRisk = models.RiskHigh })}, 1},
		{"data class miss", []models.ReviewRule{rule(1, 1, models.RuleReview, func(r *models.ReviewRule) { r.DataClass = "pii" })}, 0},
		{"subject glob", []models.ReviewRule{rule(1, 1, models.RuleDeny, func(r *models.ReviewRule) { r.SubjectPattern = "support-*" })}, 1},
		{"position beats id", []models.ReviewRule{rule(1, 5, models.RuleAllow, nil), rule(2, 1, models.RuleReview, nil)}, 2},
	}
	for _, c := range cases {
		m := models.MatchRules(c.rules, facts)
		got := uint(0)
		if m.Rule != nil {
			got = m.Rule.ID
		}
		if got != c.want {
			t.Errorf("%s: matched rule %d, want %d", c.name, got, c.want)
		}
	}
	low := facts
	low.Risk = models.RiskMedium
	if m := models.MatchRules([]models.ReviewRule{rule(1, 1, models.RuleReview, func(r *models.ReviewRule) { r.MinRisk = models.RiskHigh })}, low); m.Rule != nil {
		t.Error("min risk high matched a medium-risk call")
	}
}

func TestEvaluateDefaultsAndFailClosed(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		for _, c := range []struct {
			resource string
			want     models.DecisionOutcome
		}{
			{"billing-prod/get_invoice", models.OutcomeAllow},
			{"billing-prod/update_note", models.OutcomeReviewRequired}, // medium in sensitive prod
			{"billing-dev/update_note", models.OutcomeAllow},
			{"billing-prod/refund_payment", models.OutcomeReviewRequired},
			{"billing-dev/refund_payment", models.OutcomeReviewRequired},
			{"nowhere/refund_payment", models.OutcomeDeny},
			{"billing-prod/no_such_tool", models.OutcomeDeny},
		} {
			d := f.eval(t, f.call(c.resource, `{"a":1}`))
			if d.Outcome != c.want {
				t.Errorf("%s: %s (%s), want %s", c.resource, d.Outcome, d.Reason, c.want)
			}
			if d.ID == 0 {
				t.Errorf("%s: decision not recorded", c.resource)
			}
		}
		if _, err := s.Evaluate(ctx, f.client, f.call("growth-prod/get_invoice", `{}`)); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("other team's server: %v, want ErrForbidden", err)
		}
		bad := f.call("billing-prod", `{}`)
		if _, err := s.Evaluate(ctx, f.client, bad); err == nil {
			t.Error("resource without a tool accepted")
		}
		in := models.ServerInput{Slug: f.dev.Slug, Name: f.dev.Name, TeamID: f.team.ID, EnvironmentID: f.dev.EnvironmentID,
			Transport: models.TransportStdio, Status: models.ServerRetired}
		if _, err := s.UpdateServer(ctx, modeltest.Admin, f.dev.ID, in); err != nil {
			t.Fatal(err)
		}
		if d := f.eval(t, f.call("billing-dev/get_invoice", `{}`)); d.Outcome != models.OutcomeDeny {
			t.Errorf("retired server: %s", d.Outcome)
		}
		page, err := s.Decisions(ctx, models.DecisionFilter{Scope: models.AllTeams})
		if err != nil || page.Total != 8 {
			t.Errorf("decisions recorded = %d, %v; want 8", page.Total, err)
		}
		// An internal error (here: the request's context is gone) is a deny.
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		d, err := s.Evaluate(cancelled, f.client, f.call("billing-prod/get_invoice", `{}`))
		if err != nil || d.Outcome != models.OutcomeDeny || !strings.Contains(d.Reason, "internal error") {
			t.Errorf("internal error: %+v %v, want a deny (fail closed)", d, err)
		}
	})
}

func TestReviewRulesDecide(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		deny, err := s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "no refunds on dev",
			ServerPattern: "*-dev", ToolPattern: "refund_*", Outcome: models.RuleDeny, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "notes are fine",
			ToolPattern: "update_note", Outcome: models.RuleAllow, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if d := f.eval(t, f.call("billing-dev/refund_payment", `{}`)); d.Outcome != models.OutcomeDeny || d.RuleID == nil || *d.RuleID != deny.ID {
			t.Errorf("deny rule: %+v", d)
		}
		if d := f.eval(t, f.call("billing-prod/update_note", `{}`)); d.Outcome != models.OutcomeAllow {
			t.Errorf("allow rule: %+v", d)
		}
		test, err := s.TestReviewRules(ctx, f.team.ID, "billing-dev/refund_payment", "any")
		if err != nil || test.Match.Rule == nil || test.Match.Rule.ID != deny.ID || test.Outcome != models.OutcomeDeny {
			t.Errorf("test rules: %+v, %v", test, err)
		}
		_, err = s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "x", Outcome: "maybe"})
		if v, ok := models.AsValidation(err); !ok || !v.Has("outcome") {
			t.Errorf("bad outcome: %v", err)
		}
		_, err = s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "x", Outcome: models.RuleReview,
			GrantTTL: 48 * time.Hour, ApprovalsNeeded: 9})
		if v, ok := models.AsValidation(err); !ok || !v.Has("grant_ttl") || !v.Has("approvals_needed") {
			t.Errorf("caps: %v", err)
		}
		if err := s.MoveReviewRule(ctx, modeltest.Admin, deny.ID, 1); err != nil {
			t.Fatal(err)
		}
		rules, _ := s.ReviewRules(ctx, models.AllTeams)
		if len(rules) != 2 || rules[1].ID != deny.ID {
			t.Errorf("move down: %+v", rules)
		}
		// CS-009 coverage: the deny rule covers refund_payment on billing-dev only.
		covered, err := s.ReviewCoverage(ctx)
		if err != nil || covered == nil {
			t.Fatal(err)
		}
		tools, _ := s.ToolsOfServer(ctx, f.dev.ID)
		for _, tl := range tools {
			if got := covered(f.dev, tl); got != (tl.Name == "refund_payment") {
				t.Errorf("coverage of %s = %v", tl.Name, got)
			}
		}
	})
}

func TestReviewSeparationOfDutiesAndThreshold(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		if _, err := s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "two for refunds",
			ToolPattern: "refund_*", MinRisk: models.RiskHigh, Outcome: models.RuleReview, ApprovalsNeeded: 2, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		call := f.call("billing-prod/refund_payment", `{"invoice":"INV-7","amount":120,"api_key":"sk_live_abcdefghijklmnopqrstuvwx"}`)
		d := f.eval(t, call)
		if d.Outcome != models.OutcomeReviewRequired || d.Review == nil || d.Review.ApprovalsNeeded != 2 {
			t.Fatalf("first call: %+v", d)
		}
		if again := f.eval(t, call); again.Review == nil || again.Review.ID != d.Review.ID {
			t.Fatalf("same pending call opened another request")
		}
		rv := d.Review
		if want := `"[masked]"`; !contains(rv.ArgumentSummary, want) || contains(rv.ArgumentSummary, "sk_live") {
			t.Errorf("summary not redacted: %s", rv.ArgumentSummary)
		}
		if _, err := s.ApproveReview(ctx, as(f.ana), rv.ID, ""); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("on-behalf-of user approved: %v", err)
		}
		if _, err := s.ApproveReview(ctx, as(f.gov), rv.ID, ""); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("governance user approved: %v", err)
		}
		outsider := modeltest.MustUser(t, s, "out@example.com", models.RoleApprover, f.other.ID)
		if _, err := s.ApproveReview(ctx, as(outsider), rv.ID, ""); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("approver of another team approved: %v", err)
		}
		got, err := s.ApproveReview(ctx, as(f.bob), rv.ID, "ok")
		if err != nil || got.Status != models.ReviewPending || got.Approvals != 1 {
			t.Fatalf("first approval: %+v, %v", got, err)
		}
		if _, err := s.ApproveReview(ctx, as(f.bob), rv.ID, "again"); !errors.Is(err, models.ErrInvalidTransition) {
			t.Errorf("second approval by the same person: %v", err)
		}
		if d := f.eval(t, call); d.Outcome != models.OutcomeReviewRequired {
			t.Errorf("1 of 2 approvals allowed the call")
		}
		got, err = s.ApproveReview(ctx, as(f.cy), rv.ID, "")
		if err != nil || got.Status != models.ReviewApproved {
			t.Fatalf("second approval: %+v, %v", got, err)
		}
		if _, err := s.DenyReview(ctx, as(f.cy), rv.ID, "late"); !errors.Is(err, models.ErrInvalidTransition) {
			t.Errorf("decision on an approved request: %v", err)
		}
		allowed := f.eval(t, call)
		if allowed.Outcome != models.OutcomeAllow || allowed.Grant == nil || allowed.Grant.Uses != 1 {
			t.Fatalf("approved call: %+v", allowed)
		}
		if d := f.eval(t, call); d.Outcome != models.OutcomeReviewRequired || d.Review.ID == rv.ID {
			t.Errorf("grant used twice or old request reused: %+v", d)
		}
		other := call
		other.Arguments = json.RawMessage(`{"invoice":"INV-8","amount":120}`)
		if d := f.eval(t, other); d.Outcome != models.OutcomeReviewRequired {
			t.Errorf("other arguments allowed")
		}
		// Deny: comment required, one deny ends it.
		d2 := f.eval(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-9"}`))
		if _, err := s.DenyReview(ctx, as(f.bob), d2.Review.ID, " "); err == nil {
			t.Error("deny without a comment accepted")
		}
		denied, err := s.DenyReview(ctx, as(f.bob), d2.Review.ID, "not this one")
		if err != nil || denied.Status != models.ReviewDenied {
			t.Fatalf("deny: %+v %v", denied, err)
		}
		if _, err := s.ApproveReview(ctx, as(f.cy), d2.Review.ID, ""); !errors.Is(err, models.ErrInvalidTransition) {
			t.Errorf("approve after deny: %v", err)
		}
		msgs, _ := s.OutboxMessages(ctx, "", 100)
		events := map[string]int{}
		for _, m := range msgs {
			events[m.Event]++
		}
		if events[models.EventReviewRequested] < 3 || events[models.EventReviewDecided] < 2 {
			t.Errorf("outbox events: %v", events)
		}
		if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
			t.Errorf("audit chain: %+v %v", v, err)
		}
	})
}

// approvedGrant opens a request for call and approves it (1 approval).
func (f *runtimeFixture) approvedGrant(t *testing.T, call models.EvaluationRequest) models.ReviewRequest {
	t.Helper()
	d := f.eval(t, call)
	if d.Review == nil {
		t.Fatalf("no review opened: %+v", d)
	}
	r, err := f.s.ApproveReview(ctx, as(f.bob), d.Review.ID, "")
	if err != nil || r.Status != models.ReviewApproved {
		t.Fatalf("approve: %+v %v", r, err)
	}
	return r
}

func TestGrantConsumedExactlyOnceUnderRace(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		call := f.call("billing-prod/refund_payment", `{"invoice":"INV-7"}`)
		f.approvedGrant(t, call)
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[models.DecisionOutcome]int{}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := s.Evaluate(ctx, f.client, call)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					outcomes["error"]++
					return
				}
				outcomes[d.Outcome]++
			}()
		}
		wg.Wait()
		if outcomes[models.OutcomeAllow] != 1 || outcomes[models.OutcomeReviewRequired] != 19 {
			t.Errorf("outcomes of 20 racing calls: %v; want exactly one allow", outcomes)
		}
		page, _ := s.ReviewRequests(ctx, models.ReviewFilter{Scope: models.AllTeams, Status: models.ReviewPending})
		if page.Total != 1 {
			t.Errorf("pending requests after the race: %d, want 1 (same call, same request)", page.Total)
		}
		if v, err := s.VerifyAudit(ctx); err != nil || !v.OK {
			t.Errorf("audit chain: %+v %v", v, err)
		}
	})
}

func TestTaskCompletionAndExpiry(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		call := f.call("billing-prod/refund_payment", `{"invoice":"INV-7"}`)
		f.approvedGrant(t, call)
		pending := f.eval(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-8"}`))
		done, err := s.CompleteTask(ctx, modeltest.Admin, f.team.ID, "T-1")
		if err != nil || done.GrantsRevoked != 1 || done.ReviewsCancelled != 1 {
			t.Fatalf("complete task: %+v %v", done, err)
		}
		if d := f.eval(t, call); d.Outcome == models.OutcomeAllow {
			t.Error("revoked grant still used")
		}
		if r, _ := s.ReviewRequestByID(ctx, pending.Review.ID); r.Status != models.ReviewCancelled {
			t.Errorf("pending request of the task: %s", r.Status)
		}
		// Expiry of requests and grants.
		f.approvedGrant(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-10"}`))
		late := f.eval(t, f.call("billing-prod/refund_payment", `{"invoice":"INV-11"}`))
		clock.Advance(2 * time.Hour)
		if _, err := s.ApproveReview(ctx, as(f.bob), late.Review.ID, ""); !errors.Is(err, models.ErrInvalidTransition) {
			t.Errorf("approval after the deadline: %v", err)
		}
		if n, err := s.ExpireReviews(ctx); err != nil || n < 1 {
			t.Errorf("expire reviews: %d %v", n, err)
		}
		if n, err := s.ExpireGrants(ctx); err != nil || n != 1 {
			t.Errorf("expire grants: %d %v", n, err)
		}
		if n, _ := s.PendingReviewCount(ctx, models.AllTeams); n != 0 {
			t.Errorf("pending after expiry: %d", n)
		}
	})
}

func TestAPIClientTokens(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		team := modeltest.MustTeam(t, s, "payments")
		c, secret, err := s.CreateAPIClient(ctx, modeltest.Admin, models.APIClientInput{Name: "gw", TeamID: team.ID, Scopes: []string{models.ScopeEvaluate}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.IssueAPIToken(ctx, c.ClientID, secret+"x", nil); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("wrong secret: %v", err)
		}
		token, tok, _, err := s.IssueAPIToken(ctx, c.ClientID, secret, nil)
		if err != nil || tok.ExpiresAt.Sub(clock.Now()) > 15*time.Minute {
			t.Fatalf("issue: %+v %v", tok, err)
		}
		if got, _, err := s.CheckAPIToken(ctx, token); err != nil || got.ID != c.ID {
			t.Fatalf("check: %v", err)
		}
		clock.Advance(models.APITokenLifetime)
		if _, _, err := s.CheckAPIToken(ctx, token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("expired token: %v", err)
		}
		_, newSecret, err := s.RotateAPIClientSecret(ctx, modeltest.Admin, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.IssueAPIToken(ctx, c.ClientID, secret, nil); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("old secret after rotation: %v", err)
		}
		token, _, _, err = s.IssueAPIToken(ctx, c.ClientID, newSecret, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIClient(ctx, modeltest.Admin, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CheckAPIToken(ctx, token); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("token of a revoked client: %v", err)
		}
	})
}

func TestArgumentDigestIsCanonical(t *testing.T) {
	a, _ := models.ArgumentDigest(json.RawMessage(`{"b": [1, 2.50], "a": "x"}`))
	b, _ := models.ArgumentDigest(json.RawMessage(`{"a":"x","b":[1,2.50]}`))
	c, _ := models.ArgumentDigest(json.RawMessage(`{"a":"x","b":[1,2.5]}`))
	big1, _ := models.ArgumentDigest(json.RawMessage(`{"n":9007199254740993}`))
	big2, _ := models.ArgumentDigest(json.RawMessage(`{"n":9007199254740992}`))
	if a != b || a == c || big1 == big2 {
		t.Errorf("digests: a=%s b=%s c=%s big equal=%v", a, b, c, big1 == big2)
	}
	if _, err := models.ArgumentDigest(json.RawMessage(`{"a":1} {"b":2}`)); err == nil {
		t.Error("two values accepted")
	}
}

func TestReviewRuleClearsCS009AndClientWebhook(t *testing.T) {
	modeltest.Each(t, func(t *testing.T, s *models.Store, clock *modeltest.Clock) {
		f := newRuntimeFixture(t, s, clock)
		cs009 := func() int64 {
			if _, err := s.RecomputeFindings(ctx); err != nil {
				t.Fatal(err)
			}
			page, err := s.Findings(ctx, models.FindingFilter{Scope: models.AllTeams, RuleID: "CS-009", TeamID: f.team.ID})
			if err != nil {
				t.Fatal(err)
			}
			return page.Total
		}
		if n := cs009(); n != 2 {
			t.Fatalf("CS-009 before rules: %d, want 2 (both servers of the team)", n)
		}
		if _, err := s.CreateReviewRule(ctx, modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID, Name: "prod refunds",
			ServerPattern: "*-prod", MinRisk: models.RiskHigh, Outcome: models.RuleReview, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if n := cs009(); n != 1 {
			t.Errorf("CS-009 with a rule covering billing-prod: %d, want 1", n)
		}
		// A client with a webhook hears about the decision of its request.
		if err := s.SetAPIClientWebhook(ctx, modeltest.Admin, f.client.ID, "https://gw.example.com/hook"); err != nil {
			t.Fatal(err)
		}
		f.client, _ = s.APIClientByID(ctx, f.client.ID)
		r := f.approvedGrant(t, f.call("billing-prod/refund_payment", `{"x":1}`))
		p := &fakePoster{}
		if _, err := s.DeliverOutbox(ctx, p, 100); err != nil {
			t.Fatal(err)
		}
		if got := p.posts["https://gw.example.com/hook"]; len(got) != 1 || !contains(got[0], r.PublicID) || !contains(got[0], `"status":"approved"`) {
			t.Errorf("client webhook: %v", p.posts)
		}
	})
}
