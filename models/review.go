package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ReviewStatus is the state of a review request.
type ReviewStatus string

// Review request states. Only pending requests change state.
const (
	ReviewPending   ReviewStatus = "pending"
	ReviewApproved  ReviewStatus = "approved"
	ReviewDenied    ReviewStatus = "denied"
	ReviewExpired   ReviewStatus = "expired"
	ReviewCancelled ReviewStatus = "cancelled"
)

// ReviewRequest is a tool call that policy held for a human countersignature.
type ReviewRequest struct {
	ID uint `gorm:"primaryKey"`
	// PublicID is the unguessable id used in URLs and by API clients.
	PublicID    string
	TeamID      uint
	Status      ReviewStatus
	Subject     string
	SubjectType string
	// OnBehalfOf is the email of the user the agent acts for.
	OnBehalfOf    string
	ServerID      uint
	ToolID        uint
	EnvironmentID uint
	// ArgumentDigest is the SHA-256 of the arguments' canonical JSON;
	// ArgumentSummary is a redacted JSON summary for approvers.
	ArgumentDigest  string
	ArgumentSummary string
	Justification   string
	TaskID          string
	Risk            Risk
	// RiskReasons is a newline-separated list (see Reasons).
	RiskReasons     string
	RuleID          *uint
	RuleName        string
	ApprovalsNeeded int
	Approvals       int
	ApproverRole    Role
	GrantTTLSeconds int
	GrantMaxUses    int
	ClientID        *uint
	Deadline        time.Time
	CreatedAt       time.Time
	DecidedAt       *time.Time

	Server Server `gorm:"foreignKey:ServerID"`
	Tool   Tool   `gorm:"foreignKey:ToolID"`
}

// Reasons splits RiskReasons.
func (r ReviewRequest) Reasons() []string {
	if r.RiskReasons == "" {
		return nil
	}
	return strings.Split(r.RiskReasons, "\n")
}

// Pending reports whether the request still waits for approvers at now.
func (r ReviewRequest) Pending(now time.Time) bool {
	return r.Status == ReviewPending && now.Before(r.Deadline)
}

// ReviewDecision is one approver's approve or deny of a request; each
// person decides a request at most once.
type ReviewDecision struct {
	ID         uint `gorm:"primaryKey"`
	RequestID  uint
	ApproverID uint
	Approve    bool
	Comment    string
	CreatedAt  time.Time

	Approver User `gorm:"foreignKey:ApproverID"`
}

func reviewSummary(r ReviewRequest) map[string]any {
	return map[string]any{"id": r.PublicID, "status": r.Status, "subject": r.Subject, "on_behalf_of": r.OnBehalfOf,
		"server": r.ServerID, "tool": r.ToolID, "digest": r.ArgumentDigest, "task_id": r.TaskID, "risk": r.Risk,
		"rule": r.RuleID, "approvals": r.Approvals, "approvals_needed": r.ApprovalsNeeded, "deadline": r.Deadline}
}

// reviewEvent is the payload of review.requested and review.decided.
func reviewEvent(r ReviewRequest, serverSlug, toolName string) map[string]any {
	return map[string]any{"review_id": r.PublicID, "status": r.Status, "server": serverSlug, "tool": toolName,
		"subject": r.Subject, "on_behalf_of": r.OnBehalfOf, "risk": r.Risk, "task_id": r.TaskID,
		"approvals": r.Approvals, "approvals_needed": r.ApprovalsNeeded, "deadline": r.Deadline,
		"justification": r.Justification, "arguments": r.ArgumentSummary}
}

// enqueueReviewEvent writes review.requested or review.decided to the
// outbox: for the team's channels, and for the client's webhook when the
// request came from a client that has one.
func (s *Store) enqueueReviewEvent(tx *gorm.DB, event string, r ReviewRequest) error {
	var names struct{ Slug, Name string }
	tx.Raw("SELECT servers.slug AS slug, tools.name AS name FROM servers JOIN tools ON tools.server_id = servers.id WHERE tools.id = ?", r.ToolID).Scan(&names)
	subject := fmt.Sprintf("Review %s: %s/%s for %s", r.Status, names.Slug, names.Name, r.Subject)
	payload := reviewEvent(r, names.Slug, names.Name)
	if err := s.enqueue(tx, Notification{Event: event, TeamID: r.TeamID, Subject: subject, Payload: payload}); err != nil {
		return err
	}
	if event == EventReviewDecided && r.ClientID != nil {
		var c APIClient
		if tx.First(&c, *r.ClientID).Error == nil && c.WebhookURL != "" && c.RevokedAt == nil {
			return s.enqueueForClient(tx, c.ID, Notification{Event: event, TeamID: r.TeamID, Subject: subject, Payload: payload})
		}
	}
	return nil
}

// Events of the review lifecycle, as written to the outbox.
const (
	EventReviewRequested = "review.requested"
	EventReviewDecided   = "review.decided"
)

// ReviewRequestByPublicID returns a request by its public id.
func (s *Store) ReviewRequestByPublicID(ctx context.Context, publicID string) (ReviewRequest, error) {
	var r ReviewRequest
	if publicID == "" || len(publicID) > 40 {
		return r, ErrNotFound
	}
	return r, mapError(s.r(ctx).Where("public_id = ?", publicID).First(&r).Error)
}

