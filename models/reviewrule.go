package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RuleOutcome is what a review rule decides for the calls it matches.
type RuleOutcome string

// Rule outcomes.
const (
	RuleAllow  RuleOutcome = "allow"
	RuleReview RuleOutcome = "review"
	RuleDeny   RuleOutcome = "deny"
)

// Limits of review rules and of what they hand out.
const (
	// DefaultGrantTTL is how long a grant lives when the rule says nothing.
	DefaultGrantTTL = 10 * time.Minute
	// MaxGrantTTL caps any rule's grant lifetime.
	MaxGrantTTL = 24 * time.Hour
	// DefaultRequestTTL is how long a review request waits for approvers.
	DefaultRequestTTL = time.Hour
	// MaxRequestTTL caps the waiting time of a review request.
	MaxRequestTTL = 7 * 24 * time.Hour
	// MaxApprovals caps N of an N-of-M rule.
	MaxApprovals = 5
	// MaxGrantUses caps the uses of one grant.
	MaxGrantUses = 100
)

// ReviewRule is one rule of a team's ordered list: conditions on the call
// (every empty condition matches anything) and an outcome. Deny rules are
// checked before grants; among allow and review rules the first match by
// position wins.
type ReviewRule struct {
	ID       uint `gorm:"primaryKey"`
	TeamID   uint
	Position int
	Name     string
	// ServerID pins one server; ServerPattern is a glob on server slugs.
	ServerID      *uint
	ServerPattern string
	// ToolPattern is a glob on tool names ("refund_*", "*").
	ToolPattern   string
	EnvironmentID *uint
	// MinRisk matches calls whose tool risk is at least this level.
	MinRisk Risk
	// DataClass matches servers that touch this data class.
	DataClass string
	// SubjectPattern is a glob on the calling agent's id.
	SubjectPattern    string
	Outcome           RuleOutcome
	ApprovalsNeeded   int
	ApproverRole      Role
	RequestTTLSeconds int
	GrantTTLSeconds   int
	GrantMaxUses      int
	Enabled           bool
	CreatedAt         time.Time
	UpdatedAt         time.Time

	Server      *Server      `gorm:"foreignKey:ServerID"`
	Environment *Environment `gorm:"foreignKey:EnvironmentID"`
}

// GrantTTL is the lifetime of the grants the rule hands out.
func (r ReviewRule) GrantTTL() time.Duration { return time.Duration(r.GrantTTLSeconds) * time.Second }

// RequestTTL is how long the rule's requests wait for approvers.
func (r ReviewRule) RequestTTL() time.Duration {
	return time.Duration(r.RequestTTLSeconds) * time.Second
}

// ReviewRuleInput is the form input of a review rule. Zero values of the
// numbers take the defaults (1 approval, 1 hour, 10 minutes, 1 use).
type ReviewRuleInput struct {
	TeamID         uint
	Name           string
	ServerID       uint
	ServerPattern  string
	ToolPattern    string
	EnvironmentID  uint
	MinRisk        Risk
	DataClass      string
	SubjectPattern string
	Outcome        RuleOutcome
	// ApprovalsNeeded, ApproverRole, RequestTTL, GrantTTL and GrantMaxUses
	// apply to review rules only.
	ApprovalsNeeded int
	ApproverRole    Role
	RequestTTL      time.Duration
	GrantTTL        time.Duration
	GrantMaxUses    int
	Enabled         bool
}

// Normalize trims the input and fills defaults.
func (in *ReviewRuleInput) Normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.ServerPattern = strings.ToLower(strings.TrimSpace(in.ServerPattern))
	in.ToolPattern = strings.TrimSpace(in.ToolPattern)
	in.DataClass = strings.ToLower(strings.TrimSpace(in.DataClass))
	in.SubjectPattern = strings.TrimSpace(in.SubjectPattern)
	if in.ApprovalsNeeded == 0 {
		in.ApprovalsNeeded = 1
	}
	if in.ApproverRole == "" {
		in.ApproverRole = RoleApprover
	}
	if in.RequestTTL == 0 {
		in.RequestTTL = DefaultRequestTTL
	}
	if in.GrantTTL == 0 {
		in.GrantTTL = DefaultGrantTTL
	}
	if in.GrantMaxUses == 0 {
		in.GrantMaxUses = 1
	}
}

