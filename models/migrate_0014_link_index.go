package models

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0014LinkIndex replaces two indexes by wider ones for the
// compliance dashboard computed from scratch at scale:
//   - credential-server links by server becomes by (server, credential), a
//     strict superset: finding the credentials on a set of servers (the
//     dashboard's "on a sensitive server", the credential list's sensitive
//     filter, the per-server credential count) then reads the index alone
//     instead of one table row per link;
//   - the review requests of a period (created_at, status, decided_at,
//     deadline, team_id) gain environment_id, so that the review figures
//     filtered by environment stay an index-only scan.
func migration0014LinkIndex() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0014_link_index",
		Migrate: func(tx *gorm.DB) error {
			for _, q := range []string{
				"CREATE INDEX ix_credential_servers_server_credential ON credential_servers (server_id, credential_id)",
				"DROP INDEX IF EXISTS idx_credential_servers_server_id",
				"DROP INDEX IF EXISTS ix_review_requests_created",
				"CREATE INDEX ix_review_requests_created ON review_requests (created_at, status, decided_at, deadline, team_id, environment_id)",
			} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, q := range []string{
				"DROP INDEX ix_review_requests_created",
				"CREATE INDEX ix_review_requests_created ON review_requests (created_at, status, decided_at, deadline, team_id)",
				"CREATE INDEX idx_credential_servers_server_id ON credential_servers (server_id)",
				"DROP INDEX ix_credential_servers_server_credential",
			} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}
