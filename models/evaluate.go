package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DecisionOutcome is the answer to a tool call.
type DecisionOutcome string

// Decision outcomes.
const (
	OutcomeAllow          DecisionOutcome = "allow"
	OutcomeDeny           DecisionOutcome = "deny"
	OutcomeReviewRequired DecisionOutcome = "review_required"
)

// ActionToolsCall is the only action the decision API evaluates.
const ActionToolsCall = "tools/call"

// EvaluationRequest is one tool call a gateway asks about (the AuthZEN
// subject, action, resource and context, flattened).
type EvaluationRequest struct {
	// Subject is the agent's id; SubjectType its AuthZEN type ("agent").
	Subject     string
	SubjectType string
	// OnBehalfOf is the email of the user the agent acts for, if any.
	OnBehalfOf string
	Action     string
	// Resource is "server-slug/tool-name".
	Resource      string
	Arguments     json.RawMessage
	TaskID        string
	Justification string
}

// Validate checks the request's shape; it does not look at the database.
func (in *EvaluationRequest) Validate() error {
	in.Subject, in.OnBehalfOf = strings.TrimSpace(in.Subject), strings.TrimSpace(in.OnBehalfOf)
	in.Resource, in.TaskID = strings.TrimSpace(in.Resource), strings.TrimSpace(in.TaskID)
	in.Justification = strings.TrimSpace(in.Justification)
	v := NewValidationError()
	if in.Subject == "" || len(in.Subject) > 200 {
		v.Add("subject.id", "Give the agent's id (at most 200 characters).")
	}
	if len(in.SubjectType) > 40 {
		v.Add("subject.type", "Use at most 40 characters.")
	}
	if len(in.OnBehalfOf) > 200 {
		v.Add("subject.properties.on_behalf_of", "Use at most 200 characters.")
	}
	if in.Action != ActionToolsCall {
		v.Add("action.name", `Only "tools/call" is evaluated.`)
	}
	if slug, tool, ok := strings.Cut(in.Resource, "/"); !ok || slug == "" || tool == "" || len(in.Resource) > 300 {
		v.Add("resource.id", `Name the tool as "server-slug/tool-name".`)
	}
	if len(in.TaskID) > 200 {
		v.Add("context.task_id", "Use at most 200 characters.")
	}
	if len(in.Justification) > 2000 {
		v.Add("context.justification", "Use at most 2000 characters.")
	}
	if _, err := CanonicalArguments(in.Arguments); err != nil {
		v.Add("context.arguments", err.Error())
	}
	return v.Err()
}

// Decision is the answer to one evaluation, explained: the outcome, why,
// the rule that decided (if any), the tool's risk and its reasons, and the
// grant used or the review request opened.
type Decision struct {
	// ID is the id of the recorded decision (0 if recording failed).
	ID          uint
	Outcome     DecisionOutcome
	Reason      string
	RuleID      *uint
	RuleName    string
	Risk        Risk
	RiskReasons []string
	Grant       *Grant
	Review      *ReviewRequest
}

// Allowed reports whether the call may run.
func (d Decision) Allowed() bool { return d.Outcome == OutcomeAllow }

// DecisionRecord is the log entry of one evaluation: who asked, about what,
// the outcome and why, and how long it took.
type DecisionRecord struct {
	ID            uint `gorm:"primaryKey"`
	At            time.Time
	TeamID        *uint
	ClientID      *uint
	Subject       string
	OnBehalfOf    string
	ServerID      *uint
	ToolID        *uint
	Resource      string
	Outcome       DecisionOutcome
	Reason        string
	Risk          Risk
	RuleID        *uint
	RequestID     *uint
	GrantID       *uint
	TaskID        string
	LatencyMicros int64
}

// TableName keeps the table name short.
func (DecisionRecord) TableName() string { return "decisions" }

