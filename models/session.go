package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Session is a server-side sign-in session. Only the SHA-256 of the cookie
// token is stored, so a copy of the database does not yield live sessions.
type Session struct {
	ID         uint `gorm:"primaryKey"`
	TokenHash  string
	UserID     uint
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
}

// SessionPolicy bounds a session's life.
type SessionPolicy struct {
	// Lifetime is the absolute maximum age of a session.
	Lifetime time.Duration
	// IdleTimeout ends a session not used for that long.
	IdleTimeout time.Duration
}

// DefaultSessionPolicy: 12 hours at most, 2 hours idle.
var DefaultSessionPolicy = SessionPolicy{Lifetime: 12 * time.Hour, IdleTimeout: 2 * time.Hour}

// HashToken returns the hex SHA-256 of a bearer or cookie token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RandomToken returns n random bytes, base64url encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession starts a session for a user who just signed in and returns
// the cookie token. A new token is issued at every sign-in.
func (s *Store) CreateSession(ctx context.Context, actor Actor, userID uint, ip, userAgent string, policy SessionPolicy) (string, Session, error) {
	token := RandomToken(32)
	now := s.Now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	sess := Session{TokenHash: HashToken(token), UserID: userID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(policy.Lifetime), IP: ip, UserAgent: userAgent}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&sess).Error; err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Update("last_login_at", now).Error; err != nil {
			return fmt.Errorf("record sign-in: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "session.sign_in", ObjectType: "user",
			ObjectID: fmt.Sprint(userID), After: map[string]any{"session": sess.ID, "ip": ip}})
	})
	return token, sess, err
}

// SessionUser resolves a cookie token to its live session and active user.
// Expired or idle sessions are deleted and return ErrUnauthenticated. The
// last-seen time is refreshed at most once a minute.
func (s *Store) SessionUser(ctx context.Context, token string, policy SessionPolicy) (Session, User, error) {
	var sess Session
	if token == "" {
		return sess, User{}, ErrUnauthenticated
	}
	if err := s.r(ctx).Where("token_hash = ?", HashToken(token)).First(&sess).Error; err != nil {
		if mapError(err) == ErrNotFound {
			return sess, User{}, ErrUnauthenticated
		}
		return sess, User{}, err
	}
	now := s.Now()
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > policy.IdleTimeout {
		if err := s.w(ctx).Delete(&Session{}, sess.ID).Error; err != nil {
			return sess, User{}, fmt.Errorf("delete expired session: %w", err)
		}
		return sess, User{}, ErrUnauthenticated
	}
	u, err := s.UserByID(ctx, sess.UserID)
	if err != nil || !u.Active {
		return sess, User{}, ErrUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.w(ctx).Model(&Session{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error; err != nil {
			return sess, u, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, u, nil
}

// SessionsOfUser lists a user's live sessions, newest first.
func (s *Store) SessionsOfUser(ctx context.Context, userID uint) ([]Session, error) {
	var out []Session
	err := s.r(ctx).Where("user_id = ? AND expires_at > ?", userID, s.Now()).Order("created_at DESC").Find(&out).Error
	return out, err
}

// EndSession deletes one session of a user.
func (s *Store) EndSession(ctx context.Context, actor Actor, userID, sessionID uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND user_id = ?", sessionID, userID).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("end session: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "session.sign_out", ObjectType: "user",
			ObjectID: fmt.Sprint(userID), After: map[string]any{"session": sessionID}})
	})
}

// EndAllSessions signs a user out everywhere.
func (s *Store) EndAllSessions(ctx context.Context, actor Actor, userID uint) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("user_id = ?", userID).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("end sessions: %w", res.Error)
		}
		n = res.RowsAffected
		return s.appendAudit(tx, actor, AuditEntry{Action: "session.sign_out_everywhere", ObjectType: "user",
			ObjectID: fmt.Sprint(userID), After: map[string]any{"sessions_ended": n}})
	})
	return n, err
}

// PurgeExpiredSessions deletes sessions past their absolute lifetime.
func (s *Store) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	res := s.w(ctx).Where("expires_at < ?", s.Now()).Delete(&Session{})
	return res.RowsAffected, res.Error
}
