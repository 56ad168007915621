package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0012Snapshots creates the daily compliance snapshots (one row per
// day and team, team 0 being the whole organisation) behind the dashboard's
// trend charts, and an index on review requests' creation time for the
// dashboard's review figures of a period.
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
			return tx.Exec("CREATE INDEX ix_review_requests_created ON review_requests (created_at)").Error
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Exec("DROP INDEX ix_review_requests_created").Error; err != nil {
				return err
			}
			return tx.Migrator().DropTable("compliance_snapshots")
		},
	}
}
