package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Grant is what an approval yields: permission for one call, bound to
// (subject, server, tool, argument digest, task id), for a short time and a
// limited number of uses. Consumption is a conditional UPDATE, so exactly
// one caller wins the last use.
type Grant struct {
	ID             uint `gorm:"primaryKey"`
	PublicID       string
	TeamID         uint
	RequestID      *uint
	Subject        string
	ServerID       uint
	ToolID         uint
	ArgumentDigest string
	TaskID         string
	ExpiresAt      time.Time
	MaxUses        int
	Uses           int
	RevokedAt      *time.Time
	RevokedReason  string
	ExpiredAt      *time.Time
	CreatedAt      time.Time
	LastUsedAt     *time.Time
}

// GrantState is a grant's state at a given time.
type GrantState string

// Grant states.
const (
	GrantLive    GrantState = "live"
	GrantUsed    GrantState = "used"
	GrantExpired GrantState = "expired"
	GrantRevoked GrantState = "revoked"
)

// State returns the grant's state at now.
func (g Grant) State(now time.Time) GrantState {
	switch {
	case g.RevokedAt != nil:
		return GrantRevoked
	case g.Uses >= g.MaxUses:
		return GrantUsed
	case !now.Before(g.ExpiresAt):
		return GrantExpired
	}
	return GrantLive
}

func grantSummary(g Grant) map[string]any {
	return map[string]any{"id": g.PublicID, "subject": g.Subject, "server": g.ServerID, "tool": g.ToolID,
		"digest": g.ArgumentDigest, "task_id": g.TaskID, "expires_at": g.ExpiresAt, "max_uses": g.MaxUses, "uses": g.Uses}
}

// createGrant writes the grant of an approved request inside tx.
func (s *Store) createGrant(tx *gorm.DB, actor Actor, req ReviewRequest) (Grant, error) {
	ttl := time.Duration(req.GrantTTLSeconds) * time.Second
	if ttl <= 0 {
		ttl = DefaultGrantTTL
	}
	if ttl > MaxGrantTTL {
		ttl = MaxGrantTTL
	}
	uses := req.GrantMaxUses
	if uses <= 0 {
		uses = 1
	}
	id := req.ID
	g := Grant{PublicID: "gr_" + RandomToken(12), TeamID: req.TeamID, RequestID: &id, Subject: req.Subject,
		ServerID: req.ServerID, ToolID: req.ToolID, ArgumentDigest: req.ArgumentDigest, TaskID: req.TaskID,
		ExpiresAt: s.Now().Add(ttl), MaxUses: uses}
	if err := tx.Create(&g).Error; err != nil {
		return g, fmt.Errorf("create grant: %w", err)
	}
	return g, s.appendAudit(tx, actor, AuditEntry{Action: "grant.create", ObjectType: "grant", ObjectID: g.PublicID,
		After: grantSummary(g)})
}

// grantKey is what a grant is bound to.
type grantKey struct {
	Subject        string
	ServerID       uint
	ToolID         uint
	ArgumentDigest string
	TaskID         string
}

// hasLiveGrant is a cheap read that tells whether consumeGrant can succeed,
// so that calls without a grant do not queue for the writer.
func (s *Store) hasLiveGrant(ctx context.Context, k grantKey) (bool, error) {
	var n int64
	err := s.r(ctx).Model(&Grant{}).Where("subject = ? AND server_id = ? AND tool_id = ? AND argument_digest = ? AND task_id = ? "+
		"AND uses < max_uses AND revoked_at IS NULL AND expires_at > ?", k.Subject, k.ServerID, k.ToolID, k.ArgumentDigest, k.TaskID, s.Now()).
		Limit(1).Count(&n).Error
	return n > 0, err
}

