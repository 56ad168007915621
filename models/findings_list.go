package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// FindingState filters findings by their state.
type FindingState string

// Finding states as the list shows them.
const (
	// FindingOpen: unresolved and not covered by a live exception.
	FindingOpen FindingState = "open"
	// FindingExcepted: unresolved, covered by an approved, unexpired exception.
	FindingExcepted FindingState = "excepted"
	FindingResolved FindingState = "resolved"
	FindingAll      FindingState = "all"
)

// FindingFilter narrows the findings list. Every field is optional.
type FindingFilter struct {
	ListParams
	Scope         TeamScope
	State         FindingState
	Severity      Severity
	RuleID        string
	TeamID        uint
	EnvironmentID uint
	// Framework keeps findings of rules mapped to the framework (its id) or
	// to one control (a control id).
	Framework  string
	ObjectType string
	ObjectID   uint
}

// FindingRow is a finding in a list, with names and its live exception.
type FindingRow struct {
	Finding
	TeamName        string
	EnvironmentName string
	// ExceptionExpires is the end of the live exception, if any.
	ExceptionExpires *time.Time
}

// Rule returns the finding's rule.
func (f Finding) Rule() Rule { r, _ := RuleCatalog().Rule(f.RuleID); return r }

// Controls returns the framework controls the finding's rule maps to.
func (f Finding) Controls() []Control { return RuleCatalog().ControlsOf(f.RuleID) }

