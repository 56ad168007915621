package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// CredentialInput is the form and API input of a credential. Secret, when
// set, is the pasted secret: it is fingerprinted and dropped, never stored,
// logged, audited or echoed back.
type CredentialInput struct {
	Name          string
	TeamID        uint
	EnvironmentID uint
	KeyType       KeyType
	ServerIDs     []uint
	Scopes        string
	OwnerID       uint
	Issuer        string
	IssuedAt      *time.Time
	ExpiresAt     *time.Time
	LastRotatedAt *time.Time
	RotationSpec  string
	RotationTZ    string
	Status        CredentialStatus
	Notes         string
	Secret        string
}

// Normalize trims the input and fills defaults.
func (in *CredentialInput) Normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.Scopes = JoinList([]string{in.Scopes})
	in.Issuer = strings.TrimSpace(in.Issuer)
	in.RotationSpec = strings.TrimSpace(in.RotationSpec)
	in.RotationTZ = strings.TrimSpace(in.RotationTZ)
	in.Notes = strings.TrimSpace(in.Notes)
	in.Secret = strings.TrimSpace(in.Secret)
	if in.Status == "" {
		in.Status = CredentialActive
	}
	seen := map[uint]bool{}
	ids := in.ServerIDs[:0:0]
	for _, id := range in.ServerIDs {
		if id != 0 && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	in.ServerIDs = ids
}

// Validate checks the fields that need no database. Messages never quote
// the secret.
func (in CredentialInput) Validate() error {
	v := NewValidationError()
	v.checkName(in.Name, 200, "billing-prod stripe key")
	if in.TeamID == 0 {
		v.Add("team", "Choose the team that owns the credential.")
	}
	if in.EnvironmentID == 0 {
		v.Add("environment", "Choose the environment the credential belongs to.")
	}
	if !in.KeyType.Valid() {
		v.Add("key_type", "Choose a key type.")
	}
	switch in.Status {
	case CredentialActive, CredentialRevoked, CredentialExpired:
	default:
		v.Add("status", "Choose active, revoked or expired.")
	}
	if len(in.Scopes) > 500 {
		v.Add("scopes", "Use at most 500 characters.")
	}
	if len(in.Issuer) > 200 {
		v.Add("issuer", "Use at most 200 characters.")
	}
	if len(in.Notes) > 4000 {
		v.Add("notes", "Use at most 4000 characters.")
	}
	if in.IssuedAt != nil && in.ExpiresAt != nil && !in.ExpiresAt.After(*in.IssuedAt) {
		v.Add("expires_at", "The expiry must come after the issue date.")
	}
	if in.Secret != "" && (len(in.Secret) < 8 || len(in.Secret) > 8192) {
		v.Add("secret", "A secret has 8 to 8192 characters. It was not kept; paste it again.")
	}
	if in.RotationTZ != "" && in.RotationSpec == "" {
		v.Add("rotation_tz", ZoneWithoutScheduleMessage)
	}
	return v.Err()
}

// addScheduleError puts a schedule error on its form field.
func addScheduleError(v *ValidationError, err error) {
	var se *ScheduleError
	if errors.As(err, &se) {
		field := "rotation_spec"
		if se.Field == "zone" || se.Field == "rotation_tz" || se.Field == "tz" {
			field = "rotation_tz"
		}
		v.Add(field, se.Message)
		return
	}
	v.Add("rotation_spec", err.Error())
}