// Validate checks the fields that need no database.
func (in ReviewRuleInput) Validate() error {
	v := NewValidationError()
	if in.TeamID == 0 {
		v.Add("team", "Choose the team whose calls the rule governs.")
	}
	v.checkName(in.Name, 120, "")
	if in.ServerID != 0 && in.ServerPattern != "" {
		v.Add("server_pattern", "Choose a server or a slug pattern, not both.")
	}
	for field, p := range map[string]string{"server_pattern": in.ServerPattern, "tool_pattern": in.ToolPattern, "subject_pattern": in.SubjectPattern} {
		if len(p) > 150 || strings.ContainsAny(p, " \t\n,") {
			v.Add(field, "Use a pattern of at most 150 characters without spaces; * matches anything, ? one character.")
		}
	}
	if in.MinRisk != "" && !in.MinRisk.Valid() {
		v.Add("min_risk", "Choose low, medium or high, or any risk.")
	}
	if len(in.DataClass) > 60 {
		v.Add("data_class", "Use at most 60 characters.")
	}
	switch in.Outcome {
	case RuleAllow, RuleDeny:
	case RuleReview:
		if in.ApprovalsNeeded < 1 || in.ApprovalsNeeded > MaxApprovals {
			v.Add("approvals_needed", fmt.Sprintf("Ask for 1 to %d approvals.", MaxApprovals))
		}
		if in.ApproverRole != RoleApprover && in.ApproverRole != RoleAdmin {
			v.Add("approver_role", "Approvers hold the approver role (or admin).")
		}
		if in.RequestTTL < time.Minute || in.RequestTTL > MaxRequestTTL {
			v.Add("request_ttl", "A request waits between 1 minute and 7 days.")
		}
		if in.GrantTTL < 10*time.Second || in.GrantTTL > MaxGrantTTL {
			v.Add("grant_ttl", "A grant lives between 10 seconds and 24 hours.")
		}
		if in.GrantMaxUses < 1 || in.GrantMaxUses > MaxGrantUses {
			v.Add("grant_max_uses", fmt.Sprintf("A grant allows 1 to %d uses.", MaxGrantUses))
		}
	default:
		v.Add("outcome", "Choose allow, review or deny.")
	}
	return v.Err()
}

func (in ReviewRuleInput) apply(r *ReviewRule) {
	r.TeamID, r.Name = in.TeamID, in.Name
	r.ServerID, r.EnvironmentID = nil, nil
	if in.ServerID != 0 {
		id := in.ServerID
		r.ServerID = &id
	}
	if in.EnvironmentID != 0 {
		id := in.EnvironmentID
		r.EnvironmentID = &id
	}
	r.ServerPattern, r.ToolPattern, r.MinRisk, r.DataClass, r.SubjectPattern = in.ServerPattern, in.ToolPattern, in.MinRisk, in.DataClass, in.SubjectPattern
	r.Outcome, r.ApprovalsNeeded, r.ApproverRole = in.Outcome, in.ApprovalsNeeded, in.ApproverRole
	r.RequestTTLSeconds, r.GrantTTLSeconds, r.GrantMaxUses = int(in.RequestTTL/time.Second), int(in.GrantTTL/time.Second), in.GrantMaxUses
	r.Enabled = in.Enabled
}

func checkRuleRefs(tx *gorm.DB, in ReviewRuleInput) error {
	v := NewValidationError()
	if tx.First(&Team{}, in.TeamID).Error != nil {
		v.Add("team", "Choose an existing team.")
	}
	if in.ServerID != 0 {
		var srv Server
		if tx.First(&srv, in.ServerID).Error != nil || srv.TeamID != in.TeamID {
			v.Add("server", "Choose a server of the rule's team.")
		}
	}
	if in.EnvironmentID != 0 && tx.First(&Environment{}, in.EnvironmentID).Error != nil {
		v.Add("environment", "Choose an existing environment.")
	}
	return v.Err()
}

func ruleSummary(r ReviewRule) map[string]any {
	return map[string]any{"team": r.TeamID, "position": r.Position, "name": r.Name, "server": r.ServerID,
		"server_pattern": r.ServerPattern, "tool_pattern": r.ToolPattern, "environment": r.EnvironmentID,
		"min_risk": r.MinRisk, "data_class": r.DataClass, "subject_pattern": r.SubjectPattern, "outcome": r.Outcome,
		"approvals": r.ApprovalsNeeded, "approver_role": r.ApproverRole, "request_ttl_s": r.RequestTTLSeconds,
		"grant_ttl_s": r.GrantTTLSeconds, "grant_max_uses": r.GrantMaxUses, "enabled": r.Enabled}
}

// CreateReviewRule adds a rule at the end of its team's list.
func (s *Store) CreateReviewRule(ctx context.Context, actor Actor, in ReviewRuleInput) (ReviewRule, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return ReviewRule{}, err
	}
	var r ReviewRule
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkRuleRefs(tx, in); err != nil {
			return err
		}
		var max *int
		if err := tx.Model(&ReviewRule{}).Where("team_id = ?", in.TeamID).Select("MAX(position)").Scan(&max).Error; err != nil {
			return fmt.Errorf("create review rule: %w", err)
		}
		in.apply(&r)
		r.Position = 1
		if max != nil {
			r.Position = *max + 1
		}
		if err := tx.Omit("Server", "Environment").Create(&r).Error; err != nil {
			return fmt.Errorf("create review rule: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "review_rule.create", ObjectType: "review_rule",
			ObjectID: fmt.Sprint(r.ID), After: ruleSummary(r)})
	})
	return r, err
}

