package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"gorm.io/gorm"
)

// User is a person who signs in. Machines are API clients, not users.
type User struct {
	ID            uint `gorm:"primaryKey"`
	Email         string
	Name          string
	PasswordHash  string `json:"-"`
	Active        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DeactivatedAt *time.Time
	LastLoginAt   *time.Time
}

// NewUser is the input for CreateUser.
type NewUser struct {
	Email    string
	Name     string
	Password string
	// Role and TeamID give the first role assignment; Role may be empty.
	Role   Role
	TeamID uint
}

// Normalize trims and lower-cases what should be compared case-insensitively.
func (in *NewUser) Normalize() {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
}

// Validate checks the fields of a new user; messages are keyed by field name.
func (in NewUser) Validate() error {
	v := NewValidationError()
	if msg := validateEmail(in.Email); msg != "" {
		v.Add("email", msg)
	}
	if in.Name == "" {
		v.Add("name", "Enter a name.")
	} else if len(in.Name) > 200 {
		v.Add("name", "Use at most 200 characters.")
	}
	if msg := ValidatePassword(in.Password); msg != "" {
		v.Add("password", msg)
	}
	if in.Role != "" {
		if msg := ValidateRoleScope(in.Role, in.TeamID); msg != "" {
			v.Add("role", msg)
		}
	}
	return v.Err()
}

func validateEmail(email string) string {
	if email == "" {
		return "Enter an email address."
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 320 {
		return "Enter a valid email address, like ana@example.com."
	}
	return ""
}

// CreateUser creates an active user, with an optional first role.
func (s *Store) CreateUser(ctx context.Context, actor Actor, in NewUser) (User, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password, s.argon)
	if err != nil {
		return User{}, err
	}
	u := User{Email: in.Email, Name: in.Name, PasswordHash: hash, Active: true}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&u).Error; err != nil {
			if errors.Is(mapError(err), ErrConflict) {
				v := NewValidationError()
				v.Add("email", "A user with this email already exists.")
				return v
			}
			return fmt.Errorf("create user: %w", err)
		}
		if err := s.appendAudit(tx, actor, AuditEntry{Action: "user.create", ObjectType: "user",
			ObjectID: fmt.Sprint(u.ID), After: map[string]any{"email": u.Email, "name": u.Name}}); err != nil {
			return err
		}
		if in.Role != "" {
			_, err := s.assignRole(tx, actor, u.ID, in.Role, in.TeamID)
			return err
		}
		return nil
	})
	return u, err
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id uint) (User, error) {
	var u User
	err := s.r(ctx).First(&u, id).Error
	return u, mapError(err)
}

// UserByEmail returns one user by (case-insensitive) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.r(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error
	return u, mapError(err)
}

// UserCount counts all users, active or not.
func (s *Store) UserCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.r(ctx).Model(&User{}).Count(&n).Error
	return n, err
}

// Users lists users by name or email search.
func (s *Store) Users(ctx context.Context, p ListParams) (Page[User], error) {
	p = p.Normalize()
	q := s.r(ctx).Model(&User{})
	if p.Search != "" {
		like := likePattern(p.Search)
		q = q.Where(`(LOWER(email) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\')`, like, like)
	}
	page := Page[User]{Params: p}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count users: %w", err)
	}
	order := p.orderBy(map[string]string{"name": "name", "email": "email", "created": "created_at", "last_login": "last_login_at"}, "name ASC")
	err := q.Order(order).Order("id").Limit(p.PerPage).Offset(p.Offset()).Find(&page.Items).Error
	return page, err
}

// Authenticate checks an email and password. Unknown users, inactive users
// and wrong passwords all return ErrUnauthenticated after the same work.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	u, err := s.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		_, _ = VerifyPassword(dummyHash(), password)
		return User{}, ErrUnauthenticated
	}
	if err != nil {
		return User{}, err
	}
	ok, err := VerifyPassword(u.PasswordHash, password)
	if err != nil {
		return User{}, fmt.Errorf("verify password of user %d: %w", u.ID, err)
	}
	if !ok || !u.Active {
		return User{}, ErrUnauthenticated
	}
	return u, nil
}

// DeactivateUser marks a user inactive and ends all of their sessions at once.
func (s *Store) DeactivateUser(ctx context.Context, actor Actor, id uint) error {
	if actor.UserID == id {
		return fmt.Errorf("%w: you cannot deactivate yourself", ErrForbidden)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, id).Error; err != nil {
			return mapError(err)
		}
		if !u.Active {
			return fmt.Errorf("%w: user is already inactive", ErrInvalidTransition)
		}
		now := s.Now()
		if err := tx.Model(&u).Updates(map[string]any{"active": false, "deactivated_at": now}).Error; err != nil {
			return fmt.Errorf("deactivate user: %w", err)
		}
		res := tx.Where("user_id = ?", id).Delete(&Session{})
		if res.Error != nil {
			return fmt.Errorf("end sessions: %w", res.Error)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "user.deactivate", ObjectType: "user",
			ObjectID: fmt.Sprint(id), Before: map[string]any{"active": true},
			After: map[string]any{"active": false, "sessions_ended": res.RowsAffected}})
	})
}

// ReactivateUser lets an inactive user sign in again.
func (s *Store) ReactivateUser(ctx context.Context, actor Actor, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, id).Error; err != nil {
			return mapError(err)
		}
		if u.Active {
			return fmt.Errorf("%w: user is already active", ErrInvalidTransition)
		}
		if err := tx.Model(&u).Updates(map[string]any{"active": true, "deactivated_at": nil}).Error; err != nil {
			return fmt.Errorf("reactivate user: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "user.reactivate", ObjectType: "user",
			ObjectID: fmt.Sprint(id), Before: map[string]any{"active": false}, After: map[string]any{"active": true}})
	})
}

// SetPassword replaces a user's password and ends their other sessions.
func (s *Store) SetPassword(ctx context.Context, actor Actor, id uint, password string) error {
	if msg := ValidatePassword(password); msg != "" {
		v := NewValidationError()
		v.Add("password", msg)
		return v
	}
	hash, err := HashPassword(password, s.argon)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", id).Update("password_hash", hash)
		if res.Error != nil {
			return fmt.Errorf("set password: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		ended := tx.Where("user_id = ?", id).Delete(&Session{})
		if ended.Error != nil {
			return fmt.Errorf("end sessions: %w", ended.Error)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "user.password_reset", ObjectType: "user",
			ObjectID: fmt.Sprint(id), After: map[string]any{"sessions_ended": ended.RowsAffected}})
	})
}