// prepareCredential checks references, inherits the schedule from the key
// policy when none is given, and computes the next due time.
func (s *Store) prepareCredential(tx *gorm.DB, in *CredentialInput, v *ValidationError) (schedule RotationSchedule, inherited bool) {
	if in.TeamID != 0 && tx.First(&Team{}, in.TeamID).Error != nil {
		v.Add("team", "Choose an existing team.")
	}
	if in.EnvironmentID != 0 && tx.First(&Environment{}, in.EnvironmentID).Error != nil {
		v.Add("environment", "Choose an existing environment.")
	}
	if in.OwnerID != 0 {
		var u User
		if tx.First(&u, in.OwnerID).Error != nil || !u.Active {
			v.Add("owner", "Choose an active user as owner.")
		}
	}
	var servers []Server
	if len(in.ServerIDs) > 0 {
		if err := tx.Where("id IN ?", in.ServerIDs).Find(&servers).Error; err != nil || len(servers) != len(in.ServerIDs) {
			v.Add("servers", "Choose existing servers.")
		}
		for _, srv := range servers {
			if in.TeamID != 0 && srv.TeamID != in.TeamID {
				v.Add("servers", fmt.Sprintf("%s belongs to another team; a credential is attached to servers of its own team.", srv.Slug))
				break
			}
		}
	}
	if in.RotationSpec == "" && len(servers) > 0 && in.KeyType.Valid() {
		var entries []AllowedKeyType
		tx.Where("server_id = ? OR (server_id IS NULL AND environment_id = ?)", servers[0].ID, servers[0].EnvironmentID).Find(&entries)
		if e, ok := EffectiveKeyPolicy(servers[0], entries).Allows(in.KeyType); ok && e.RotationSpec != "" {
			in.RotationSpec, in.RotationTZ, inherited = e.RotationSpec, e.RotationTZ, true
		}
	}
	if in.RotationSpec == "" {
		return RotationSchedule{}, false
	}
	if inherited {
		// The key policy's schedule, checked when it was saved.
		sched, err := ParseRotationSchedule(in.RotationSpec, in.RotationTZ, s.sched)
		if err != nil {
			addScheduleError(v, err)
			return RotationSchedule{}, false
		}
		return sched, true
	}
	sched, problems := CheckScheduleFields(in.RotationSpec, in.RotationTZ, s.sched)
	v.addScheduleProblems(problems)
	return sched, false
}

func (in CredentialInput) apply(c *Credential, sched RotationSchedule, now time.Time) {
	c.Name, c.TeamID, c.EnvironmentID, c.KeyType, c.Scopes = in.Name, in.TeamID, in.EnvironmentID, in.KeyType, in.Scopes
	c.OwnerID = nil
	if in.OwnerID != 0 {
		id := in.OwnerID
		c.OwnerID = &id
	}
	c.Issuer, c.IssuedAt, c.ExpiresAt, c.LastRotatedAt = in.Issuer, utcPtr(in.IssuedAt), utcPtr(in.ExpiresAt), utcPtr(in.LastRotatedAt)
	c.RotationSpec, c.RotationTZ, c.Status, c.Notes = in.RotationSpec, in.RotationTZ, in.Status, in.Notes
	c.NextDueAt = nil
	if in.RotationSpec != "" {
		from := now
		if c.LastRotatedAt != nil {
			from = *c.LastRotatedAt
		} else if c.IssuedAt != nil {
			from = *c.IssuedAt
		}
		if next := sched.Next(from); !next.IsZero() {
			c.NextDueAt = &next
		}
	}
}

// credentialSummary is the audit record of a credential: never the secret,
// at most the start of its fingerprint and its last four characters.
func credentialSummary(c Credential, servers []uint) map[string]any {
	fp := c.Fingerprint
	if len(fp) > 12 {
		fp = fp[:12]
	}
	return map[string]any{"name": c.Name, "team": c.TeamID, "environment": c.EnvironmentID, "key_type": c.KeyType,
		"servers": servers, "scopes": c.Scopes, "owner": c.OwnerID, "issuer": c.Issuer, "expires_at": c.ExpiresAt,
		"rotation_spec": c.RotationSpec, "rotation_tz": c.RotationTZ, "status": c.Status, "fingerprint": fp, "last4": c.Last4}
}

// CheckCredential validates an input without saving it, so a form can
// show every problem at once.
func (s *Store) CheckCredential(ctx context.Context, in CredentialInput) error {
	in.Normalize()
	v, _ := AsValidation(in.Validate())
	if v == nil {
		v = NewValidationError()
	}
	s.prepareCredential(s.r(ctx), &in, v)
	return v.Err()
}

// CreateCredential records a credential. A key type the server's policy
// does not allow is accepted: the CS-006 finding makes it visible.
func (s *Store) CreateCredential(ctx context.Context, actor Actor, in CredentialInput) (Credential, error) {
	return s.saveCredential(ctx, actor, 0, in)
}