// findingsQuery applies the filter's conditions.
func (s *Store) findingsQuery(ctx context.Context, f FindingFilter) (*gorm.DB, error) {
	q := f.Scope.apply(s.r(ctx).Table("findings"), "findings.team_id")
	now := s.Now()
	switch f.State {
	case "", FindingOpen:
		q = q.Where("findings.resolved_at IS NULL AND (findings.excepted_until IS NULL OR findings.excepted_until <= ?)", now)
	case FindingExcepted:
		q = q.Where("findings.resolved_at IS NULL AND findings.excepted_until > ?", now)
	case FindingResolved:
		q = q.Where("findings.resolved_at IS NOT NULL")
	case FindingAll:
	default:
		v := NewValidationError()
		v.Add("state", "Choose open, excepted, resolved or all.")
		return nil, v
	}
	if f.Severity != "" {
		q = q.Where("findings.severity = ?", f.Severity)
	}
	if f.RuleID != "" {
		// On SQLite, "+" keeps the planner on the covering list index
		// instead of the single-column rule index, which would read the
		// table for every finding of a common rule.
		if s.dialect == DialectSQLite {
			q = q.Where("+findings.rule_id = ?", f.RuleID)
		} else {
			q = q.Where("findings.rule_id = ?", f.RuleID)
		}
	}
	if f.TeamID != 0 {
		q = q.Where("findings.team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("findings.environment_id = ?", f.EnvironmentID)
	}
	if f.Framework != "" {
		cat := RuleCatalog()
		rules := cat.RulesOfFramework(f.Framework)
		if _, isControl := cat.Control(f.Framework); isControl {
			rules = cat.RulesOfControl(f.Framework)
		}
		if len(rules) == 0 {
			rules = []string{"-"}
		}
		q = q.Where("findings.rule_id IN ?", rules)
	}
	if f.ObjectType != "" {
		q = q.Where("findings.object_type = ?", f.ObjectType)
		if f.ObjectID != 0 {
			q = q.Where("findings.object_id = ?", f.ObjectID)
		}
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		// The object's name and the rule id: both are in the list index,
		// so a search does not read the table.
		q = q.Where("("+s.ilike("findings.object_name")+" OR "+s.ilike("findings.rule_id")+")", p, p)
	}
	return q, nil
}

// Findings lists findings with filters, search, sorting and pagination.
// The default order is worst severity first, then newest. Counts holds the
// number of findings per severity for the same filter without its severity,
// from the same scan that gives the total.
func (s *Store) Findings(ctx context.Context, f FindingFilter) (FindingsPage, error) {
	f.ListParams = f.ListParams.Normalize()
	page := FindingsPage{Page: Page[FindingRow]{Params: f.ListParams}, Counts: SeverityCounts{}}
	all := f
	all.Severity = ""
	q, err := s.findingsQuery(ctx, all)
	if err != nil {
		return page, err
	}
	var counts []struct {
		Rank int
		N    int64
	}
	if err := q.Select("findings.severity_rank AS rank, COUNT(*) AS n").Group("findings.severity_rank").Scan(&counts).Error; err != nil {
		return page, fmt.Errorf("count findings: %w", err)
	}
	for _, c := range counts {
		for _, sev := range Severities {
			if sev.Rank() == c.Rank {
				page.Counts[sev] = c.N
			}
		}
	}
	page.Total = page.Counts.Total()
	if f.Severity != "" {
		page.Total = page.Counts[f.Severity]
	}
	order := f.orderBy(map[string]string{"severity": "findings.severity_rank", "rule": "findings.rule_id",
		"object": "findings.object_name", "first_seen": "findings.first_seen_at", "team": "teams.name",
		"environment": "environments.name"}, "findings.severity_rank DESC, findings.first_seen_at DESC")
	q, _ = s.findingsQuery(ctx, f)
	switch f.Sort {
	case "team":
		q = q.Joins("JOIN teams ON teams.id = findings.team_id")
	case "environment":
		q = q.Joins("LEFT JOIN environments ON environments.id = findings.environment_id")
	}
	// Two phases: the ids of the page from the list index alone (id DESC
	// keeps a backward walk of the index in one direction), then the rows.
	var ids []uint
	err = q.Order(order).Order("findings.id DESC").Limit(f.PerPage).Offset(f.Offset()).Pluck("findings.id", &ids).Error
	if err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	var rows []Finding
	if len(ids) > 0 {
		if err := s.r(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
			return page, fmt.Errorf("list findings: %w", err)
		}
	}
	byID := make(map[uint]Finding, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	teams, envs, err := s.nameMaps(ctx)
	if err != nil {
		return page, err
	}
	now := s.Now()
	page.Items = make([]FindingRow, 0, len(ids))
	for _, id := range ids {
		r := byID[id]
		row := FindingRow{Finding: r, TeamName: teams[r.TeamID]}
		if r.EnvironmentID != nil {
			row.EnvironmentName = envs[*r.EnvironmentID]
		}
		if r.ExceptedUntil != nil && r.ExceptedUntil.After(now) {
			end := r.ExceptedUntil.UTC()
			row.ExceptionExpires = &end
		}
		page.Items = append(page.Items, row)
	}
	return page, nil
}

// FindingsPage is a page of findings with the counts per severity of the
// same filter.
type FindingsPage struct {
	Page[FindingRow]
	Counts SeverityCounts
}

// nameMaps returns team and environment names by id (small tables).
func (s *Store) nameMaps(ctx context.Context) (map[uint]string, map[uint]string, error) {
	var teams []Team
	var envs []Environment
	if err := s.r(ctx).Select("id, name").Find(&teams).Error; err != nil {
		return nil, nil, err
	}
	if err := s.r(ctx).Select("id, name").Find(&envs).Error; err != nil {
		return nil, nil, err
	}
	tm, em := make(map[uint]string, len(teams)), make(map[uint]string, len(envs))
	for _, t := range teams {
		tm[t.ID] = t.Name
	}
	for _, e := range envs {
		em[e.ID] = e.Name
	}
	return tm, em, nil
}

// FindingByID returns one finding.
func (s *Store) FindingByID(ctx context.Context, id uint) (Finding, error) {
	var f Finding
	return f, mapError(s.r(ctx).First(&f, id).Error)
}

// SeverityCounts counts open findings (not excepted) by severity.
type SeverityCounts map[Severity]int64

// Total is the sum over severities.
func (c SeverityCounts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// OpenFindingCounts counts open findings by severity within the scope.
func (s *Store) OpenFindingCounts(ctx context.Context, scope TeamScope) (SeverityCounts, error) {
	page, err := s.Findings(ctx, FindingFilter{Scope: scope, ListParams: ListParams{PerPage: 1}})
	return page.Counts, err
}

// ExceptionStatus is the state of a risk exception.
type ExceptionStatus string

// Exception states.
const (
	ExceptionPending  ExceptionStatus = "pending"
	ExceptionApproved ExceptionStatus = "approved"
	ExceptionRejected ExceptionStatus = "rejected"
	ExceptionExpired  ExceptionStatus = "expired"
)

// RiskException accepts the risk of one finding until it expires. It is
// requested by one person and decided by another (governance or admin).
type RiskException struct {
	ID            uint `gorm:"primaryKey"`
	FindingKey    string
	RuleID        string
	Justification string
	RequestedByID uint
	DecidedByID   *uint
	Status        ExceptionStatus
	ExpiresAt     time.Time
	CreatedAt     time.Time
	DecidedAt     *time.Time

	RequestedBy User  `gorm:"foreignKey:RequestedByID"`
	DecidedBy   *User `gorm:"foreignKey:DecidedByID"`
}

// MaxExceptionDays bounds how long an exception may last.
const MaxExceptionDays = 365

// ExceptionInput is the request form of an exception.
type ExceptionInput struct {
	Justification string
	ExpiresAt     time.Time
}

// Validate checks the input against the current time.
func (in ExceptionInput) Validate(now time.Time) error {
	v := NewValidationError()
	if n := len(strings.TrimSpace(in.Justification)); n < 20 || n > 4000 {
		v.Add("justification", "Explain in 20 to 4000 characters why the risk is acceptable and what limits it.")
	}
	switch {
	case in.ExpiresAt.IsZero():
		v.Add("expires_at", "Choose the date the exception ends.")
	case !in.ExpiresAt.After(now):
		v.Add("expires_at", "The end date must be in the future.")
	case in.ExpiresAt.After(now.AddDate(0, 0, MaxExceptionDays)):
		v.Add("expires_at", fmt.Sprintf("An exception lasts at most %d days.", MaxExceptionDays))
	}
	return v.Err()
}

// RequestException asks to accept the risk of a finding. The finding must be
// open and have no pending or live exception.
func (s *Store) RequestException(ctx context.Context, actor Actor, findingID uint, in ExceptionInput) (RiskException, error) {
	var ex RiskException
	if err := in.Validate(s.Now()); err != nil {
		return ex, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var f Finding
		if err := tx.First(&f, findingID).Error; err != nil {
			return mapError(err)
		}
		if f.ResolvedAt != nil {
			return fmt.Errorf("%w: the finding is resolved", ErrInvalidTransition)
		}
		var n int64
		tx.Model(&RiskException{}).Where("finding_key = ? AND (status = ? OR (status = ? AND expires_at > ?))",
			f.Key, ExceptionPending, ExceptionApproved, s.Now()).Count(&n)
		if n > 0 {
			return fmt.Errorf("%w: the finding already has a pending or live exception", ErrConflict)
		}
		ex = RiskException{FindingKey: f.Key, RuleID: f.RuleID, Justification: strings.TrimSpace(in.Justification),
			RequestedByID: actor.UserID, Status: ExceptionPending, ExpiresAt: in.ExpiresAt.UTC()}
		if err := tx.Omit("RequestedBy", "DecidedBy").Create(&ex).Error; err != nil {
			return fmt.Errorf("create exception: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "exception.request", ObjectType: "finding", ObjectID: fmt.Sprint(f.ID),
			After: map[string]any{"exception": ex.ID, "finding": f.Key, "expires_at": ex.ExpiresAt, "justification": ex.Justification}})
	})
	return ex, err
}

// DecideException approves or rejects a pending exception. The requester
// may not decide their own request.
func (s *Store) DecideException(ctx context.Context, actor Actor, id uint, approve bool) (RiskException, error) {
	var ex RiskException
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&ex, id).Error; err != nil {
			return mapError(err)
		}
		if ex.Status != ExceptionPending {
			return fmt.Errorf("%w: the exception is %s", ErrInvalidTransition, ex.Status)
		}
		if ex.RequestedByID == actor.UserID {
			return fmt.Errorf("%w: you requested this exception, so someone else must decide it", ErrForbidden)
		}
		if approve && !ex.ExpiresAt.After(s.Now()) {
			return fmt.Errorf("%w: the exception's end date has passed", ErrInvalidTransition)
		}
		now := s.Now()
		uid := actor.UserID
		ex.DecidedByID, ex.DecidedAt, ex.Status = &uid, &now, ExceptionRejected
		action := "exception.reject"
		if approve {
			ex.Status, action = ExceptionApproved, "exception.approve"
		}
		if err := tx.Model(&RiskException{}).Where("id = ?", ex.ID).Updates(map[string]any{"status": ex.Status,
			"decided_by_id": uid, "decided_at": now}).Error; err != nil {
			return fmt.Errorf("decide exception: %w", err)
		}
		if approve {
			if err := tx.Model(&Finding{}).Where("key = ?", ex.FindingKey).Update("excepted_until", ex.ExpiresAt).Error; err != nil {
				return fmt.Errorf("mark finding excepted: %w", err)
			}
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: action, ObjectType: "exception", ObjectID: fmt.Sprint(ex.ID),
			After: map[string]any{"finding": ex.FindingKey, "status": ex.Status, "expires_at": ex.ExpiresAt}})
	})
	return ex, err
}