// ReviewRequestByID returns a request by its numeric id.
func (s *Store) ReviewRequestByID(ctx context.Context, id uint) (ReviewRequest, error) {
	var r ReviewRequest
	return r, mapError(s.r(ctx).First(&r, id).Error)
}

// ApproveReview records the approval of the acting user (actor.UserID).
// When approvals reach the request's threshold, the request is approved and
// its grant created. See decideReview for the rules.
func (s *Store) ApproveReview(ctx context.Context, actor Actor, id uint, comment string) (ReviewRequest, error) {
	return s.decideReview(ctx, actor, id, true, comment)
}

// DenyReview records the deny of the acting user; one deny ends the
// request. A comment is required.
func (s *Store) DenyReview(ctx context.Context, actor Actor, id uint, comment string) (ReviewRequest, error) {
	return s.decideReview(ctx, actor, id, false, comment)
}

// decideReview applies separation of duties and the threshold:
//   - the request must be pending and before its deadline (else ErrInvalidTransition);
//   - the user must be active and hold the request's approver role in the
//     server's team (org-wide only for admin) (else ErrForbidden);
//   - the requesting subject and the on-behalf-of user (matched by email)
//     can never decide (ErrForbidden);
//   - each person decides once (a second decision is ErrInvalidTransition);
//   - a deny needs a comment (ValidationError) and ends the request.
//
// The decision, the state change, the grant and the notification are
// written in one transaction with their audit events.
func (s *Store) decideReview(ctx context.Context, actor Actor, id uint, approve bool, comment string) (ReviewRequest, error) {
	comment = strings.TrimSpace(comment)
	v := NewValidationError()
	if !approve && comment == "" {
		v.Add("comment", "Say why you deny the request.")
	}
	if len(comment) > 2000 {
		v.Add("comment", "Use at most 2000 characters.")
	}
	if err := v.Err(); err != nil {
		return ReviewRequest{}, err
	}
	if actor.UserID == 0 {
		return ReviewRequest{}, fmt.Errorf("%w: only a signed-in person can decide a review", ErrForbidden)
	}
	var req ReviewRequest
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&req, id).Error; err != nil {
			return mapError(err)
		}
		now := s.Now()
		if req.Status != ReviewPending {
			return fmt.Errorf("%w: the request is already %s", ErrInvalidTransition, req.Status)
		}
		if !now.Before(req.Deadline) {
			return fmt.Errorf("%w: the request expired at %s", ErrInvalidTransition, req.Deadline.Format(time.RFC3339))
		}
		if err := s.checkApprover(tx, actor.UserID, req); err != nil {
			return err
		}
		var prior int64
		if err := tx.Model(&ReviewDecision{}).Where("request_id = ? AND approver_id = ?", req.ID, actor.UserID).Count(&prior).Error; err != nil {
			return err
		}
		if prior > 0 {
			return fmt.Errorf("%w: you have already decided this request; each person counts once", ErrInvalidTransition)
		}
		d := ReviewDecision{RequestID: req.ID, ApproverID: actor.UserID, Approve: approve, Comment: comment}
		if err := tx.Omit("Approver").Create(&d).Error; err != nil {
			if errors.Is(mapError(err), ErrConflict) {
				return fmt.Errorf("%w: you have already decided this request; each person counts once", ErrInvalidTransition)
			}
			return fmt.Errorf("record review decision: %w", err)
		}
		action := "review.approve"
		if !approve {
			action = "review.deny"
		}
		before := reviewSummary(req)
		if approve {
			req.Approvals++
		}
		if !approve || req.Approvals >= req.ApprovalsNeeded {
			req.Status, req.DecidedAt = ReviewDenied, &now
			if approve {
				req.Status = ReviewApproved
			}
		}
		res := tx.Model(&ReviewRequest{}).Where("id = ? AND status = ?", req.ID, ReviewPending).
			Updates(map[string]any{"approvals": req.Approvals, "status": req.Status, "decided_at": req.DecidedAt})
		if res.Error != nil {
			return fmt.Errorf("update review request: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("%w: the request changed meanwhile", ErrInvalidTransition)
		}
		if err := s.appendAudit(tx, actor, AuditEntry{Action: action, ObjectType: "review_request", ObjectID: req.PublicID,
			Before: before, After: map[string]any{"status": req.Status, "approvals": req.Approvals, "comment": comment}}); err != nil {
			return err
		}
		if req.Status == ReviewApproved {
			if _, err := s.createGrant(tx, actor, req); err != nil {
				return err
			}
		}
		if req.Status != ReviewPending {
			return s.enqueueReviewEvent(tx, EventReviewDecided, req)
		}
		return nil
	})
	if err != nil {
		return ReviewRequest{}, err
	}
	return req, nil
}

