package models

import (
	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0004FindingsIndex makes the findings page cheap at 100k findings:
// a numeric severity rank to sort by, the end of a live exception copied onto
// the finding, and one covering index that serves the open list in order,
// its count and the common filters.
func migration0004FindingsIndex() *gormigrate.Migration {
	return &gormigrate.Migration{
		ID: "0004_findings_index",
		Migrate: func(tx *gorm.DB) error {
			stmts := []string{
				"ALTER TABLE findings ADD COLUMN severity_rank SMALLINT NOT NULL DEFAULT 0",
				"ALTER TABLE findings ADD COLUMN excepted_until " + timestampType(tx),
				`UPDATE findings SET severity_rank = CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END`,
				`CREATE INDEX ix_findings_list ON findings (resolved_at, severity_rank, first_seen_at, id, excepted_until, rule_id, team_id, environment_id, object_name)`,
				`CREATE INDEX ix_risk_exceptions_status ON risk_exceptions (status, expires_at)`,
			}
			for _, q := range stmts {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for _, q := range []string{"DROP INDEX ix_risk_exceptions_status", "DROP INDEX ix_findings_list",
				"ALTER TABLE findings DROP COLUMN excepted_until", "ALTER TABLE findings DROP COLUMN severity_rank"} {
				if err := tx.Exec(q).Error; err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// timestampType is the column type of a time on the engine behind tx.
func timestampType(tx *gorm.DB) string {
	if tx.Dialector.Name() == "postgres" {
		return "TIMESTAMPTZ"
	}
	return "DATETIME"
}