// lookupCall finds the server and tool of "slug/tool", with the server's
// environment. Unknown ones are ErrNotFound.
func lookupCall(db *gorm.DB, resource string) (Server, Tool, error) {
	slug, name, ok := strings.Cut(resource, "/")
	if !ok {
		return Server{}, Tool{}, ErrNotFound
	}
	var srv Server
	if err := db.Joins("Environment").Where("servers.slug = ?", strings.ToLower(slug)).First(&srv).Error; err != nil {
		return srv, Tool{}, mapError(err)
	}
	var t Tool
	if err := db.Where("server_id = ? AND name = ?", srv.ID, name).First(&t).Error; err != nil {
		return srv, t, mapError(err)
	}
	return srv, t, nil
}

func factsOf(srv Server, t Tool, subject string) CallFacts {
	risk, _ := EffectiveRisk(t)
	return CallFacts{ServerID: srv.ID, ServerSlug: srv.Slug, ToolName: t.Name, EnvironmentID: srv.EnvironmentID,
		Risk: risk, DataClasses: srv.DataClassList(), Subject: subject}
}

// outcomeOf is the outcome of the rule that matched, or the default by risk
// and environment (PRODUCT.md): low → allow; medium → allow, except review
// in a sensitive environment; high → review.
func outcomeOf(m RuleMatch, f CallFacts, env Environment) (DecisionOutcome, string) {
	if r := m.Rule; r != nil {
		switch r.Outcome {
		case RuleDeny:
			return OutcomeDeny, fmt.Sprintf("denied by rule %q", r.Name)
		case RuleAllow:
			return OutcomeAllow, fmt.Sprintf("allowed by rule %q", r.Name)
		default:
			return OutcomeReviewRequired, fmt.Sprintf("rule %q requires %d approval(s)", r.Name, r.ApprovalsNeeded)
		}
	}
	switch f.Risk {
	case RiskLow:
		return OutcomeAllow, "low-risk tool (default)"
	case RiskMedium:
		if env.Sensitive {
			return OutcomeReviewRequired, fmt.Sprintf("medium-risk tool in the sensitive environment %s (default)", env.Name)
		}
		return OutcomeAllow, "medium-risk tool outside sensitive environments (default)"
	}
	return OutcomeReviewRequired, "high-risk tool (default)"
}

// errOtherTeam refuses a client asking about another team's server.
var errOtherTeam = fmt.Errorf("%w: the server belongs to another team than this API client", ErrForbidden)

// Evaluate decides one tool call for an API client, in the order deny rules
// → a live matching grant (consumed atomically) → allow and review rules →
// the default by risk. (A call that rules or the default allow anyway does
// not spend a grant: the answer is the same, and the grant stays for the
// call that needs it.) Unknown servers and tools and retired servers are
// denied; any internal error is a deny with the reason "internal error"
// (fail closed), logged. Every decision is recorded.
//
// It returns an error only for the caller's faults: a ValidationError for a
// malformed request, ErrForbidden for a server of another team. Nothing is
// recorded then.
func (s *Store) Evaluate(ctx context.Context, client APIClient, in EvaluationRequest) (Decision, error) {
	start := time.Now()
	if err := in.Validate(); err != nil {
		return Decision{}, err
	}
	team := client.TeamID
	rec := DecisionRecord{TeamID: &team, ClientID: &client.ID, Subject: in.Subject, OnBehalfOf: in.OnBehalfOf,
		Resource: in.Resource, TaskID: in.TaskID}
	d, err := s.evaluate(ctx, client, in, &rec)
	if errors.Is(err, errOtherTeam) {
		return Decision{}, err
	}
	if err != nil {
		level := slog.LevelError
		if ctx.Err() != nil {
			level = slog.LevelInfo // the caller went away mid-decision: not a fault of ours
		}
		s.log.Log(ctx, level, "evaluate tool call: failing closed", slog.Any("error", err), slog.String("resource", in.Resource))
		d = Decision{Outcome: OutcomeDeny, Reason: "internal error: denied (fail closed)", Risk: d.Risk, RiskReasons: d.RiskReasons}
		rec.GrantID, rec.RequestID = nil, nil
	}
	if d.ID != 0 {
		return d, nil // recorded inside the grant or review transaction
	}
	rec.Outcome, rec.Reason, rec.RuleID, rec.Risk = d.Outcome, d.Reason, d.RuleID, d.Risk
	rec.At, rec.LatencyMicros = s.Now(), time.Since(start).Microseconds()
	if err := s.decisions.record(ctx, &rec); err != nil {
		s.log.Error("record decision: failing closed", slog.Any("error", err))
		return Decision{Outcome: OutcomeDeny, Reason: "internal error: the decision could not be recorded (fail closed)",
			Risk: d.Risk, RiskReasons: d.RiskReasons}, nil
	}
	d.ID = rec.ID
	return d, nil
}

