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

// maxDuePerTick bounds the tasks one tick opens; a larger backlog (a first
// start on a big inventory) is worked off over the next ticks.
const maxDuePerTick = 5000

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
	// One scan finds what fell due (at most maxDuePerTick; the rest waits
	// for the next tick); the tasks are then opened in batches.
	var rows []dueCredential
	err := s.r(ctx).Raw(`SELECT c.id, c.name, c.team_id, c.environment_id, c.next_due_at, c.owner_id, c.rotation_webhook_url
		FROM credentials c
		WHERE c.status = ? AND c.next_due_at <= ?
		AND NOT EXISTS (SELECT 1 FROM rotation_tasks t WHERE t.credential_id = c.id AND t.due_at = c.next_due_at)
		ORDER BY c.next_due_at, c.id LIMIT ?`, CredentialActive, now, maxDuePerTick).Scan(&rows).Error
	if err != nil {
		return res, fmt.Errorf("find due credentials: %w", err)
	}
	for start := 0; start < len(rows); start += rotationBatch {
		created, err := s.openRotationTasks(ctx, rows[start:min(start+rotationBatch, len(rows))], now)
		if err != nil {
			return res, err
		}
		res.Due += created
	}
	n, err := s.markOverdueRotations(ctx, now)
	res.Overdue = n
	return res, err
}

// openRotationTasks creates the due tasks of a batch of credentials in one
// transaction: one insert for the tasks (a task that another run created
// first is skipped by the unique key), one audit event and one digest
// notification per team, and a message to each credential's rotation
// webhook. It returns how many tasks it created.
func (s *Store) openRotationTasks(ctx context.Context, rows []dueCredential, now time.Time) (int, error) {
	byID := make(map[uint]dueCredential, len(rows))
	tasks := make([]RotationTask, 0, len(rows))
	for _, c := range rows {
		byID[c.ID] = c
		tasks = append(tasks, RotationTask{CredentialID: c.ID, DueAt: c.NextDueAt.UTC(), TeamID: c.TeamID,
			EnvironmentID: c.EnvironmentID, State: TaskDue, GraceUntil: c.NextDueAt.UTC().Add(DefaultRotationGrace), CreatedAt: now})
	}
	created := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Omit("Credential").Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&tasks, 100).Error; err != nil {
			return fmt.Errorf("create rotation tasks: %w", err)
		}
		ids := make([]uint, 0, len(rows))
		for _, c := range rows {
			ids = append(ids, c.ID)
		}
		// Read by credential only (the unique index), then keep this run's
		// tasks: a condition on state lets SQLite pick the state index and
		// scan every due task of the backlog instead.
		var theirs []RotationTask
		if err := tx.Where("credential_id IN ?", ids).Order("team_id, due_at, id").Find(&theirs).Error; err != nil {
			return fmt.Errorf("read new rotation tasks: %w", err)
		}
		mine := make([]RotationTask, 0, len(theirs))
		for _, t := range theirs {
			if t.State == TaskDue && t.CreatedAt.Equal(now) {
				mine = append(mine, t)
			}
		}
		created = len(mine)
		var team []map[string]any
		for i, t := range mine {
			c := byID[t.CredentialID]
			item := map[string]any{"task_id": t.ID, "credential_id": c.ID, "credential": c.Name, "due_at": t.DueAt,
				"overdue_after": t.GraceUntil, "owner_id": c.OwnerID}
			team = append(team, item)
			if c.RotationWebhookURL != "" {
				hook := map[string]any{"callback": fmt.Sprintf("/api/v1/rotations/%d/complete", t.ID)}
				for k, v := range item {
					hook[k] = v
				}
				if err := s.enqueueForCredential(tx, c.ID, Notification{Event: EventRotationDue, TeamID: t.TeamID, Payload: hook,
					Subject: fmt.Sprintf("Rotation due: %s", c.Name)}); err != nil {
					return err
				}
			}
			if i == len(mine)-1 || mine[i+1].TeamID != t.TeamID {
				if err := s.announceDueRotations(tx, t.TeamID, team); err != nil {
					return err
				}
				team = nil
			}
		}
		return nil
	})
	return created, err
}