// consumeGrant uses one use of a live grant bound to k, inside tx. The
// UPDATE is conditional (uses < max_uses, not revoked, not expired) and its
// row count says who won, so concurrent callers can never overspend a grant.
// It returns nil when no live grant is left.
func (s *Store) consumeGrant(tx *gorm.DB, actor Actor, k grantKey) (*Grant, error) {
	now := s.Now()
	for attempt := 0; attempt < 5; attempt++ {
		var candidates []Grant
		err := tx.Where("subject = ? AND server_id = ? AND tool_id = ? AND argument_digest = ? AND task_id = ? "+
			"AND uses < max_uses AND revoked_at IS NULL AND expires_at > ?", k.Subject, k.ServerID, k.ToolID, k.ArgumentDigest, k.TaskID, now).
			Order("expires_at, id").Limit(1).Find(&candidates).Error
		if err != nil {
			return nil, fmt.Errorf("find grant: %w", err)
		}
		if len(candidates) == 0 {
			return nil, nil
		}
		g := candidates[0]
		res := tx.Model(&Grant{}).Where("id = ? AND uses < max_uses AND revoked_at IS NULL AND expires_at > ?", g.ID, now).
			Updates(map[string]any{"uses": gorm.Expr("uses + 1"), "last_used_at": now})
		if res.Error != nil {
			return nil, fmt.Errorf("consume grant: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			continue // another caller took it; look again
		}
		g.Uses++
		g.LastUsedAt = &now
		return &g, s.appendAudit(tx, actor, AuditEntry{Action: "grant.use", ObjectType: "grant", ObjectID: g.PublicID,
			After: map[string]any{"uses": g.Uses, "max_uses": g.MaxUses}})
	}
	return nil, nil
}

// RevokeGrant revokes one live grant (from the UI), with a reason.
func (s *Store) RevokeGrant(ctx context.Context, actor Actor, id uint, reason string) error {
	reason = strings.TrimSpace(reason)
	if len(reason) > 300 {
		v := NewValidationError()
		v.Add("reason", "Use at most 300 characters.")
		return v
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var g Grant
		if err := tx.First(&g, id).Error; err != nil {
			return mapError(err)
		}
		if g.RevokedAt != nil {
			return fmt.Errorf("%w: the grant is already revoked", ErrInvalidTransition)
		}
		return s.revokeGrant(tx, actor, g, reason)
	})
}

func (s *Store) revokeGrant(tx *gorm.DB, actor Actor, g Grant, reason string) error {
	now := s.Now()
	res := tx.Model(&Grant{}).Where("id = ? AND revoked_at IS NULL", g.ID).
		Updates(map[string]any{"revoked_at": now, "revoked_reason": reason})
	if res.Error != nil {
		return fmt.Errorf("revoke grant: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return s.appendAudit(tx, actor, AuditEntry{Action: "grant.revoke", ObjectType: "grant", ObjectID: g.PublicID,
		Before: grantSummary(g), After: map[string]any{"reason": reason}})
}

// TaskCompletion counts what completing a task ended.
type TaskCompletion struct {
	GrantsRevoked    int `json:"grants_revoked"`
	ReviewsCancelled int `json:"reviews_cancelled"`
}

// CompleteTask is called when an agent reports a task done: every grant of
// the task in the team that is not yet revoked is revoked, and pending
// review requests of the task are cancelled, all audited in one
// transaction.
func (s *Store) CompleteTask(ctx context.Context, actor Actor, teamID uint, taskID string) (TaskCompletion, error) {
	var out TaskCompletion
	taskID = strings.TrimSpace(taskID)
	if taskID == "" || len(taskID) > 200 {
		v := NewValidationError()
		v.Add("task_id", "Give the task id (at most 200 characters).")
		return out, v
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		out = TaskCompletion{}
		var grants []Grant
		if err := tx.Where("team_id = ? AND task_id = ? AND revoked_at IS NULL", teamID, taskID).Find(&grants).Error; err != nil {
			return fmt.Errorf("find grants of task: %w", err)
		}
		for _, g := range grants {
			if err := s.revokeGrant(tx, actor, g, "task completed"); err != nil {
				return err
			}
			out.GrantsRevoked++
		}
		var pending []ReviewRequest
		if err := tx.Where("team_id = ? AND task_id = ? AND status = ?", teamID, taskID, ReviewPending).Find(&pending).Error; err != nil {
			return fmt.Errorf("find reviews of task: %w", err)
		}
		for _, r := range pending {
			if err := s.cancelReview(tx, actor, r, "task completed"); err != nil {
				return err
			}
			out.ReviewsCancelled++
		}
		return nil
	})
	return out, err
}

// ExpireGrants marks grants past their expiry (and not revoked or already
// marked) as expired, with an audit event each.
func (s *Store) ExpireGrants(ctx context.Context) (int, error) {
	var due []Grant
	now := s.Now()
	if err := s.r(ctx).Where("expires_at <= ? AND expired_at IS NULL AND revoked_at IS NULL", now).Limit(1000).Find(&due).Error; err != nil {
		return 0, fmt.Errorf("find expired grants: %w", err)
	}
	n := 0
	for _, g := range due {
		err := s.tx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&Grant{}).Where("id = ? AND expired_at IS NULL", g.ID).Update("expired_at", now)
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			n++
			return s.appendAudit(tx, SystemActor("scheduler"), AuditEntry{Action: "grant.expire", ObjectType: "grant",
				ObjectID: g.PublicID, After: map[string]any{"uses": g.Uses, "max_uses": g.MaxUses}})
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// GrantByID returns one grant.
func (s *Store) GrantByID(ctx context.Context, id uint) (Grant, error) {
	var g Grant
	return g, mapError(s.r(ctx).First(&g, id).Error)
}

// GrantsOfReview lists the grants an approved request yielded.
func (s *Store) GrantsOfReview(ctx context.Context, requestID uint) ([]Grant, error) {
	var out []Grant
	err := s.r(ctx).Where("request_id = ?", requestID).Order("id").Find(&out).Error
	return out, err
}
