package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0011Rotation creates rotation tasks (one per credential and due
// time), the per-credential rotation webhook, and outbox messages addressed
// to a credential's webhook.
func migration0011Rotation() *gormigrate.Migration {
	type rotationTask struct {
		ID            uint      `gorm:"primaryKey"`
		CredentialID  uint      `gorm:"not null;uniqueIndex:ux_rotation_tasks_due,priority:1"`
		DueAt         time.Time `gorm:"not null;uniqueIndex:ux_rotation_tasks_due,priority:2"`
		TeamID        uint      `gorm:"not null;index:ix_rotation_tasks_team_state,priority:1"`
		EnvironmentID uint      `gorm:"not null"`
		State         string    `gorm:"size:20;not null;index:ix_rotation_tasks_team_state,priority:2;index:ix_rotation_tasks_state_due,priority:1"`
		GraceUntil    time.Time `gorm:"not null;index:ix_rotation_tasks_state_due,priority:2"`
		OverdueAt     *time.Time
		EscalatedTo   string `gorm:"size:1000;not null;default:''"`
		CompletedAt   *time.Time
		CompletedByID *uint
		CompletedBy   string `gorm:"size:200;not null;default:''"`
		Method        string `gorm:"size:20;not null;default:''"`
		Note          string `gorm:"size:2000;not null;default:''"`
		CreatedAt     time.Time
	}
	return &gormigrate.Migration{
		ID: "0011_rotation",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Table("rotation_tasks").Migrator().CreateTable(&rotationTask{}); err != nil {
				return err
			}
			for _, q := range []string{
				"ALTER TABLE credentials ADD COLUMN rotation_webhook_url VARCHAR(500) NOT NULL DEFAULT ''",
				"ALTER TABLE outbox_messages ADD COLUMN credential_id INTEGER",
			} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, q := range []string{"ALTER TABLE outbox_messages DROP COLUMN credential_id",
				"ALTER TABLE credentials DROP COLUMN rotation_webhook_url"} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return tx.Migrator().DropTable("rotation_tasks")
		},
	}
}