// ExpireExceptions marks approved exceptions past their end as expired, so
// their findings count as open again (they already do, by date; this makes
// the change visible in the audit log). It returns how many expired.
func (s *Store) ExpireExceptions(ctx context.Context) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var due []RiskException
		if err := tx.Where("status = ? AND expires_at <= ?", ExceptionApproved, s.Now()).Find(&due).Error; err != nil {
			return err
		}
		for _, ex := range due {
			if err := tx.Model(&RiskException{}).Where("id = ?", ex.ID).Update("status", ExceptionExpired).Error; err != nil {
				return err
			}
			if err := tx.Model(&Finding{}).Where("key = ? AND excepted_until <= ?", ex.FindingKey, s.Now()).
				Update("excepted_until", nil).Error; err != nil {
				return err
			}
			if err := s.appendAudit(tx, SystemActor("exceptions"), AuditEntry{Action: "exception.expire", ObjectType: "exception",
				ObjectID: fmt.Sprint(ex.ID), After: map[string]any{"finding": ex.FindingKey}}); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

// ExceptionsOf lists the exceptions of a finding, newest first.
func (s *Store) ExceptionsOf(ctx context.Context, findingKey string) ([]RiskException, error) {
	var out []RiskException
	err := s.r(ctx).Preload("RequestedBy").Preload("DecidedBy").Where("finding_key = ?", findingKey).Order("id DESC").Find(&out).Error
	return out, err
}

// ExceptionRow is an exception in the list, with its finding.
type ExceptionRow struct {
	RiskException
	FindingID       uint
	ObjectName      string
	TeamID          uint
	RequestedByName string
	DecidedByName   string
}

// ExceptionFilter narrows the exception list.
type ExceptionFilter struct {
	ListParams
	Scope  TeamScope
	Status ExceptionStatus
}

// Exceptions lists exceptions of findings in scope, pending first.
func (s *Store) Exceptions(ctx context.Context, f ExceptionFilter) (Page[ExceptionRow], error) {
	f.ListParams = f.ListParams.Normalize()
	page := Page[ExceptionRow]{Params: f.ListParams}
	build := func() *gorm.DB {
		q := f.Scope.apply(s.r(ctx).Table("risk_exceptions").Joins("JOIN findings ON findings.key = risk_exceptions.finding_key"), "findings.team_id")
		if f.Status != "" {
			q = q.Where("risk_exceptions.status = ?", f.Status)
		}
		if f.Search != "" {
			p := likePattern(f.Search)
			q = q.Where(`(LOWER(findings.object_name) LIKE ? ESCAPE '\' OR LOWER(risk_exceptions.justification) LIKE ? ESCAPE '\')`, p, p)
		}
		return q
	}
	if err := build().Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count exceptions: %w", err)
	}
	err := build().Select(`risk_exceptions.*, findings.id AS finding_id, findings.object_name, findings.team_id,
		ru.name AS requested_by_name, du.name AS decided_by_name`).
		Joins("JOIN users ru ON ru.id = risk_exceptions.requested_by_id").
		Joins("LEFT JOIN users du ON du.id = risk_exceptions.decided_by_id").
		Order("CASE risk_exceptions.status WHEN 'pending' THEN 0 ELSE 1 END, risk_exceptions.id DESC").
		Limit(f.PerPage).Offset(f.Offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list exceptions: %w", err)
	}
	return page, nil
}

// ExceptionByID returns one exception.
func (s *Store) ExceptionByID(ctx context.Context, id uint) (RiskException, error) {
	var ex RiskException
	return ex, mapError(s.r(ctx).Preload("RequestedBy").Preload("DecidedBy").First(&ex, id).Error)
}

// FindingByKey returns the finding with the key.
func (s *Store) FindingByKey(ctx context.Context, key string) (Finding, error) {
	var f Finding
	return f, mapError(s.r(ctx).Where("key = ?", key).First(&f).Error)
}
