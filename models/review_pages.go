package models

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Reads used by the review pages: grants with the names an approver reads,
// a page of outbox deliveries, one notification channel, and a request by
// either of its ids.

// ReviewRequestByRef returns a request by its public id ("rv_…") or its
// numeric id, as both appear in links.
func (s *Store) ReviewRequestByRef(ctx context.Context, ref string) (ReviewRequest, error) {
	if strings.HasPrefix(ref, "rv_") {
		return s.ReviewRequestByPublicID(ctx, ref)
	}
	n, err := strconv.ParseUint(ref, 10, 64)
	if err != nil || n == 0 {
		return ReviewRequest{}, ErrNotFound
	}
	return s.ReviewRequestByID(ctx, uint(n))
}

// GrantListFilter narrows the grant list page.
type GrantListFilter struct {
	ListParams
	Scope TeamScope
	// LiveOnly keeps grants that can still be used (the default view).
	LiveOnly bool
	TeamID   uint
}

// GrantRow is a grant in a list, with its server, tool, team and request.
type GrantRow struct {
	Grant
	ServerSlug string
	ToolName   string
	TeamName   string
	// ReviewPublicID is the public id of the request that yielded it.
	ReviewPublicID string
}

// GrantRows lists grants of the teams in scope, newest first, searchable by
// subject, task id and grant id.
func (s *Store) GrantRows(ctx context.Context, f GrantListFilter) (Page[GrantRow], error) {
	f.ListParams = f.ListParams.Normalize()
	q := f.Scope.apply(s.r(ctx).Table("grants"), "grants.team_id")
	if f.LiveOnly {
		q = q.Where("grants.uses < grants.max_uses AND grants.revoked_at IS NULL AND grants.expires_at > ?", s.Now())
	}
	if f.TeamID != 0 {
		q = q.Where("grants.team_id = ?", f.TeamID)
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q = q.Where(`(LOWER(grants.subject) LIKE ? ESCAPE '\' OR LOWER(grants.task_id) LIKE ? ESCAPE '\' OR LOWER(grants.public_id) LIKE ? ESCAPE '\')`, p, p, p)
	}
	page := Page[GrantRow]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count grants: %w", err)
	}
	err := q.Select(`grants.*, servers.slug AS server_slug, tools.name AS tool_name, teams.name AS team_name,
		review_requests.public_id AS review_public_id`).
		Joins("JOIN servers ON servers.id = grants.server_id").
		Joins("JOIN tools ON tools.id = grants.tool_id").
		Joins("JOIN teams ON teams.id = grants.team_id").
		Joins("LEFT JOIN review_requests ON review_requests.id = grants.request_id").
		Order("grants.id DESC").Limit(f.PerPage).Offset(f.Offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list grants: %w", err)
	}
	return page, nil
}

// OutboxFilter narrows the outbox list of the notifications page.
type OutboxFilter struct {
	ListParams
	Scope TeamScope
	// Status filters by state; empty means pending and failed (what still
	// needs attention).
	Status OutboxStatus
}

// OutboxPage lists outbox messages of the teams in scope, newest first,
// searchable by event and subject. Messages without a team are visible to
// org-wide scopes only.
func (s *Store) OutboxPage(ctx context.Context, f OutboxFilter) (Page[OutboxMessage], error) {
	f.ListParams = f.ListParams.Normalize()
	q := f.Scope.apply(s.r(ctx).Model(&OutboxMessage{}), "team_id")
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	} else {
		q = q.Where("status IN ?", []OutboxStatus{OutboxPending, OutboxFailed})
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q = q.Where(`(LOWER(event) LIKE ? ESCAPE '\' OR LOWER(subject) LIKE ? ESCAPE '\')`, p, p)
	}
	page := Page[OutboxMessage]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count outbox: %w", err)
	}
	if err := q.Order("id DESC").Limit(f.PerPage).Offset(f.Offset()).Find(&page.Items).Error; err != nil {
		return page, fmt.Errorf("list outbox: %w", err)
	}
	return page, nil
}

// OutboxMessageByID returns one outbox message.
func (s *Store) OutboxMessageByID(ctx context.Context, id uint) (OutboxMessage, error) {
	var m OutboxMessage
	return m, mapError(s.r(ctx).First(&m, id).Error)
}

// NotificationChannelByID returns one channel.
func (s *Store) NotificationChannelByID(ctx context.Context, id uint) (NotificationChannel, error) {
	var c NotificationChannel
	return c, mapError(s.r(ctx).First(&c, id).Error)
}
