package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0006Outbox creates the durable notification outbox: events are
// written in the same transaction as the change that causes them and
// delivered later, with retries.
func migration0006Outbox() *gormigrate.Migration {
	type outboxMessage struct {
		ID            uint      `gorm:"primaryKey"`
		Event         string    `gorm:"size:64;not null;index"`
		TeamID        *uint     `gorm:"index"`
		Subject       string    `gorm:"size:300;not null;default:''"`
		Payload       string    `gorm:"type:text;not null"`
		Status        string    `gorm:"size:10;not null;index:ix_outbox_due,priority:1"`
		Attempts      int       `gorm:"not null;default:0"`
		NextAttemptAt time.Time `gorm:"not null;index:ix_outbox_due,priority:2"`
		LastError     string    `gorm:"type:text;not null;default:''"`
		CreatedAt     time.Time
		SentAt        *time.Time
	}
	return &gormigrate.Migration{
		ID: "0006_outbox",
		Migrate: func(tx *gorm.DB) error {
			return tx.Table("outbox_messages").Migrator().CreateTable(&outboxMessage{})
		},
		Rollback: func(tx *gorm.DB) error { return tx.Migrator().DropTable("outbox_messages") },
	}
}
