package models

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
)

// SeedRotationHistory back-fills rotation tasks for the past `days`: for
// every active credential with a schedule, each due time of its schedule in
// the period becomes a completed task, most on time, some late (after the
// grace period), so the rotation compliance report has history. The
// credential's last rotation and next due time move to the last one. The
// same data comes out for the same inventory (a fixed random seed). It
// returns the number of tasks written; credentials that already have tasks
// in the period are left alone, so a second run adds nothing.
func (s *Store) SeedRotationHistory(ctx context.Context, now time.Time, days int) (int, error) {
	if days <= 0 {
		return 0, nil
	}
	from := now.AddDate(0, 0, -days)
	var creds []Credential
	if err := s.r(ctx).Where("status = ? AND rotation_spec <> ''", CredentialActive).Order("id").Find(&creds).Error; err != nil {
		return 0, fmt.Errorf("seed rotation history: %w", err)
	}
	rng := rand.New(rand.NewPCG(42, uint64(days)))
	written := 0
	for _, c := range creds {
		var existing int64
		if err := s.r(ctx).Model(&RotationTask{}).Where("credential_id = ? AND due_at >= ?", c.ID, from).Count(&existing).Error; err != nil {
			return written, err
		}
		if existing > 0 {
			continue
		}
		sched, err := ParseRotationSchedule(c.RotationSpec, c.RotationTZ, s.sched)
		if err != nil {
			continue
		}
		var tasks []RotationTask
		var last time.Time
		for due := sched.Next(from); !due.IsZero() && due.Before(now) && len(tasks) < 400; due = sched.Next(due) {
			// Most rotations happen within a day; about one in six runs
			// past the grace period.
			delay := time.Duration(rng.IntN(20)+1) * time.Hour
			if rng.IntN(6) == 0 {
				delay = DefaultRotationGrace + time.Duration(rng.IntN(96)+1)*time.Hour
			}
			done := due.Add(delay)
			if !done.Before(now) {
				break // still open: the due check will pick it up
			}
			tasks = append(tasks, RotationTask{CredentialID: c.ID, DueAt: due, TeamID: c.TeamID, EnvironmentID: c.EnvironmentID,
				State: TaskCompleted, GraceUntil: due.Add(DefaultRotationGrace), CompletedAt: &done, CompletedBy: "seed history",
				Method: RotationByConfirm, Note: "Back-filled history.", CreatedAt: due})
			last = done
		}
		if len(tasks) == 0 {
			continue
		}
		next := sched.Next(last)
		err = s.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Omit("Credential").CreateInBatches(&tasks, 200).Error; err != nil {
				return err
			}
			return tx.Model(&Credential{}).Where("id = ?", c.ID).Updates(map[string]any{"last_rotated_at": last, "next_due_at": next}).Error
		})
		if err != nil {
			return written, fmt.Errorf("seed rotation history of %s: %w", c.Name, err)
		}
		written += len(tasks)
	}
	if written > 0 {
		if err := s.Audit(ctx, SystemActor("seed"), AuditEntry{Action: "seed.rotation_history", ObjectType: "rotation_task",
			ObjectID: fmt.Sprintf("%d days", days), After: map[string]any{"tasks": written}}); err != nil {
			return written, err
		}
	}
	return written, nil
}
