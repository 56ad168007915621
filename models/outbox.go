package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// OutboxStatus is the delivery state of an outbox message.
type OutboxStatus string

// Outbox states.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	// OutboxFailed: retries are exhausted; an admin page lists these.
	OutboxFailed OutboxStatus = "failed"
)

// OutboxMessage is a notification waiting for delivery (or delivered). It
// is written in the transaction of the change that causes it, so a change
// is never committed without its notification, nor the reverse.
type OutboxMessage struct {
	ID     uint `gorm:"primaryKey"`
	Event  string
	TeamID *uint
	// ClientID, when set, sends the message to that API client's webhook
	// only, instead of the team's channels.
	ClientID *uint
	// CredentialID, when set, sends the message to that credential's
	// rotation webhook only.
	CredentialID  *uint
	Subject       string
	Payload       string
	Status        OutboxStatus
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// Notification is what a change asks to tell people: an event name such
// as "rotation.due" or "review.requested", the team concerned, a one-line
// subject, and a JSON-serialisable payload (never a secret).
type Notification struct {
	Event   string
	TeamID  uint
	Subject string
	Payload any
}

// enqueue writes a notification to the outbox inside tx.
func (s *Store) enqueue(tx *gorm.DB, n Notification) error {
	data, err := json.Marshal(n.Payload)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Event, err)
	}
	msg := OutboxMessage{Event: n.Event, Subject: n.Subject, Payload: string(data), Status: OutboxPending,
		NextAttemptAt: s.Now()}
	if n.TeamID != 0 {
		team := n.TeamID
		msg.TeamID = &team
	}
	if err := tx.Create(&msg).Error; err != nil {
		return fmt.Errorf("enqueue notification %s: %w", n.Event, err)
	}
	return nil
}

// enqueueForClient writes a notification addressed to one API client's
// webhook inside tx.
func (s *Store) enqueueForClient(tx *gorm.DB, clientID uint, n Notification) error {
	data, err := json.Marshal(n.Payload)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", n.Event, err)
	}
	msg := OutboxMessage{Event: n.Event, Subject: n.Subject, Payload: string(data), Status: OutboxPending,
		NextAttemptAt: s.Now(), ClientID: &clientID}
	if n.TeamID != 0 {
		team := n.TeamID
		msg.TeamID = &team
	}
	if err := tx.Create(&msg).Error; err != nil {
		return fmt.Errorf("enqueue notification %s: %w", n.Event, err)
	}
	return nil
}

// Enqueue writes a notification in its own transaction.
func (s *Store) Enqueue(ctx context.Context, n Notification) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.enqueue(tx, n) })
}

// OutboxMessages lists messages by status (all when empty), newest first.
func (s *Store) OutboxMessages(ctx context.Context, status OutboxStatus, limit int) ([]OutboxMessage, error) {
	q := s.r(ctx).Order("id DESC").Limit(limit)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []OutboxMessage
	return out, q.Find(&out).Error
}
