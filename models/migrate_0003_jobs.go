package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0003JobRuns creates job_runs: one row per (job, scheduled slot),
// unique, so that with several replicas each slot runs once.
func migration0003JobRuns() *gormigrate.Migration {
	type jobRun struct {
		ID          uint      `gorm:"primaryKey"`
		Job         string    `gorm:"size:64;not null;uniqueIndex:ux_job_slot,priority:1;index:ix_job_started,priority:1"`
		Slot        string    `gorm:"size:64;not null;uniqueIndex:ux_job_slot,priority:2"`
		Trigger     string    `gorm:"size:20;not null;default:'schedule'"`
		RequestedBy string    `gorm:"size:200;not null;default:''"`
		Instance    string    `gorm:"size:100;not null;default:''"`
		StartedAt   time.Time `gorm:"not null;index:ix_job_started,priority:2"`
		FinishedAt  *time.Time
		Outcome     string `gorm:"size:10;not null;index"`
		Error       string `gorm:"type:text;not null;default:''"`
		Counts      string `gorm:"type:text;not null;default:''"`
	}
	return &gormigrate.Migration{
		ID: "0003_job_runs",
		Migrate: func(tx *gorm.DB) error {
			return tx.Table("job_runs").Migrator().CreateTable(&jobRun{})
		},
		Rollback: func(tx *gorm.DB) error { return tx.Migrator().DropTable("job_runs") },
	}
}