// announceDueRotations writes the audit event and the digest notification
// of a team's newly due rotations.
func (s *Store) announceDueRotations(tx *gorm.DB, teamID uint, items []map[string]any) error {
	if err := s.appendAudit(tx, SystemActor("rotation due check"), AuditEntry{Action: "rotation.due", ObjectType: "team",
		ObjectID: fmt.Sprint(teamID), After: map[string]any{"tasks": items}}); err != nil {
		return err
	}
	subject := fmt.Sprintf("Rotation due: %s", items[0]["credential"])
	if len(items) > 1 {
		subject = fmt.Sprintf("%d rotations due, starting with %s", len(items), items[0]["credential"])
	}
	return s.enqueue(tx, Notification{Event: EventRotationDue, TeamID: teamID, Subject: subject,
		Payload: map[string]any{"count": len(items), "tasks": items}})
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
			byTeam := map[uint][]RotationTask{}
			var teams []uint
			for _, t := range tasks {
				if _, ok := byTeam[t.TeamID]; !ok {
					teams = append(teams, t.TeamID)
				}
				byTeam[t.TeamID] = append(byTeam[t.TeamID], t)
			}
			for _, teamID := range teams {
				n, err := s.escalateRotations(tx, teamID, byTeam[teamID], now)
				if err != nil {
					return err
				}
				moved += n
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += moved
		if len(tasks) < rotationBatch || moved == 0 || total >= maxDuePerTick {
			return total, nil
		}
	}
}

// escalateRotations marks a team's due tasks overdue, escalated to the
// team's governance people, with one audit event and one notification.
func (s *Store) escalateRotations(tx *gorm.DB, teamID uint, tasks []RotationTask, now time.Time) (int, error) {
	var emails []string
	if err := tx.Table("role_assignments").Joins("JOIN users ON users.id = role_assignments.user_id").
		Where("role_assignments.team_id = ? AND role_assignments.role = ? AND users.active = ?", teamID, RoleGovernance, true).
		Order("users.email").Distinct().Pluck("users.email", &emails).Error; err != nil {
		return 0, fmt.Errorf("find governance people: %w", err)
	}
	to := strings.Join(emails, ", ")
	ids := make([]uint, len(tasks))
	names := make(map[uint]string, len(tasks))
	for i, t := range tasks {
		ids[i], names[t.ID] = t.ID, t.Credential.Name
	}
	// "state || ''" keeps the guard without letting SQLite search by the
	// state index (every due task of the backlog) instead of the ids.
	res := tx.Model(&RotationTask{}).Where("id IN ? AND state || '' = ?", ids, TaskDue).
		Updates(map[string]any{"state": TaskOverdue, "overdue_at": now, "escalated_to": to})
	if res.Error != nil {
		return 0, fmt.Errorf("mark rotations overdue: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return 0, nil
	}
	// Read by primary key, then keep what this run moved (see
	// openRotationTasks on conditions on state).
	var moved []RotationTask
	if err := tx.Where("id IN ?", ids).Order("due_at, id").Find(&moved).Error; err != nil {
		return 0, fmt.Errorf("read overdue rotations: %w", err)
	}
	items := make([]map[string]any, 0, len(moved))
	for _, t := range moved {
		if t.State != TaskOverdue || t.OverdueAt == nil || !t.OverdueAt.Equal(now) {
			continue
		}
		items = append(items, map[string]any{"task_id": t.ID, "credential_id": t.CredentialID, "credential": names[t.ID], "due_at": t.DueAt})
	}
	if len(items) == 0 {
		return 0, nil
	}
	if err := s.appendAudit(tx, SystemActor("rotation due check"), AuditEntry{Action: "rotation.overdue", ObjectType: "team",
		ObjectID: fmt.Sprint(teamID), After: map[string]any{"escalated_to": to, "tasks": items}}); err != nil {
		return 0, err
	}
	subject := fmt.Sprintf("Rotation overdue: %s, escalated to governance", items[0]["credential"])
	if len(items) > 1 {
		subject = fmt.Sprintf("%d rotations overdue, starting with %s; escalated to governance", len(items), items[0]["credential"])
	}
	return len(items), s.enqueue(tx, Notification{Event: EventRotationOverdue, TeamID: teamID, Subject: subject,
		Payload: map[string]any{"count": len(items), "escalated_to": to, "tasks": items}})
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
