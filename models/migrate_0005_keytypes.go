package models

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0005KeyTypes makes a key type appear at most once per level of a
// key policy: once per server, and once among an environment's defaults.
// Both are partial unique indexes, which SQLite and PostgreSQL support with
// the same syntax; a server-level entry leaves environment_id NULL, an
// environment default leaves server_id NULL.
func migration0005KeyTypes() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0005_keytypes",
		Migrate: func(tx *gorm.DB) error {
			for _, stmt := range []string{
				`CREATE UNIQUE INDEX ux_allowed_key_types_server ON allowed_key_types (server_id, key_type) WHERE server_id IS NOT NULL`,
				`CREATE UNIQUE INDEX ux_allowed_key_types_environment ON allowed_key_types (environment_id, key_type) WHERE server_id IS NULL`,
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, name := range []string{"ux_allowed_key_types_environment", "ux_allowed_key_types_server"} {
				if err := tx.Exec("DROP INDEX IF EXISTS " + name).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}
