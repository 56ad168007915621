package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0001Foundation creates users, teams, role assignments, sessions
// and the hash-chained audit log.
func migration0001Foundation() *gormigrate.Migration {
	type user struct {
		ID            uint   `gorm:"primaryKey"`
		Email         string `gorm:"size:320;not null;uniqueIndex"`
		Name          string `gorm:"size:200;not null"`
		PasswordHash  string `gorm:"size:200;not null"`
		Active        bool   `gorm:"not null;default:true"`
		CreatedAt     time.Time
		UpdatedAt     time.Time
		DeactivatedAt *time.Time
		LastLoginAt   *time.Time
	}
	type team struct {
		ID          uint   `gorm:"primaryKey"`
		Slug        string `gorm:"size:64;not null;uniqueIndex"`
		Name        string `gorm:"size:120;not null"`
		Description string `gorm:"size:2000;not null;default:''"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	type roleAssignment struct {
		ID        uint   `gorm:"primaryKey"`
		UserID    uint   `gorm:"not null;uniqueIndex:ux_role_assignment,priority:1"`
		Role      string `gorm:"size:32;not null;uniqueIndex:ux_role_assignment,priority:2"`
		TeamID    *uint  `gorm:"index"`
		Scope     string `gorm:"size:40;not null;uniqueIndex:ux_role_assignment,priority:3"`
		CreatedAt time.Time
		User      user  `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
		Team      *team `gorm:"foreignKey:TeamID;constraint:OnDelete:CASCADE"`
	}
	type session struct {
		ID         uint   `gorm:"primaryKey"`
		TokenHash  string `gorm:"size:64;not null;uniqueIndex"`
		UserID     uint   `gorm:"not null;index"`
		CreatedAt  time.Time
		LastSeenAt time.Time
		ExpiresAt  time.Time `gorm:"index"`
		IP         string    `gorm:"size:64;not null;default:''"`
		UserAgent  string    `gorm:"size:300;not null;default:''"`
		User       user      `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	}
	type auditEvent struct {
		ID         uint64    `gorm:"primaryKey;autoIncrement:false"`
		At         time.Time `gorm:"not null;index"`
		ActorID    *uint
		Actor      string `gorm:"size:320;not null"`
		Action     string `gorm:"size:100;not null;index"`
		ObjectType string `gorm:"size:60;not null;index:ix_audit_object,priority:1"`
		ObjectID   string `gorm:"size:100;not null;index:ix_audit_object,priority:2"`
		Before     string `gorm:"type:text;not null;default:''"`
		After      string `gorm:"type:text;not null;default:''"`
		RequestID  string `gorm:"size:64;not null;default:''"`
		PrevHash   string `gorm:"size:64;not null"`
		Hash       string `gorm:"size:64;not null"`
	}
	type auditHeadRow struct {
		ID   uint   `gorm:"primaryKey"`
		Seq  uint64 `gorm:"not null"`
		Hash string `gorm:"size:64;not null"`
	}
	tables := []struct {
		name  string
		model any
	}{
		{"users", &user{}}, {"teams", &team{}}, {"role_assignments", &roleAssignment{}},
		{"sessions", &session{}}, {"audit_events", &auditEvent{}}, {"audit_heads", &auditHeadRow{}},
	}
	return &gormigrate.Migration{
		ID: "0001_foundation",
		Migrate: func(tx *gorm.DB) error {
			for _, t := range tables {
				if err := tx.Table(t.name).Migrator().CreateTable(t.model); err != nil {
					return err
				}
			}
			return tx.Table("audit_heads").Create(&auditHeadRow{ID: 1, Seq: 0, Hash: GenesisHash}).Error
		},
		Rollback: func(tx *gorm.DB) error {
			for i := len(tables) - 1; i >= 0; i-- {
				if err := tx.Migrator().DropTable(tables[i].name); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
