package models

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0010CredentialIndexes serves the credential list's common
// filters from indexes at 100k credentials: environment with key type, and
// status with the next due time (the overdue filter and the due check).
func migration0010CredentialIndexes() *gormigrate.Migration {
	stmts := []string{
		"CREATE INDEX ix_credentials_env_kind ON credentials (environment_id, key_type, team_id)",
		"CREATE INDEX ix_credentials_status_due ON credentials (status, next_due_at)",
		"CREATE INDEX ix_credentials_team_name ON credentials (team_id, name)",
	}
	return &gormigrate.Migration{
		ID: "0010_credential_indexes",
		Migrate: func(tx *gorm.DB) error {
			for _, q := range stmts {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, name := range []string{"ix_credentials_env_kind", "ix_credentials_status_due", "ix_credentials_team_name"} {
				if err := tx.Exec("DROP INDEX " + name).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}
