package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// RotationTaskState is where a rotation task stands.
type RotationTaskState string

// Rotation task states: a task is created due when its credential's next
// due time passes, becomes overdue (and escalates) when the grace period
// ends, and is completed when someone rotates the secret.
const (
	TaskDue       RotationTaskState = "due"
	TaskOverdue   RotationTaskState = "overdue"
	TaskCompleted RotationTaskState = "completed"
)

// Open reports whether the task still waits for a rotation.
func (s RotationTaskState) Open() bool { return s == TaskDue || s == TaskOverdue }

// How a rotation was completed.
const (
	RotationBySecret    = "secret"    // the new secret was pasted (fingerprinted, dropped)
	RotationByConfirm   = "confirmed" // confirmed with a note
	RotationByWebhook   = "webhook"   // an external system called back, signed
	RotationSignatureHd = "X-Countersign-Signature"
)

// RotationTask is one rotation of one credential, due at DueAt (the
// credential's next due time when the task was created).
type RotationTask struct {
	ID            uint `gorm:"primaryKey"`
	CredentialID  uint
	DueAt         time.Time
	TeamID        uint
	EnvironmentID uint
	State         RotationTaskState
	// GraceUntil is when a due task becomes overdue.
	GraceUntil time.Time
	OverdueAt  *time.Time
	// EscalatedTo lists the governance people told when it became overdue.
	EscalatedTo   string
	CompletedAt   *time.Time
	CompletedByID *uint
	CompletedBy   string
	Method        string
	Note          string
	CreatedAt     time.Time

	Credential Credential `gorm:"foreignKey:CredentialID"`
}

// Late reports whether the rotation was (or, while open, is) past its grace
// period.
func (t RotationTask) Late(now time.Time) bool {
	if t.CompletedAt != nil {
		return t.CompletedAt.After(t.GraceUntil)
	}
	return now.After(t.GraceUntil)
}

// RotationCheck counts one run of the due check.
type RotationCheck struct {
	Due, Overdue int
}

// rotationBatch bounds the rows one transaction of the due check handles.
const rotationBatch = 200

type dueCredential struct {
	ID                 uint
	Name               string
	TeamID             uint
	EnvironmentID      uint
	NextDueAt          time.Time
	OwnerID            *uint
	RotationWebhookURL string
}

