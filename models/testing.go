package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// TamperAuditForTest overwrites one column of a stored audit event, bypassing
// the chain. It exists so tests (and the verify command's tests) can prove
// that tampering is detected; nothing in the application calls it.
func (s *Store) TamperAuditForTest(ctx context.Context, id uint64, column, value string) error {
	switch column {
	case "after", "before", "action", "actor", "hash", "prev_hash":
	default:
		return fmt.Errorf("column %q cannot be tampered with", column)
	}
	return s.w(ctx).Model(&AuditEvent{}).Where("id = ?", id).Update(column, value).Error
}

// RawForTest returns the write pool for test fixtures that need rows the
// store's methods do not create directly. Nothing in the application calls it.
func (s *Store) RawForTest(ctx context.Context) *gorm.DB { return s.w(ctx) }