// UpdateReviewRule changes a rule; its team and position stay.
func (s *Store) UpdateReviewRule(ctx context.Context, actor Actor, id uint, in ReviewRuleInput) (ReviewRule, error) {
	in.Normalize()
	var r ReviewRule
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&r, id).Error; err != nil {
			return mapError(err)
		}
		in.TeamID = r.TeamID
		if err := in.Validate(); err != nil {
			return err
		}
		if err := checkRuleRefs(tx, in); err != nil {
			return err
		}
		before := ruleSummary(r)
		in.apply(&r)
		if err := tx.Omit("Server", "Environment").Save(&r).Error; err != nil {
			return fmt.Errorf("update review rule: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "review_rule.update", ObjectType: "review_rule",
			ObjectID: fmt.Sprint(r.ID), Before: before, After: ruleSummary(r)})
	})
	return r, err
}

// DeleteReviewRule removes a rule. Requests it held keep its name.
func (s *Store) DeleteReviewRule(ctx context.Context, actor Actor, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r ReviewRule
		if err := tx.First(&r, id).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Model(&ReviewRequest{}).Where("rule_id = ?", r.ID).Update("rule_id", nil).Error; err != nil {
			return fmt.Errorf("delete review rule: %w", err)
		}
		if err := tx.Delete(&r).Error; err != nil {
			return fmt.Errorf("delete review rule: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "review_rule.delete", ObjectType: "review_rule",
			ObjectID: fmt.Sprint(r.ID), Before: ruleSummary(r)})
	})
}

// MoveReviewRule moves a rule up (delta -1) or down (+1) in its team's
// order, swapping it with its neighbour. Moving past either end is a no-op.
func (s *Store) MoveReviewRule(ctx context.Context, actor Actor, id uint, delta int) error {
	if delta != -1 && delta != 1 {
		return fmt.Errorf("%w: move by one place", ErrInvalidTransition)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r ReviewRule
		if err := tx.First(&r, id).Error; err != nil {
			return mapError(err)
		}
		q := tx.Where("team_id = ? AND id <> ?", r.TeamID, r.ID)
		if delta < 0 {
			q = q.Where("position <= ?", r.Position).Order("position DESC, id DESC")
		} else {
			q = q.Where("position >= ?", r.Position).Order("position ASC, id ASC")
		}
		var other ReviewRule
		if err := q.First(&other).Error; err != nil {
			return nil // already first or last
		}
		from, to := r.Position, other.Position
		if from == to {
			to = from + delta
		}
		if err := tx.Model(&ReviewRule{}).Where("id = ?", r.ID).Update("position", to).Error; err != nil {
			return err
		}
		if err := tx.Model(&ReviewRule{}).Where("id = ?", other.ID).Update("position", from).Error; err != nil {
			return err
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "review_rule.move", ObjectType: "review_rule", ObjectID: fmt.Sprint(r.ID),
			Before: map[string]any{"position": from}, After: map[string]any{"position": to}})
	})
}

// ReviewRules lists the rules of the teams in scope, by team and position
// (the order in which they are evaluated).
func (s *Store) ReviewRules(ctx context.Context, scope TeamScope) ([]ReviewRule, error) {
	var out []ReviewRule
	err := scope.apply(s.r(ctx).Preload("Server").Preload("Environment"), "team_id").
		Order("team_id, position, id").Find(&out).Error
	return out, err
}

// ReviewRuleByID returns one rule.
func (s *Store) ReviewRuleByID(ctx context.Context, id uint) (ReviewRule, error) {
	var r ReviewRule
	return r, mapError(s.r(ctx).Preload("Server").Preload("Environment").First(&r, id).Error)
}

// enabledRules returns a team's enabled rules in evaluation order.
func enabledRules(db *gorm.DB, teamID uint) ([]ReviewRule, error) {
	var out []ReviewRule
	err := db.Where("team_id = ? AND enabled = ?", teamID, true).Order("position, id").Find(&out).Error
	return out, err
}

// CallFacts are the facts about a call that review rules look at.
type CallFacts struct {
	ServerID      uint
	ServerSlug    string
	ToolName      string
	EnvironmentID uint
	Risk          Risk
	DataClasses   []string
	Subject       string
}

