package models

import (
	"context"
	"fmt"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migrations lists every schema change in order. Each migration declares
// copies of the structs as they were when it was written, so later changes
// to the live models never change what an old migration does.
func migrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		migration0001Foundation(),
		migration0002Inventory(),
		migration0003JobRuns(),
		migration0004FindingsIndex(),
		migration0005KeyTypes(),
		migration0006Outbox(),
		migration0007Runtime(),
		migration0009LoginLinks(),
		migration0010CredentialIndexes(),
		migration0011Rotation(),
		migration0012Snapshots(),
		migration0013DecisionIndexes(),
		migration0014LinkIndex(),
	}
}

// Migrate brings the schema up to date. It is safe to run on every start and
// from several replicas: on PostgreSQL an advisory lock serialises runs.
func (s *Store) Migrate(ctx context.Context) error {
	db := s.w(ctx)
	if s.dialect == DialectPostgres {
		return db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(72215001)").Error; err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
			return runMigrations(tx, false) // already in one transaction
		})
	}
	return runMigrations(db, true)
}

func runMigrations(db *gorm.DB, useTransaction bool) error {
	opts := *gormigrate.DefaultOptions
	opts.UseTransaction = useTransaction
	m := gormigrate.New(db, &opts, migrations())
	if err := m.Migrate(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// SchemaVersion returns the id of the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (string, error) {
	var id string
	err := s.r(ctx).Raw("SELECT id FROM migrations ORDER BY id DESC LIMIT 1").Row().Scan(&id)
	return id, err
}