// RunRotationDueCheck is the every-minute job: credentials whose next due
// time has passed get a due task (their owner and team are notified, and
// their rotation webhook called); due tasks past their grace period become
// overdue and escalate to the team's governance people. It reads
// credentials through the (status, next_due_at) index and never needs a
// timer per credential. It is idempotent: a credential has one task per
// due time (a unique key), so a second run creates nothing.
func (s *Store) RunRotationDueCheck(ctx context.Context) (RotationCheck, error) {
	var res RotationCheck
	now := s.Now()
	for {
		var rows []dueCredential
		err := s.r(ctx).Raw(`SELECT c.id, c.name, c.team_id, c.environment_id, c.next_due_at, c.owner_id, c.rotation_webhook_url
			FROM credentials c
			WHERE c.status = ? AND c.next_due_at <= ?
			AND NOT EXISTS (SELECT 1 FROM rotation_tasks t WHERE t.credential_id = c.id AND t.due_at = c.next_due_at)
			ORDER BY c.next_due_at, c.id LIMIT ?`, CredentialActive, now, rotationBatch).Scan(&rows).Error
		if err != nil {
			return res, fmt.Errorf("find due credentials: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		created := 0
		err = s.tx(ctx, func(tx *gorm.DB) error {
			for _, c := range rows {
				ok, err := s.openRotationTask(tx, c, now)
				if err != nil {
					return err
				}
				if ok {
					created++
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Due += created
		if len(rows) < rotationBatch || created == 0 {
			break
		}
	}
	n, err := s.markOverdueRotations(ctx, now)
	res.Overdue = n
	return res, err
}

// openRotationTask creates the due task of c, audited and notified. It
// reports false when another run created it first.
func (s *Store) openRotationTask(tx *gorm.DB, c dueCredential, now time.Time) (bool, error) {
	task := RotationTask{CredentialID: c.ID, DueAt: c.NextDueAt.UTC(), TeamID: c.TeamID, EnvironmentID: c.EnvironmentID,
		State: TaskDue, GraceUntil: c.NextDueAt.UTC().Add(DefaultRotationGrace)}
	res := tx.Omit("Credential").Clauses(clause.OnConflict{DoNothing: true}).Create(&task)
	if res.Error != nil {
		return false, fmt.Errorf("create rotation task: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	payload := map[string]any{"task_id": task.ID, "credential_id": c.ID, "credential": c.Name, "due_at": task.DueAt,
		"overdue_after": task.GraceUntil, "owner_id": c.OwnerID}
	if err := s.appendAudit(tx, SystemActor("rotation due check"), AuditEntry{Action: "rotation.due", ObjectType: "rotation_task",
		ObjectID: fmt.Sprint(task.ID), After: payload}); err != nil {
		return false, err
	}
	n := Notification{Event: EventRotationDue, TeamID: c.TeamID, Payload: payload,
		Subject: fmt.Sprintf("Rotation due: %s (due %s UTC)", c.Name, task.DueAt.Format("2006-01-02 15:04"))}
	if err := s.enqueue(tx, n); err != nil {
		return false, err
	}
	if c.RotationWebhookURL != "" {
		payload["callback"] = fmt.Sprintf("/api/v1/rotations/%d/complete", task.ID)
		if err := s.enqueueForCredential(tx, c.ID, n); err != nil {
			return false, err
		}
	}
	return true, nil
}

// markOverdueRotations moves due tasks past their grace period to overdue
// and escalates each to its team's governance people.
func (s *Store) markOverdueRotations(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		var tasks []RotationTask
		if err := s.r(ctx).Preload("Credential").Where("state = ? AND grace_until <= ?", TaskDue, now).
			Order("grace_until, id").Limit(rotationBatch).Find(&tasks).Error; err != nil {
			return total, fmt.Errorf("find overdue rotations: %w", err)
		}
		if len(tasks) == 0 {
			return total, nil
		}
		moved := 0
		err := s.tx(ctx, func(tx *gorm.DB) error {
			governance := map[uint]string{}
			for _, t := range tasks {
				to, ok := governance[t.TeamID]
				if !ok {
					var emails []string
					if err := tx.Table("role_assignments").Joins("JOIN users ON users.id = role_assignments.user_id").
						Where("role_assignments.team_id = ? AND role_assignments.role = ? AND users.active = ?", t.TeamID, RoleGovernance, true).
						Order("users.email").Distinct().Pluck("users.email", &emails).Error; err != nil {
						return fmt.Errorf("find governance people: %w", err)
					}
					to = strings.Join(emails, ", ")
					governance[t.TeamID] = to
				}
				res := tx.Model(&RotationTask{}).Where("id = ? AND state = ?", t.ID, TaskDue).
					Updates(map[string]any{"state": TaskOverdue, "overdue_at": now, "escalated_to": to})
				if res.Error != nil {
					return fmt.Errorf("mark rotation overdue: %w", res.Error)
				}
				if res.RowsAffected == 0 {
					continue
				}
				moved++
				payload := map[string]any{"task_id": t.ID, "credential_id": t.CredentialID, "credential": t.Credential.Name,
					"due_at": t.DueAt, "escalated_to": to}
				if err := s.appendAudit(tx, SystemActor("rotation due check"), AuditEntry{Action: "rotation.overdue",
					ObjectType: "rotation_task", ObjectID: fmt.Sprint(t.ID), After: payload}); err != nil {
					return err
				}
				if err := s.enqueue(tx, Notification{Event: EventRotationOverdue, TeamID: t.TeamID, Payload: payload,
					Subject: fmt.Sprintf("Rotation overdue: %s (due %s UTC), escalated to governance", t.Credential.Name,
						t.DueAt.Format("2006-01-02 15:04"))}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += moved
		if len(tasks) < rotationBatch || moved == 0 {
			return total, nil
		}
	}
}

// Rotation events in the outbox.
const (
	EventRotationDue       = "rotation.due"
	EventRotationOverdue   = "rotation.overdue"
	EventRotationCompleted = "rotation.completed"
)

// RotationCompletion is the completion form: the new secret (fingerprinted
// and dropped) or a note confirming the rotation.
type RotationCompletion struct {
	Secret string
	Note   string
}

// CompleteRotation completes an open task: with a pasted secret (its
// fingerprint must differ from the credential's) or a note. The
// credential's last rotation moves to now and its next due time to the
// schedule's next time after now. Completing a completed task is
// ErrInvalidTransition, with nothing changed.
func (s *Store) CompleteRotation(ctx context.Context, actor Actor, taskID uint, method string, in RotationCompletion) (RotationTask, error) {
	in.Secret, in.Note = strings.TrimSpace(in.Secret), strings.TrimSpace(in.Note)
	v := NewValidationError()
	switch {
	case len(in.Note) > 2000:
		v.Add("note", "Use at most 2000 characters.")
	case in.Secret == "" && in.Note == "":
		v.Add("note", "Paste the new secret, or confirm the rotation with a note saying what was done.")
	case in.Secret != "" && s.fp == nil:
		v.Add("secret", "Fingerprinting is not configured on this server, so a secret cannot be taken; confirm with a note.")
	}
	if err := v.Err(); err != nil {
		return RotationTask{}, err
	}
	if in.Secret != "" {
		method = RotationBySecret
	}
	var task RotationTask
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Preload("Credential").First(&task, taskID).Error; err != nil {
			return mapError(err)
		}
		if !task.State.Open() {
			return fmt.Errorf("%w: this rotation was already completed", ErrInvalidTransition)
		}
		c := task.Credential
		now := s.Now()
		updates := map[string]any{"last_rotated_at": now, "next_due_at": nil, "updated_at": now}
		if in.Secret != "" {
			fp := s.fp.Fingerprint(in.Secret)
			if fp == c.Fingerprint {
				v := NewValidationError()
				v.Add("secret", "This is the secret the credential already has: rotate it first, then paste the new one.")
				return v.Err()
			}
			updates["fingerprint"], updates["last4"], updates["exposed_in"] = fp, Last4(in.Secret), ""
		}
		var next *time.Time
		if c.RotationSpec != "" {
			if sched, err := ParseRotationSchedule(c.RotationSpec, c.RotationTZ, s.sched); err == nil {
				if n := sched.Next(now); !n.IsZero() {
					next = &n
					updates["next_due_at"] = n
				}
			}
		}
		if err := tx.Model(&Credential{}).Where("id = ?", c.ID).Updates(updates).Error; err != nil {
			return fmt.Errorf("record rotation: %w", err)
		}
		res := tx.Model(&RotationTask{}).Where("id = ? AND state IN ?", task.ID, []RotationTaskState{TaskDue, TaskOverdue}).
			Updates(map[string]any{"state": TaskCompleted, "completed_at": now, "completed_by_id": actor.userID(),
				"completed_by": actor.Label, "method": method, "note": in.Note})
		if res.Error != nil {
			return fmt.Errorf("complete rotation: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: this rotation was already completed", ErrInvalidTransition)
		}
		before := map[string]any{"state": task.State, "last_rotated_at": c.LastRotatedAt, "next_due_at": c.NextDueAt}
		task.State, task.CompletedAt, task.CompletedBy, task.Method, task.Note = TaskCompleted, &now, actor.Label, method, in.Note
		after := map[string]any{"state": task.State, "method": method, "last_rotated_at": now, "next_due_at": next,
			"secret_changed": in.Secret != ""}
		if err := s.appendAudit(tx, actor, AuditEntry{Action: "rotation.complete", ObjectType: "rotation_task",
			ObjectID: fmt.Sprint(task.ID), Before: before, After: after}); err != nil {
			return err
		}
		return s.enqueue(tx, Notification{Event: EventRotationCompleted, TeamID: task.TeamID,
			Subject: fmt.Sprintf("Rotation completed: %s by %s", c.Name, actor.Label),
			Payload: map[string]any{"task_id": task.ID, "credential_id": c.ID, "credential": c.Name, "method": method, "next_due_at": next}})
	})
	return task, err
}

// userID is the actor's user id, or nil for system actors.
func (a Actor) userID() *uint {
	if a.UserID == 0 {
		return nil
	}
	id := a.UserID
	return &id
}

// RotationWebhookSecret is the key a credential's rotation webhook signs
// its callbacks with. It is derived from the server's fingerprint key and
// the credential id, so it is never stored; governance sees it on the
// credential page to configure the external system.
func (s *Store) RotationWebhookSecret(credentialID uint) (string, error) {
	if s.fp == nil {
		return "", fmt.Errorf("%w: fingerprinting is not configured, so rotation callbacks cannot be verified", ErrForbidden)
	}
	m := hmac.New(sha256.New, s.fp.key)
	fmt.Fprintf(m, "countersign rotation webhook\x00%d", credentialID)
	return "whsec_" + hex.EncodeToString(m.Sum(nil)), nil
}

// VerifyRotationCallback checks the signature of a callback body for the
// task: "sha256=" and the hex HMAC-SHA-256 of the body under the
// credential's webhook secret. A bad or missing signature is
// ErrUnauthenticated.
func (s *Store) VerifyRotationCallback(ctx context.Context, taskID uint, body []byte, signature string) (RotationTask, error) {
	var task RotationTask
	if err := s.r(ctx).First(&task, taskID).Error; err != nil {
		return task, ErrUnauthenticated // do not tell an unsigned caller which tasks exist
	}
	secret, err := s.RotationWebhookSecret(task.CredentialID)
	if err != nil {
		return task, err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(signature))) {
		return task, ErrUnauthenticated
	}
	return task, nil
}

// SignRotationCallback returns the signature header value of body for the
// credential (for the external system's side, tests and docs).
func (s *Store) SignRotationCallback(credentialID uint, body []byte) (string, error) {
	secret, err := s.RotationWebhookSecret(credentialID)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil)), nil
}

// SetRotationWebhook sets or clears a credential's rotation webhook URL.
func (s *Store) SetRotationWebhook(ctx context.Context, actor Actor, credentialID uint, url string) error {
	url = strings.TrimSpace(url)
	if url != "" {
		if msg := validateWebhookURL(url); msg != "" {
			v := NewValidationError()
			v.Add("rotation_webhook_url", msg)
			return v.Err()
		}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var c Credential
		if err := tx.First(&c, credentialID).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Model(&Credential{}).Where("id = ?", credentialID).Update("rotation_webhook_url", url).Error; err != nil {
			return fmt.Errorf("set rotation webhook: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "credential.rotation_webhook", ObjectType: "credential",
			ObjectID: fmt.Sprint(credentialID), Before: map[string]any{"rotation_webhook_url": c.RotationWebhookURL},
			After: map[string]any{"rotation_webhook_url": url}})
	})
}

// enqueueForCredential writes a notification addressed to a credential's
// rotation webhook inside tx.
func (s *Store) enqueueForCredential(tx *gorm.DB, credentialID uint, n Notification) error {
	data, err := json.Marshal(n.Payload)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Event, err)
	}
	team := n.TeamID
	msg := OutboxMessage{Event: n.Event, Subject: n.Subject, Payload: string(data), Status: OutboxPending,
		NextAttemptAt: s.Now(), TeamID: &team, CredentialID: &credentialID}
	if err := tx.Create(&msg).Error; err != nil {
		return fmt.Errorf("enqueue notification %s: %w", n.Event, err)
	}
	return nil
}