// UpdateCredential changes a credential. A new secret replaces the
// fingerprint and clears where the old one was exposed; leaving the secret
// empty keeps the fingerprint.
func (s *Store) UpdateCredential(ctx context.Context, actor Actor, id uint, in CredentialInput) (Credential, error) {
	return s.saveCredential(ctx, actor, id, in)
}

func (s *Store) saveCredential(ctx context.Context, actor Actor, id uint, in CredentialInput) (Credential, error) {
	in.Normalize()
	var c Credential
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var before map[string]any
		var oldServers []uint
		if id != 0 {
			if err := tx.First(&c, id).Error; err != nil {
				return mapError(err)
			}
			tx.Table("credential_servers").Where("credential_id = ?", id).Pluck("server_id", &oldServers)
			before = credentialSummary(c, oldServers)
		}
		v, _ := AsValidation(in.Validate())
		if v == nil {
			v = NewValidationError()
		}
		if in.Secret != "" && s.fp == nil {
			v.Add("secret", "Fingerprinting is not configured on this server, so a secret cannot be taken.")
		}
		sched, _ := s.prepareCredential(tx, &in, v)
		if err := v.Err(); err != nil {
			return err
		}
		in.apply(&c, sched, s.Now())
		if in.Secret != "" {
			c.Fingerprint, c.Last4, c.ExposedIn = s.fp.Fingerprint(in.Secret), Last4(in.Secret), ""
		}
		if id == 0 {
			c.Source = "manual"
		}
		if err := tx.Omit("Team", "Environment", "Owner", "Servers").Save(&c).Error; err != nil {
			return fmt.Errorf("save credential: %w", err)
		}
		if err := tx.Exec("DELETE FROM credential_servers WHERE credential_id = ?", c.ID).Error; err != nil {
			return fmt.Errorf("attach servers: %w", err)
		}
		for _, sid := range in.ServerIDs {
			if err := tx.Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", c.ID, sid).Error; err != nil {
				return fmt.Errorf("attach servers: %w", err)
			}
		}
		action := "credential.create"
		if id != 0 {
			action = "credential.update"
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: action, ObjectType: "credential", ObjectID: fmt.Sprint(c.ID),
			Before: before, After: credentialSummary(c, in.ServerIDs)})
	})
	return c, err
}

// RevokeCredential marks a credential revoked.
func (s *Store) RevokeCredential(ctx context.Context, actor Actor, id uint) (Credential, error) {
	var c Credential
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&c, id).Error; err != nil {
			return mapError(err)
		}
		if c.Status == CredentialRevoked {
			return fmt.Errorf("%w: the credential is already revoked", ErrInvalidTransition)
		}
		before := c.Status
		c.Status = CredentialRevoked
		if err := tx.Model(&Credential{}).Where("id = ?", id).Update("status", CredentialRevoked).Error; err != nil {
			return fmt.Errorf("revoke credential: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "credential.revoke", ObjectType: "credential", ObjectID: fmt.Sprint(id),
			Before: map[string]any{"status": before}, After: map[string]any{"status": c.Status}})
	})
	return c, err
}

// DeleteCredential removes a credential record (not the secret, which was
// never here). Its findings resolve at the next recompute.
func (s *Store) DeleteCredential(ctx context.Context, actor Actor, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var c Credential
		if err := tx.First(&c, id).Error; err != nil {
			return mapError(err)
		}
		var servers []uint
		tx.Table("credential_servers").Where("credential_id = ?", id).Pluck("server_id", &servers)
		if err := tx.Exec("DELETE FROM credential_servers WHERE credential_id = ?", id).Error; err != nil {
			return err
		}
		if err := tx.Delete(&Credential{}, id).Error; err != nil {
			return fmt.Errorf("delete credential: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "credential.delete", ObjectType: "credential", ObjectID: fmt.Sprint(id),
			Before: credentialSummary(c, servers)})
	})
}

// CredentialByID returns a credential with its team, environment, owner
// and servers.
func (s *Store) CredentialByID(ctx context.Context, id uint) (Credential, error) {
	var c Credential
	err := s.r(ctx).Preload("Team").Preload("Environment").Preload("Owner").Preload("Servers", func(db *gorm.DB) *gorm.DB {
		return db.Order("slug")
	}).First(&c, id).Error
	return c, mapError(err)
}
