package models

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0013DecisionIndexes trims the indexes of the decision log, which
// takes one insert per evaluation: the only reader (Decisions, the reports
// and the evidence pack) filters by team and period, so one (team_id, at)
// index and the period index serve it; the per-grant, per-request,
// per-server and per-client indexes cost every insert and served no query.
func migration0013DecisionIndexes() *gormigrate.Migration {
	dropped := []string{"idx_decisions_grant_id", "idx_decisions_request_id", "idx_decisions_server_id",
		"idx_decisions_client_id", "ix_decisions_team"}
	return &gormigrate.Migration{
		ID: "0013_decision_indexes",
		Migrate: func(tx *gorm.DB) error {
			for _, name := range dropped {
				if err := tx.Exec("DROP INDEX IF EXISTS " + name).Error; err != nil {
					return err
				}
			}
			return tx.Exec("CREATE INDEX ix_decisions_team_at ON decisions (team_id, at)").Error
		},
		Rollback: func(tx *gorm.DB) error {
			if err := tx.Exec("DROP INDEX ix_decisions_team_at").Error; err != nil {
				return err
			}
			for _, q := range []string{
				"CREATE INDEX idx_decisions_grant_id ON decisions (grant_id)",
				"CREATE INDEX idx_decisions_request_id ON decisions (request_id)",
				"CREATE INDEX idx_decisions_server_id ON decisions (server_id)",
				"CREATE INDEX idx_decisions_client_id ON decisions (client_id)",
				"CREATE INDEX ix_decisions_team ON decisions (team_id, outcome)",
			} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}
