package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// GenesisHash is the previous hash of the first audit event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// Actor is who makes a change: a user, an API client or the system. Every
// Store method that changes data takes one and writes it to the audit log.
type Actor struct {
	UserID    uint
	Label     string
	RequestID string
}

// SystemActor is an actor for changes made by Countersign itself or its CLI.
func SystemActor(label string) Actor { return Actor{Label: label} }

// AuditEvent is one append-only, hash-chained entry of the audit log.
type AuditEvent struct {
	ID         uint64 `gorm:"primaryKey;autoIncrement:false"`
	At         time.Time
	ActorID    *uint
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	Before     string
	After      string
	RequestID  string
	PrevHash   string
	Hash       string
}

// auditHead holds the sequence number and hash of the newest audit event. It
// is the lock that serialises appends across replicas (SELECT … FOR UPDATE).
type auditHead struct {
	ID   uint `gorm:"primaryKey"`
	Seq  uint64
	Hash string
}

func (auditHead) TableName() string { return "audit_heads" }

// AuditEntry describes a change to record: what was done to which object,
// with short before/after summaries (never secrets).
type AuditEntry struct {
	Action     string
	ObjectType string
	ObjectID   string
	Before     any
	After      any
}

// computeHash returns the hash of e given its PrevHash. The input is a JSON
// array in fixed order, so the hash does not depend on the engine.
func (e AuditEvent) computeHash() string {
	actorID := ""
	if e.ActorID != nil {
		actorID = fmt.Sprint(*e.ActorID)
	}
	payload, _ := json.Marshal([]string{
		fmt.Sprint(e.ID), e.At.UTC().Format(time.RFC3339Nano), actorID, e.Actor, e.Action,
		e.ObjectType, e.ObjectID, e.Before, e.After, e.RequestID, e.PrevHash,
	})
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}

func summary(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// appendAudit writes one audit event inside tx. It locks the chain head, so
// appends are serialised and the chain has no gaps or forks. If it fails, the
// caller's transaction fails with it.
func (s *Store) appendAudit(tx *gorm.DB, actor Actor, entry AuditEntry) error {
	var head auditHead
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&head, 1).Error; err != nil {
		return fmt.Errorf("lock audit head: %w", err)
	}
	ev := AuditEvent{
		ID:         head.Seq + 1,
		At:         s.Now(),
		Actor:      actor.Label,
		Action:     entry.Action,
		ObjectType: entry.ObjectType,
		ObjectID:   entry.ObjectID,
		Before:     summary(entry.Before),
		After:      summary(entry.After),
		RequestID:  actor.RequestID,
		PrevHash:   head.Hash,
	}
	if actor.UserID != 0 {
		id := actor.UserID
		ev.ActorID = &id
	}
	if ev.Actor == "" {
		ev.Actor = "system"
	}
	ev.Hash = ev.computeHash()
	if err := tx.Create(&ev).Error; err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	res := tx.Model(&auditHead{}).Where("id = ? AND seq = ?", 1, head.Seq).
		Updates(map[string]any{"seq": ev.ID, "hash": ev.Hash})
	if res.Error != nil {
		return fmt.Errorf("advance audit head: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("advance audit head: %w", ErrConflict)
	}
	return nil
}

// Audit records an event that is not tied to another change (for example a
// sign-in) in its own transaction.
func (s *Store) Audit(ctx context.Context, actor Actor, entry AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.appendAudit(tx, actor, entry) })
}

// AuditFilter narrows the audit log list.
type AuditFilter struct {
	ListParams
	Action     string
	ObjectType string
	ObjectID   string
	Actor      string
	// From and To keep events at or after From and before To, when set.
	From, To time.Time
}

// AuditEvents lists audit events, newest first.
func (s *Store) AuditEvents(ctx context.Context, f AuditFilter) (Page[AuditEvent], error) {
	f.ListParams = f.ListParams.Normalize()
	q := s.r(ctx).Model(&AuditEvent{})
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ObjectType != "" {
		q = q.Where("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		q = q.Where("object_id = ?", f.ObjectID)
	}
	if f.Actor != "" {
		q = q.Where("LOWER(actor) = ?", strings.ToLower(f.Actor))
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To)
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q = q.Where(`(LOWER(action) LIKE ? ESCAPE '\' OR LOWER(actor) LIKE ? ESCAPE '\' OR LOWER(object_id) LIKE ? ESCAPE '\' OR LOWER(after) LIKE ? ESCAPE '\')`, p, p, p, p)
	}
	page := Page[AuditEvent]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count audit events: %w", err)
	}
	err := q.Order("id DESC").Limit(f.PerPage).Offset(f.Offset()).Find(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list audit events: %w", err)
	}
	return page, nil
}

// AuditVerification is the result of walking the whole audit chain.
type AuditVerification struct {
	Events   uint64
	HeadHash string
	OK       bool
	// FirstBad is the id of the first event that breaks the chain, when !OK.
	FirstBad uint64
	Problem  string
}

// VerifyAudit walks the chain from the first event, recomputing each hash and
// checking each link and the head. It reads in batches, so it runs in
// constant memory on large logs.
func (s *Store) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	res := AuditVerification{HeadHash: GenesisHash, OK: true}
	prev := GenesisHash
	var last uint64
	const batch = 2000
	for {
		var events []AuditEvent
		err := s.r(ctx).Where("id > ?", last).Order("id ASC").Limit(batch).Find(&events).Error
		if err != nil {
			return res, fmt.Errorf("read audit events: %w", err)
		}
		for _, ev := range events {
			switch {
			case ev.ID != last+1:
				return res.fail(last+1, fmt.Sprintf("event %d is missing (next stored event is %d)", last+1, ev.ID)), nil
			case ev.PrevHash != prev:
				return res.fail(ev.ID, "previous-hash link does not match the event before it"), nil
			case ev.computeHash() != ev.Hash:
				return res.fail(ev.ID, "stored hash does not match the event's content"), nil
			}
			prev, last = ev.Hash, ev.ID
			res.Events++
		}
		if len(events) < batch {
			break
		}
	}
	var head auditHead
	if err := s.r(ctx).First(&head, 1).Error; err != nil {
		return res, fmt.Errorf("read audit head: %w", err)
	}
	if head.Seq != last || head.Hash != prev {
		return res.fail(last+1, fmt.Sprintf("chain head says event %d, the log ends at %d (events were removed or the head was changed)", head.Seq, last)), nil
	}
	res.HeadHash = prev
	return res, nil
}

func (r AuditVerification) fail(id uint64, problem string) AuditVerification {
	r.OK, r.FirstBad, r.Problem = false, id, problem
	return r
}