func (s *Store) evaluate(ctx context.Context, client APIClient, in EvaluationRequest, rec *DecisionRecord) (Decision, error) {
	start := time.Now()
	srv, tool, err := s.cachedCall(ctx, in.Resource)
	switch {
	case errors.Is(err, ErrNotFound) && srv.ID == 0:
		return Decision{Outcome: OutcomeDeny, Reason: "unknown server"}, nil
	case errors.Is(err, ErrNotFound):
		if srv.TeamID != client.TeamID {
			return Decision{}, errOtherTeam
		}
		rec.ServerID = idPtr(srv.ID)
		return Decision{Outcome: OutcomeDeny, Reason: "unknown tool: it is not registered on this server"}, nil
	case err != nil:
		return Decision{}, err
	}
	if srv.TeamID != client.TeamID {
		return Decision{}, errOtherTeam
	}
	rec.ServerID, rec.ToolID = idPtr(srv.ID), idPtr(tool.ID) // not &srv.ID: the whole row would move to the heap
	risk, reasons := EffectiveRisk(tool)
	d := Decision{Risk: risk, RiskReasons: reasons}
	if srv.Status == ServerRetired {
		d.Outcome, d.Reason = OutcomeDeny, "the server is retired"
		return d, nil
	}
	facts := factsOf(srv, tool, in.Subject)
	rules, err := s.cachedRules(ctx, srv.TeamID)
	if err != nil {
		return d, fmt.Errorf("load review rules: %w", err)
	}
	m := MatchRules(rules, facts)
	if m.Phase == "deny" {
		d.Outcome, d.Reason = outcomeOf(m, facts, srv.Environment)
		d.RuleID, d.RuleName = &m.Rule.ID, m.Rule.Name
		return d, nil
	}
	d.Outcome, d.Reason = outcomeOf(m, facts, srv.Environment)
	if m.Rule != nil {
		d.RuleID, d.RuleName = &m.Rule.ID, m.Rule.Name
	}
	if d.Outcome == OutcomeAllow {
		// Allowed without a grant: a live grant would give the same answer,
		// so it is kept for a call that needs it (and no write is queued).
		return d, nil
	}
	digest, _ := ArgumentDigest(in.Arguments)
	key := grantKey{Subject: in.Subject, ServerID: srv.ID, ToolID: tool.ID, ArgumentDigest: digest, TaskID: in.TaskID}
	actor := Actor{Label: "client:" + client.ClientID}
	live, err := s.hasLiveGrant(ctx, key)
	if err != nil {
		return d, fmt.Errorf("look up grants: %w", err)
	}
	if live {
		var used *Grant
		err := s.tx(ctx, func(tx *gorm.DB) error {
			var err error
			if used, err = s.consumeGrant(tx, actor, key); err != nil || used == nil {
				return err
			}
			rec.GrantID, rec.RequestID = &used.ID, used.RequestID
			return s.recordIn(tx, rec, OutcomeAllow, "a live grant from an approved review", d.RuleID, risk, start)
		})
		if err != nil {
			return d, err
		}
		if used != nil {
			d.ID, d.Outcome, d.Reason, d.Grant = rec.ID, OutcomeAllow, "a live grant from an approved review", used
			return d, nil
		}
	}
	review, err := s.openReview(ctx, actor, client, in, srv, tool, digest, m.Rule, d, rec, start)
	if err != nil {
		return d, err
	}
	d.ID, d.Review = rec.ID, &review
	return d, nil
}

// idPtr returns a pointer to a copy of id.
func idPtr(id uint) *uint { return &id }

