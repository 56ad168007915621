package models

import (
	"context"
	"fmt"
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