// Matches reports whether every condition of the rule holds for the call.
// Patterns are case-insensitive globs: * matches any run of characters
// (slashes included), ? one character.
func (r ReviewRule) Matches(f CallFacts) bool {
	switch {
	case r.ServerID != nil && *r.ServerID != f.ServerID:
		return false
	case r.ServerPattern != "" && !GlobMatch(r.ServerPattern, f.ServerSlug):
		return false
	case r.ToolPattern != "" && !GlobMatch(r.ToolPattern, f.ToolName):
		return false
	case r.EnvironmentID != nil && *r.EnvironmentID != f.EnvironmentID:
		return false
	case r.MinRisk != "" && f.Risk.Rank() < r.MinRisk.Rank():
		return false
	case r.SubjectPattern != "" && !GlobMatch(r.SubjectPattern, f.Subject):
		return false
	case r.DataClass != "" && !containsString(f.DataClasses, r.DataClass):
		return false
	}
	return true
}

// GlobMatch matches s against a pattern where * is any run of characters
// and ? is one character, ignoring case.
func GlobMatch(pattern, s string) bool {
	p, str := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(s))
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi, si = pi+1, si+1
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// RuleMatch is the result of matching a call against an ordered list of
// rules: the deciding rule (nil: none matched) and why.
type RuleMatch struct {
	Rule *ReviewRule
	// Phase is "deny" when a deny rule matched (they are checked first),
	// "rule" for the first allow or review rule, "" for none.
	Phase string
}

// MatchRules applies the evaluation order to a team's rules: the first
// matching deny rule wins; otherwise the first matching allow or review
// rule (in position order). Disabled rules never match.
func MatchRules(rules []ReviewRule, f CallFacts) RuleMatch {
	sorted := append([]ReviewRule(nil), rules...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Position < sorted[j].Position })
	for i := range sorted {
		if sorted[i].Enabled && sorted[i].Outcome == RuleDeny && sorted[i].Matches(f) {
			return RuleMatch{Rule: &sorted[i], Phase: "deny"}
		}
	}
	for i := range sorted {
		if sorted[i].Enabled && sorted[i].Outcome != RuleDeny && sorted[i].Matches(f) {
			return RuleMatch{Rule: &sorted[i], Phase: "rule"}
		}
	}
	return RuleMatch{}
}

// RuleTest is the answer of "test this rule": the facts of the sample call,
// the rule that decided it (if any) and the outcome it would get, without a
// grant and without recording anything.
type RuleTest struct {
	Facts   CallFacts
	Match   RuleMatch
	Outcome DecisionOutcome
	Reason  string
}

// TestReviewRules evaluates a sample call ("server-slug/tool", subject) of
// a team against its enabled rules and the default by risk, with no side
// effect: no grant is consumed, no request is created, nothing recorded.
func (s *Store) TestReviewRules(ctx context.Context, teamID uint, resource, subject string) (RuleTest, error) {
	db := s.r(ctx)
	srv, tool, err := lookupCall(db, resource)
	if err != nil {
		return RuleTest{}, err
	}
	if srv.TeamID != teamID {
		v := NewValidationError()
		v.Add("resource", "Choose a server of this team.")
		return RuleTest{}, v
	}
	facts := factsOf(srv, tool, subject)
	rules, err := enabledRules(db, teamID)
	if err != nil {
		return RuleTest{}, fmt.Errorf("load review rules: %w", err)
	}
	m := MatchRules(rules, facts)
	out, reason := outcomeOf(m, facts, srv.Environment)
	return RuleTest{Facts: facts, Match: m, Outcome: out, Reason: reason}, nil
}

// ReviewCoverage returns a function telling whether a review or deny rule
// of a server's team covers a tool (CS-009), or nil when no enabled rule
// exists at all.
func (s *Store) ReviewCoverage(ctx context.Context) (func(Server, Tool) bool, error) {
	var rules []ReviewRule
	if err := s.r(ctx).Where("enabled = ? AND outcome IN ?", true, []RuleOutcome{RuleReview, RuleDeny}).
		Order("team_id, position, id").Find(&rules).Error; err != nil {
		return nil, fmt.Errorf("load review rules: %w", err)
	}
	if len(rules) == 0 {
		return nil, nil
	}
	byTeam := map[uint][]ReviewRule{}
	for _, r := range rules {
		byTeam[r.TeamID] = append(byTeam[r.TeamID], r)
	}
	return func(srv Server, t Tool) bool {
		risk, _ := EffectiveRisk(t)
		// The subject is unknown here: a rule limited to some subjects
		// still covers the tool for those subjects only, so it does not count.
		f := CallFacts{ServerID: srv.ID, ServerSlug: srv.Slug, ToolName: t.Name, EnvironmentID: srv.EnvironmentID,
			Risk: risk, DataClasses: srv.DataClassList()}
		for _, r := range byTeam[srv.TeamID] {
			if r.SubjectPattern != "" && r.SubjectPattern != "*" {
				continue
			}
			if r.Matches(f) {
				return true
			}
		}
		return false
	}, nil
}