// checkApprover refuses a user who may not decide the request.
func (s *Store) checkApprover(tx *gorm.DB, userID uint, req ReviewRequest) error {
	var u User
	if err := tx.First(&u, userID).Error; err != nil || !u.Active {
		return fmt.Errorf("%w: your account is not active", ErrForbidden)
	}
	if req.OnBehalfOf != "" && strings.EqualFold(strings.TrimSpace(req.OnBehalfOf), u.Email) {
		return fmt.Errorf("%w: the request is made on your behalf; someone else must decide it", ErrForbidden)
	}
	if strings.EqualFold(strings.TrimSpace(req.Subject), u.Email) {
		return fmt.Errorf("%w: you made this request; someone else must decide it", ErrForbidden)
	}
	ok, err := holdsRole(tx, userID, req.ApproverRole, req.TeamID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: you hold no %s role in the team of this server", ErrForbidden, req.ApproverRole)
	}
	return nil
}

// holdsRole reports whether the user holds the role in the team, or
// org-wide for roles that may be held org-wide.
func holdsRole(tx *gorm.DB, userID uint, role Role, teamID uint) (bool, error) {
	q := tx.Model(&RoleAssignment{}).Where("user_id = ? AND role = ?", userID, role)
	if role.MayBeOrgWide() {
		q = q.Where("(team_id = ? OR scope = ?)", teamID, OrgWide)
	} else {
		q = q.Where("team_id = ?", teamID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return false, fmt.Errorf("check approver role: %w", err)
	}
	return n > 0, nil
}

// CanDecideReview tells the UI whether a user may approve or deny a
// request now, and if not, why (the same checks as ApproveReview, except
// the threshold). It changes nothing.
func (s *Store) CanDecideReview(ctx context.Context, userID uint, req ReviewRequest) (bool, string, error) {
	if !req.Pending(s.Now()) {
		return false, fmt.Sprintf("The request is %s.", req.Status), nil
	}
	err := s.checkApprover(s.r(ctx), userID, req)
	if errors.Is(err, ErrForbidden) {
		_, why, _ := strings.Cut(err.Error(), ": ")
		return false, why, nil
	}
	if err != nil {
		return false, "", err
	}
	var prior int64
	if err := s.r(ctx).Model(&ReviewDecision{}).Where("request_id = ? AND approver_id = ?", req.ID, userID).Count(&prior).Error; err != nil {
		return false, "", err
	}
	if prior > 0 {
		return false, "You have already decided this request.", nil
	}
	return true, "", nil
}

// ExpireReviews marks pending requests past their deadline as expired, each
// with its audit event and a review.decided notification. It returns how
// many it expired.
func (s *Store) ExpireReviews(ctx context.Context) (int, error) {
	var due []ReviewRequest
	if err := s.r(ctx).Where("status = ? AND deadline <= ?", ReviewPending, s.Now()).Order("deadline").Limit(1000).Find(&due).Error; err != nil {
		return 0, fmt.Errorf("find expired reviews: %w", err)
	}
	n := 0
	for _, r := range due {
		err := s.tx(ctx, func(tx *gorm.DB) error {
			ok, err := s.expireReview(tx, SystemActor("scheduler"), r)
			if ok {
				n++
			}
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// expireReview moves one request from pending to expired inside tx.
func (s *Store) expireReview(tx *gorm.DB, actor Actor, r ReviewRequest) (bool, error) {
	now := s.Now()
	res := tx.Model(&ReviewRequest{}).Where("id = ? AND status = ? AND deadline <= ?", r.ID, ReviewPending, now).
		Updates(map[string]any{"status": ReviewExpired, "decided_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("expire review: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	r.Status, r.DecidedAt = ReviewExpired, &now
	if err := s.appendAudit(tx, actor, AuditEntry{Action: "review.expire", ObjectType: "review_request", ObjectID: r.PublicID,
		Before: map[string]any{"status": ReviewPending}, After: map[string]any{"status": ReviewExpired}}); err != nil {
		return false, err
	}
	return true, s.enqueueReviewEvent(tx, EventReviewDecided, r)
}

// CancelReview cancels a pending request (for example when the caller gave
// up); it is audited and notified.
func (s *Store) CancelReview(ctx context.Context, actor Actor, id uint, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r ReviewRequest
		if err := tx.First(&r, id).Error; err != nil {
			return mapError(err)
		}
		return s.cancelReview(tx, actor, r, reason)
	})
}

func (s *Store) cancelReview(tx *gorm.DB, actor Actor, r ReviewRequest, reason string) error {
	now := s.Now()
	res := tx.Model(&ReviewRequest{}).Where("id = ? AND status = ?", r.ID, ReviewPending).
		Updates(map[string]any{"status": ReviewCancelled, "decided_at": now})
	if res.Error != nil {
		return fmt.Errorf("cancel review: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: the request is already %s", ErrInvalidTransition, r.Status)
	}
	r.Status, r.DecidedAt = ReviewCancelled, &now
	if err := s.appendAudit(tx, actor, AuditEntry{Action: "review.cancel", ObjectType: "review_request", ObjectID: r.PublicID,
		Before: map[string]any{"status": ReviewPending}, After: map[string]any{"status": ReviewCancelled, "reason": reason}}); err != nil {
		return err
	}
	return s.enqueueReviewEvent(tx, EventReviewDecided, r)
}
