package models

import (
	"context"
	"fmt"
	"time"
)

// ReviewFilter narrows the review queue.
type ReviewFilter struct {
	ListParams
	Scope TeamScope
	// Status filters by state; empty means every state.
	Status ReviewStatus
	// ServerID and ToolID narrow to one server or tool (0: any).
	ServerID uint
	ToolID   uint
	// TeamID and EnvironmentID narrow to one team and one environment (0:
	// any); CreatedFrom/CreatedTo to requests made in [CreatedFrom,
	// CreatedTo) when set (reports and their exports).
	TeamID        uint
	EnvironmentID uint
	CreatedFrom   time.Time
	CreatedTo     time.Time
}

// ReviewRow is a request in a list, with the names an approver reads.
type ReviewRow struct {
	ReviewRequest
	ServerSlug      string
	ServerName      string
	ToolName        string
	EnvironmentName string
	Sensitive       bool
	TeamName        string
}

// ReviewRequests lists requests of the teams in scope. Pending requests
// come oldest first (the queue order); other states newest first.
func (s *Store) ReviewRequests(ctx context.Context, f ReviewFilter) (Page[ReviewRow], error) {
	f.ListParams = f.ListParams.Normalize()
	q := f.Scope.apply(s.r(ctx).Table("review_requests"), "review_requests.team_id")
	if f.Status != "" {
		q = q.Where("review_requests.status = ?", f.Status)
	}
	if f.ServerID != 0 {
		q = q.Where("review_requests.server_id = ?", f.ServerID)
	}
	if f.ToolID != 0 {
		q = q.Where("review_requests.tool_id = ?", f.ToolID)
	}
	if f.TeamID != 0 {
		q = q.Where("review_requests.team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("review_requests.environment_id = ?", f.EnvironmentID)
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("review_requests.created_at >= ?", f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("review_requests.created_at < ?", f.CreatedTo)
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q = q.Where(`(LOWER(review_requests.subject) LIKE ? ESCAPE '\' OR LOWER(review_requests.on_behalf_of) LIKE ? ESCAPE '\' OR LOWER(review_requests.task_id) LIKE ? ESCAPE '\')`, p, p, p)
	}
	page := Page[ReviewRow]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count review requests: %w", err)
	}
	order := "review_requests.created_at DESC, review_requests.id DESC"
	if f.Status == ReviewPending {
		order = "review_requests.created_at ASC, review_requests.id ASC"
	}
	err := q.Select(`review_requests.*, servers.slug AS server_slug, servers.name AS server_name, tools.name AS tool_name,
		environments.name AS environment_name, environments.sensitive AS sensitive, teams.name AS team_name`).
		Joins("JOIN servers ON servers.id = review_requests.server_id").
		Joins("JOIN tools ON tools.id = review_requests.tool_id").
		Joins("JOIN environments ON environments.id = review_requests.environment_id").
		Joins("JOIN teams ON teams.id = review_requests.team_id").
		Order(order).Limit(f.PerPage).Offset(f.Offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list review requests: %w", err)
	}
	return page, nil
}

// PendingReviewCount counts the pending requests of the teams in scope that
// are still before their deadline (the navigation badge).
func (s *Store) PendingReviewCount(ctx context.Context, scope TeamScope) (int64, error) {
	var n int64
	err := scope.apply(s.r(ctx).Model(&ReviewRequest{}), "team_id").
		Where("status = ? AND deadline > ?", ReviewPending, s.Now()).Count(&n).Error
	return n, err
}

// ReviewView is everything an approver needs to decide a request: the
// request, its server (with team and environment) and tool, the decisions
// so far (with approvers), the grant it yielded, and the client that asked.
type ReviewView struct {
	Request   ReviewRequest
	Server    Server
	Tool      Tool
	Decisions []ReviewDecision
	Grants    []Grant
	Client    *APIClient
}

// ReviewViewByID loads a ReviewView.
func (s *Store) ReviewViewByID(ctx context.Context, id uint) (ReviewView, error) {
	var v ReviewView
	db := s.r(ctx)
	if err := db.First(&v.Request, id).Error; err != nil {
		return v, mapError(err)
	}
	if err := db.Preload("Team").Preload("Environment").Preload("Owner").First(&v.Server, v.Request.ServerID).Error; err != nil {
		return v, mapError(err)
	}
	if err := db.First(&v.Tool, v.Request.ToolID).Error; err != nil {
		return v, mapError(err)
	}
	if err := db.Preload("Approver").Where("request_id = ?", id).Order("id").Find(&v.Decisions).Error; err != nil {
		return v, fmt.Errorf("load review decisions: %w", err)
	}
	if err := db.Where("request_id = ?", id).Order("id").Find(&v.Grants).Error; err != nil {
		return v, fmt.Errorf("load grants: %w", err)
	}
	if v.Request.ClientID != nil {
		var c APIClient
		if db.First(&c, *v.Request.ClientID).Error == nil {
			v.Client = &c
		}
	}
	return v, nil
}

// SimilarReviews lists other requests for the same server and tool, newest
// first (the history an approver compares with).
func (s *Store) SimilarReviews(ctx context.Context, req ReviewRequest, limit int) ([]ReviewRequest, error) {
	var out []ReviewRequest
	err := s.r(ctx).Where("server_id = ? AND tool_id = ? AND id <> ?", req.ServerID, req.ToolID, req.ID).
		Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// GrantFilter narrows the grant list.
type GrantFilter struct {
	Scope TeamScope
	// LiveOnly keeps grants that can still be used.
	LiveOnly bool
	TaskID   string
	Limit    int
}

// Grants lists grants of the teams in scope, newest first.
func (s *Store) Grants(ctx context.Context, f GrantFilter) ([]Grant, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := f.Scope.apply(s.r(ctx).Model(&Grant{}), "team_id")
	if f.LiveOnly {
		q = q.Where("uses < max_uses AND revoked_at IS NULL AND expires_at > ?", s.Now())
	}
	if f.TaskID != "" {
		q = q.Where("task_id = ?", f.TaskID)
	}
	var out []Grant
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, err
}

// DecisionFilter narrows the decision log.
type DecisionFilter struct {
	ListParams
	Scope    TeamScope
	Outcome  DecisionOutcome
	ServerID uint
	ClientID uint
	// From and To keep decisions made in [From, To), when set.
	From, To time.Time
}

// Decisions lists recorded evaluations of the teams in scope, newest first.
func (s *Store) Decisions(ctx context.Context, f DecisionFilter) (Page[DecisionRecord], error) {
	f.ListParams = f.ListParams.Normalize()
	if err := s.decisions.flush(ctx); err != nil {
		return Page[DecisionRecord]{Params: f.ListParams}, err
	}
	q := f.Scope.apply(s.r(ctx).Model(&DecisionRecord{}), "team_id")
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To)
	}
	if f.ServerID != 0 {
		q = q.Where("server_id = ?", f.ServerID)
	}
	if f.ClientID != 0 {
		q = q.Where("client_id = ?", f.ClientID)
	}
	page := Page[DecisionRecord]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count decisions: %w", err)
	}
	// By time: ids are unique but not in time order across the decision
	// log's reserved blocks and the rows the table numbers itself.
	err := q.Order("at DESC, id DESC").Limit(f.PerPage).Offset(f.Offset()).Find(&page.Items).Error
	return page, err
}
