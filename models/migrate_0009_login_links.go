package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0009LoginLinks creates one-time sign-in links (desktop mode).
func migration0009LoginLinks() *gormigrate.Migration {
	type loginLink struct {
		ID        uint      `gorm:"primaryKey"`
		TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
		UserID    uint      `gorm:"not null;index"`
		ExpiresAt time.Time `gorm:"not null"`
		UsedAt    *time.Time
		CreatedAt time.Time
	}
	return &gormigrate.Migration{
		ID: "0009_login_links",
		Migrate: func(tx *gorm.DB) error {
			return tx.Table("login_links").Migrator().CreateTable(&loginLink{})
		},
		Rollback: func(tx *gorm.DB) error { return tx.Migrator().DropTable("login_links") },
	}
}
