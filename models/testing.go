package models

import (
	"context"
	"fmt"
	"os"

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
func (s *Store) RawForTest(ctx context.Context) *gorm.DB {
	if err := s.decisions.flush(ctx); err != nil {
		panic(err)
	}
	return s.w(ctx)
}

// HoldDecisionLogForTest stops moving the decision log into the table, as
// if the ingester had fallen behind: records answered from now on stay in
// the journal until the store is reopened. It reports whether this store
// keeps a decision log (SQLite with a file it owns).
func (s *Store) HoldDecisionLogForTest() bool {
	j := s.decisions.journal
	if j == nil {
		return false
	}
	j.held.Store(true)
	return true
}

// DecisionLogPathForTest returns the path of the decision log's segment
// that takes appends ("" without a log).
func (s *Store) DecisionLogPathForTest() string {
	j := s.decisions.journal
	if j == nil {
		return ""
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.segment(j.seq)
}

// CrashForTest ends the store as a killed process would: the decision log
// is neither moved into the table nor removed, and its lock is released.
func (s *Store) CrashForTest() {
	if j := s.decisions.journal; j != nil {
		j.closed.Do(func() {
			close(j.stop)
			j.done.Wait()
			j.mu.Lock()
			_ = j.file.Close()
			j.file = nil
			j.mu.Unlock()
			j.release()
		})
	}
	_ = s.Close()
}

// BreakDecisionLogForTest makes appends to the decision log fail, as a full
// disk would, until the returned function is called.
func (s *Store) BreakDecisionLogForTest() (restore func()) {
	j := s.decisions.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	good := j.file
	broken, err := os.Open(good.Name()) // read-only: every write fails
	if err != nil {
		panic(err)
	}
	j.file = broken
	return func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		_ = broken.Close()
		j.file = good
	}
}
