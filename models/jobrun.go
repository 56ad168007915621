package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// JobOutcome is how a job run ended.
type JobOutcome string

// Job outcomes.
const (
	JobRunning JobOutcome = "running"
	JobOK      JobOutcome = "ok"
	JobFailed  JobOutcome = "failed"
)

// JobRun is one run of a scheduled job. (Job, Slot) is unique: the replica
// that inserts the row first runs the slot; the others skip it.
type JobRun struct {
	ID          uint `gorm:"primaryKey"`
	Job         string
	Slot        string
	Trigger     string // "schedule" or "manual"
	RequestedBy string
	Instance    string
	StartedAt   time.Time
	FinishedAt  *time.Time
	Outcome     JobOutcome
	Error       string
	Counts      string // JSON object of what the run did
}

// Duration is how long the run took (zero while it runs).
func (r JobRun) Duration() time.Duration {
	if r.FinishedAt == nil {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// CountMap decodes Counts.
func (r JobRun) CountMap() map[string]int64 {
	out := map[string]int64{}
	_ = json.Unmarshal([]byte(r.Counts), &out)
	return out
}

// SlotKey formats a scheduled time as a slot: UTC, to the second.
func SlotKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ClaimJobRun inserts the run row of (job, slot). It returns false, with no
// error, when another instance already claimed the slot.
func (s *Store) ClaimJobRun(ctx context.Context, run JobRun) (JobRun, bool, error) {
	run.Outcome = JobRunning
	if run.StartedAt.IsZero() {
		run.StartedAt = s.Now()
	}
	if run.Trigger == "" {
		run.Trigger = "schedule"
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&run).Error
	})
	if errors.Is(mapError(err), ErrConflict) {
		return run, false, nil
	}
	if err != nil {
		return run, false, fmt.Errorf("claim job run %s %s: %w", run.Job, run.Slot, err)
	}
	return run, true, nil
}

// FinishJobRun records the end of a run. A manual run is also written to
// the audit log, with who asked.
func (s *Store) FinishJobRun(ctx context.Context, id uint, runErr error, counts map[string]int64) error {
	now := s.Now()
	outcome, msg := JobOK, ""
	if runErr != nil {
		outcome, msg = JobFailed, runErr.Error()
	}
	data, _ := json.Marshal(counts)
	if counts == nil {
		data = []byte("{}")
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var run JobRun
		if err := tx.First(&run, id).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Model(&JobRun{}).Where("id = ?", id).Updates(map[string]any{"finished_at": now, "outcome": outcome,
			"error": msg, "counts": string(data)}).Error; err != nil {
			return fmt.Errorf("finish job run: %w", err)
		}
		if run.Trigger != "manual" {
			return nil
		}
		return s.appendAudit(tx, Actor{Label: run.RequestedBy}, AuditEntry{Action: "job.run", ObjectType: "job", ObjectID: run.Job,
			After: map[string]any{"slot": run.Slot, "outcome": outcome, "error": msg, "counts": counts}})
	})
}

// JobRuns lists the newest runs of a job (all jobs when job is empty).
func (s *Store) JobRuns(ctx context.Context, job string, limit int) ([]JobRun, error) {
	q := s.r(ctx).Order("started_at DESC, id DESC").Limit(limit)
	if job != "" {
		q = q.Where("job = ?", job)
	}
	var out []JobRun
	return out, q.Find(&out).Error
}

// JobRunsOfSlot counts the runs of (job, slot); tests use it to prove a slot
// ran once.
func (s *Store) JobRunsOfSlot(ctx context.Context, job, slot string) (int64, error) {
	var n int64
	return n, s.r(ctx).Model(&JobRun{}).Where("job = ? AND slot = ?", job, slot).Count(&n).Error
}

// FailedJobRuns lists the newest failed runs of every job.
func (s *Store) FailedJobRuns(ctx context.Context, limit int) ([]JobRun, error) {
	var out []JobRun
	err := s.r(ctx).Where("outcome = ?", JobFailed).Order("started_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}
