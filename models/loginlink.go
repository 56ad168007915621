package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// LoginLink is a one-time sign-in link for the desktop app: random, single
// use, short-lived. Only the SHA-256 of its token is stored.
type LoginLink struct {
	ID        uint `gorm:"primaryKey"`
	TokenHash string
	UserID    uint
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// MaxLoginLinkTTL bounds how long a sign-in link stays usable.
const MaxLoginLinkTTL = 5 * time.Minute

// CreateLoginLink returns the token of a new one-time sign-in link for the
// user, valid for ttl (at most MaxLoginLinkTTL). It is audited.
func (s *Store) CreateLoginLink(ctx context.Context, actor Actor, userID uint, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxLoginLinkTTL {
		ttl = MaxLoginLinkTTL
	}
	token := RandomToken(32)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, userID).Error; err != nil {
			return mapError(err)
		}
		if !u.Active {
			return fmt.Errorf("%w: the user is deactivated", ErrForbidden)
		}
		link := LoginLink{TokenHash: HashToken(token), UserID: userID, ExpiresAt: s.Now().Add(ttl)}
		if err := tx.Create(&link).Error; err != nil {
			return fmt.Errorf("create sign-in link: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "login_link.create", ObjectType: "user", ObjectID: fmt.Sprint(userID),
			After: map[string]any{"expires_at": link.ExpiresAt}})
	})
	return token, err
}

// ConsumeLoginLink uses a sign-in link once and returns its user. A link
// that is unknown, used, expired, or whose user is deactivated gives
// ErrUnauthenticated; of two concurrent uses exactly one succeeds.
func (s *Store) ConsumeLoginLink(ctx context.Context, token string) (User, error) {
	var u User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		res := tx.Model(&LoginLink{}).Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", HashToken(token), now).
			Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("use sign-in link: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("%w: this sign-in link is unknown, used or expired", ErrUnauthenticated)
		}
		var link LoginLink
		if err := tx.Where("token_hash = ?", HashToken(token)).First(&link).Error; err != nil {
			return mapError(err)
		}
		if err := tx.First(&u, link.UserID).Error; err != nil {
			return mapError(err)
		}
		if !u.Active {
			return fmt.Errorf("%w: the user is deactivated", ErrUnauthenticated)
		}
		return s.appendAudit(tx, Actor{UserID: u.ID, Label: u.Email}, AuditEntry{Action: "login_link.use", ObjectType: "user",
			ObjectID: fmt.Sprint(u.ID)})
	})
	return u, err
}
