package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0012Snapshots creates the daily compliance snapshots (one row per
// day and team, team 0 being the whole organisation) behind the dashboard's
// trend charts, and two covering indexes for the dashboard at 100k rows:
// active credentials by key type with their due time, and review requests
// of a period with their state, decision time and deadline.
func migration0012Snapshots() *gormigrate.Migration {
	type complianceSnapshot struct {
		ID                    uint      `gorm:"primaryKey"`
		Day                   string    `gorm:"size:10;not null;uniqueIndex:ux_compliance_snapshots_day_team,priority:1"`
		TeamID                uint      `gorm:"not null;default:0;uniqueIndex:ux_compliance_snapshots_day_team,priority:2"`
		TakenAt               time.Time `gorm:"not null"`
		Credentials           int64     `gorm:"not null;default:0"`
		StaticKeys            int64     `gorm:"not null;default:0"`
		OnSensitive           int64     `gorm:"not null;default:0"`
		StaticOnSensitive     int64     `gorm:"not null;default:0"`
		Scheduled             int64     `gorm:"not null;default:0"`
		WithinPolicy          int64     `gorm:"not null;default:0"`
		Overdue               int64     `gorm:"not null;default:0"`
		FindingsCritical      int64     `gorm:"not null;default:0"`
		FindingsHigh          int64     `gorm:"not null;default:0"`
		FindingsMedium        int64     `gorm:"not null;default:0"`
		FindingsLow           int64     `gorm:"not null;default:0"`
		ReviewsPending        int64     `gorm:"not null;default:0"`
		ReviewsRequested      int64     `gorm:"not null;default:0"`
		ReviewsDecided        int64     `gorm:"not null;default:0"`
		ReviewsWithinDeadline int64     `gorm:"not null;default:0"`
		ReviewsExpired        int64     `gorm:"not null;default:0"`
		ReviewMedianSeconds   int64     `gorm:"not null;default:0"`
		ReviewP90Seconds      int64     `gorm:"not null;default:0"`
		Servers               int64     `gorm:"not null;default:0"`
		ServersWithoutOwner   int64     `gorm:"not null;default:0"`
	}
	return &gormigrate.Migration{
		ID: "0012_snapshots",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Table("compliance_snapshots").Migrator().CreateTable(&complianceSnapshot{}); err != nil {
				return err
			}
			for _, q := range []string{
				"CREATE INDEX ix_credentials_status_kind_due ON credentials (status, key_type, next_due_at, team_id, environment_id)",
				"CREATE INDEX ix_review_requests_created ON review_requests (created_at, status, decided_at, deadline, team_id)",
			} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, name := range []string{"ix_review_requests_created", "ix_credentials_status_kind_due"} {
				if err := tx.Exec("DROP INDEX " + name).Error; err != nil {
					return err
				}
			}
			return tx.Migrator().DropTable("compliance_snapshots")
		},
	}
}