// recordIn writes the decision record inside tx.
func (s *Store) recordIn(tx *gorm.DB, rec *DecisionRecord, out DecisionOutcome, reason string, rule *uint, risk Risk, start time.Time) error {
	rec.Outcome, rec.Reason, rec.RuleID, rec.Risk = out, reason, rule, risk
	rec.At, rec.LatencyMicros = s.Now(), time.Since(start).Microseconds()
	if err := tx.Create(rec).Error; err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// openReview returns the pending request of the same call, or opens one
// (audited and notified), and records the decision, in one transaction. A
// pending request past its deadline is expired first. On PostgreSQL two
// replicas may race to open the same request: the partial unique index
// refuses the second, which then finds the first.
func (s *Store) openReview(ctx context.Context, actor Actor, client APIClient, in EvaluationRequest, srv Server, tool Tool,
	digest string, rule *ReviewRule, d Decision, rec *DecisionRecord, start time.Time) (ReviewRequest, error) {
	var out ReviewRequest
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		recCopy := *rec
		err = s.tx(ctx, func(tx *gorm.DB) error {
			now := s.Now()
			var existing []ReviewRequest
			if err := tx.Where("subject = ? AND server_id = ? AND tool_id = ? AND argument_digest = ? AND task_id = ? AND status = ?",
				in.Subject, srv.ID, tool.ID, digest, in.TaskID, ReviewPending).Limit(1).Find(&existing).Error; err != nil {
				return fmt.Errorf("find pending review: %w", err)
			}
			if len(existing) == 1 && now.Before(existing[0].Deadline) {
				out = existing[0]
			} else {
				if len(existing) == 1 {
					if _, err := s.expireReview(tx, SystemActor("evaluation"), existing[0]); err != nil {
						return err
					}
				}
				out = newReviewRequest(in, client, srv, tool, digest, rule, d, now)
				if err := tx.Omit("Server", "Tool").Create(&out).Error; err != nil {
					return mapError(err)
				}
				if err := s.appendAudit(tx, actor, AuditEntry{Action: "review.request", ObjectType: "review_request",
					ObjectID: out.PublicID, After: reviewSummary(out)}); err != nil {
					return err
				}
				if err := s.enqueueReviewEvent(tx, EventReviewRequested, out); err != nil {
					return err
				}
			}
			recCopy.RequestID = &out.ID
			return s.recordIn(tx, &recCopy, OutcomeReviewRequired, d.Reason, d.RuleID, d.Risk, start)
		})
		if err == nil {
			*rec = recCopy
			return out, nil
		}
		if !errors.Is(err, ErrConflict) {
			return out, err
		}
	}
	return out, err
}

func newReviewRequest(in EvaluationRequest, client APIClient, srv Server, tool Tool, digest string, rule *ReviewRule, d Decision, now time.Time) ReviewRequest {
	r := ReviewRequest{PublicID: "rv_" + RandomToken(12), TeamID: srv.TeamID, Status: ReviewPending, Subject: in.Subject,
		SubjectType: in.SubjectType, OnBehalfOf: in.OnBehalfOf, ServerID: srv.ID, ToolID: tool.ID, EnvironmentID: srv.EnvironmentID,
		ArgumentDigest: digest, ArgumentSummary: RedactArguments(in.Arguments, 4000), Justification: in.Justification,
		TaskID: in.TaskID, Risk: d.Risk, RiskReasons: strings.Join(d.RiskReasons, "\n"), ApprovalsNeeded: 1,
		ApproverRole: RoleApprover, GrantTTLSeconds: int(DefaultGrantTTL / time.Second), GrantMaxUses: 1,
		Deadline: now.Add(DefaultRequestTTL)}
	if client.ID != 0 {
		id := client.ID
		r.ClientID = &id
	}
	if rule != nil {
		id := rule.ID
		r.RuleID, r.RuleName = &id, rule.Name
		r.ApprovalsNeeded, r.ApproverRole = rule.ApprovalsNeeded, rule.ApproverRole
		r.GrantTTLSeconds, r.GrantMaxUses = rule.GrantTTLSeconds, rule.GrantMaxUses
		r.Deadline = now.Add(rule.RequestTTL())
	}
	return r
}
