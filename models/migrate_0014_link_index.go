package models

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0014LinkIndex replaces the index of credential-server links by
// server with one by (server, credential), a strict superset: finding the
// credentials on a set of servers (the dashboard's "on a sensitive server",
// the credential list's sensitive filter, the per-server credential count)
// then reads the index alone instead of one table row per link.
func migration0014LinkIndex() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0014_link_index",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.Exec("CREATE INDEX ix_credential_servers_server_credential ON credential_servers (server_id, credential_id)").Error; err != nil {
				return err
			}
			return tx.Exec("DROP INDEX IF EXISTS idx_credential_servers_server_id").Error
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Exec("CREATE INDEX idx_credential_servers_server_id ON credential_servers (server_id)").Error; err != nil {
				return err
			}
			return tx.Exec("DROP INDEX ix_credential_servers_server_credential").Error
		},
	}
}
