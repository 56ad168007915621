package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gorm.io/gorm"
)

// Bounds of a key policy entry.
const (
	// MaxKeyLifetimeDays is the longest max lifetime an entry may state (ten years).
	MaxKeyLifetimeDays = 3650
	// MinRationaleLength is the shortest written reason accepted: the point of
	// an entry is to say why the key type is allowed.
	MinRationaleLength = 10
	// MaxRationaleLength bounds the written reason.
	MaxRationaleLength = 2000
	// MaxRequiredScopesLength bounds the stored list of required scopes.
	MaxRequiredScopesLength = 500
)

// AllowedKeyTypeInput is the form and API input of one key policy entry,
// for a server or as an environment default.
type AllowedKeyTypeInput struct {
	KeyType KeyType
	// MaxLifetimeDays bounds a credential's life; 0 means no limit.
	MaxLifetimeDays int
	// RotationSpec is an optional default rotation schedule (5-field cron or a
	// descriptor); RotationTZ its IANA time zone, empty meaning UTC.
	RotationSpec string
	RotationTZ   string
	// RequiredScopes is a list separated by commas or spaces. Scopes keep their
	// case (Mail.Read and mail.read are different scopes at some issuers).
	RequiredScopes string
	Rationale      string
}

// Normalize trims the input and puts the scope list in canonical form.
func (in *AllowedKeyTypeInput) Normalize() {
	in.KeyType = KeyType(strings.TrimSpace(string(in.KeyType)))
	in.RotationSpec = strings.TrimSpace(in.RotationSpec)
	in.RotationTZ = strings.TrimSpace(in.RotationTZ)
	in.Rationale = strings.TrimSpace(in.Rationale)
	in.RequiredScopes = canonicalScopes(in.RequiredScopes)
}

// canonicalScopes splits on commas and white space, drops duplicates and
// sorts, keeping each scope's case.
func canonicalScopes(s string) string {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Validate checks the fields that need no database. Field names are those
// of the form: key_type, max_lifetime_days, rotation_spec, rotation_tz,
// required_scopes, rationale. A schedule is parsed with opts, so that the
// same minimum interval applies as for credentials.
func (in AllowedKeyTypeInput) Validate(opts ScheduleOptions) error {
	v := NewValidationError()
	if !in.KeyType.Valid() {
		v.Add("key_type", "Choose a key type from the list.")
	}
	if in.MaxLifetimeDays < 0 || in.MaxLifetimeDays > MaxKeyLifetimeDays {
		v.Add("max_lifetime_days", fmt.Sprintf("Enter a number of days from 0 (no limit) to %d.", MaxKeyLifetimeDays))
	}
	_, problems := CheckScheduleFields(in.RotationSpec, in.RotationTZ, opts)
	v.addScheduleProblems(problems)
	if len(in.RequiredScopes) > MaxRequiredScopesLength {
		v.Add("required_scopes", fmt.Sprintf("Use at most %d characters.", MaxRequiredScopesLength))
	}
	switch n := len([]rune(in.Rationale)); {
	case n < MinRationaleLength:
		v.Add("rationale", "Write why this key type is allowed here (at least 10 characters): this is the record auditors read.")
	case n > MaxRationaleLength:
		v.Add("rationale", fmt.Sprintf("Use at most %d characters.", MaxRationaleLength))
	}
	return v.Err()
}

func (in AllowedKeyTypeInput) apply(e *AllowedKeyType) {
	e.KeyType, e.MaxLifetimeDays = in.KeyType, in.MaxLifetimeDays
	e.RotationSpec, e.RotationTZ = in.RotationSpec, in.RotationTZ
	if e.RotationSpec == "" {
		e.RotationTZ = ""
	}
	e.RequiredScopes, e.Rationale = in.RequiredScopes, in.Rationale
}

func keyTypeSummary(e AllowedKeyType) map[string]any {
	return map[string]any{"id": e.ID, "key_type": e.KeyType, "max_lifetime_days": e.MaxLifetimeDays,
		"rotation_spec": e.RotationSpec, "rotation_tz": e.RotationTZ, "required_scopes": e.RequiredScopes,
		"rationale": e.Rationale}
}

// auditTarget is where an entry's changes show in the audit log: the
// server's history for a server entry, the environment's for a default.
func (e AllowedKeyType) auditTarget() (string, string) {
	if e.ServerID != nil {
		return "server", fmt.Sprint(*e.ServerID)
	}
	if e.EnvironmentID != nil {
		return "environment", fmt.Sprint(*e.EnvironmentID)
	}
	return "allowed_key_type", fmt.Sprint(e.ID)
}

// CreateServerKeyType adds an entry to a server's own key policy. When the
// server's environment has defaults, the entry may only tighten them.
func (s *Store) CreateServerKeyType(ctx context.Context, actor Actor, serverID uint, in AllowedKeyTypeInput) (AllowedKeyType, error) {
	id := serverID
	return s.createKeyType(ctx, actor, AllowedKeyType{ServerID: &id}, in)
}

// CreateEnvironmentKeyType adds a default entry to an environment's key
// policy; servers of the environment without their own entries inherit it.
func (s *Store) CreateEnvironmentKeyType(ctx context.Context, actor Actor, envID uint, in AllowedKeyTypeInput) (AllowedKeyType, error) {
	id := envID
	return s.createKeyType(ctx, actor, AllowedKeyType{EnvironmentID: &id}, in)
}

func (s *Store) createKeyType(ctx context.Context, actor Actor, e AllowedKeyType, in AllowedKeyTypeInput) (AllowedKeyType, error) {
	in.Normalize()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.checkKeyType(tx, e, in); err != nil {
			return err
		}
		in.apply(&e)
		if err := tx.Create(&e).Error; err != nil {
			return duplicateKeyType(err, "create allowed key type")
		}
		typ, id := e.auditTarget()
		return s.appendAudit(tx, actor, AuditEntry{Action: "keytype.create", ObjectType: typ, ObjectID: id,
			After: keyTypeSummary(e)})
	})
	return e, err
}

// UpdateAllowedKeyType changes an entry, at the level (server or
// environment) where it was created.
func (s *Store) UpdateAllowedKeyType(ctx context.Context, actor Actor, id uint, in AllowedKeyTypeInput) (AllowedKeyType, error) {
	in.Normalize()
	var e AllowedKeyType
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&e, id).Error; err != nil {
			return mapError(err)
		}
		if err := s.checkKeyType(tx, e, in); err != nil {
			return err
		}
		before := keyTypeSummary(e)
		in.apply(&e)
		if err := tx.Save(&e).Error; err != nil {
			return duplicateKeyType(err, "update allowed key type")
		}
		typ, oid := e.auditTarget()
		return s.appendAudit(tx, actor, AuditEntry{Action: "keytype.update", ObjectType: typ, ObjectID: oid,
			Before: before, After: keyTypeSummary(e)})
	})
	return e, err
}

// DeleteAllowedKeyType removes an entry and returns it as it was, so that
// the caller knows which server or environment it belonged to.
func (s *Store) DeleteAllowedKeyType(ctx context.Context, actor Actor, id uint) (AllowedKeyType, error) {
	var e AllowedKeyType
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&e, id).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Delete(&AllowedKeyType{}, e.ID).Error; err != nil {
			return fmt.Errorf("delete allowed key type: %w", err)
		}
		typ, oid := e.auditTarget()
		return s.appendAudit(tx, actor, AuditEntry{Action: "keytype.delete", ObjectType: typ, ObjectID: oid,
			Before: keyTypeSummary(e)})
	})
	return e, err
}

// AllowedKeyTypeByID returns one entry.
func (s *Store) AllowedKeyTypeByID(ctx context.Context, id uint) (AllowedKeyType, error) {
	var e AllowedKeyType
	return e, mapError(s.r(ctx).First(&e, id).Error)
}

// EnvironmentDefaults returns every environment's default entries, by
// environment id.
func (s *Store) EnvironmentDefaults(ctx context.Context) (map[uint][]AllowedKeyType, error) {
	var all []AllowedKeyType
	if err := s.r(ctx).Where("server_id IS NULL AND environment_id IS NOT NULL").Order("key_type").Find(&all).Error; err != nil {
		return nil, fmt.Errorf("environment defaults: %w", err)
	}
	out := map[uint][]AllowedKeyType{}
	for _, e := range all {
		out[*e.EnvironmentID] = append(out[*e.EnvironmentID], e)
	}
	return out, nil
}

func duplicateKeyType(err error, what string) error {
	if errors.Is(mapError(err), ErrConflict) {
		v := NewValidationError()
		v.Add("key_type", "This key type is already listed here: edit that entry instead.")
		return v
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkKeyType validates in for the entry e (new or existing): the input
// itself, that its owner exists, that the key type is not listed twice at
// the same level, and that a server entry only tightens its environment.
func (s *Store) checkKeyType(tx *gorm.DB, e AllowedKeyType, in AllowedKeyTypeInput) error {
	v, _ := AsValidation(in.Validate(s.ScheduleOptions()))
	if v == nil {
		v = NewValidationError()
	}
	same := tx.Model(&AllowedKeyType{}).Where("key_type = ? AND id <> ?", in.KeyType, e.ID)
	switch {
	case e.ServerID != nil:
		var srv Server
		if err := tx.First(&srv, *e.ServerID).Error; err != nil {
			return mapError(err)
		}
		same = same.Where("server_id = ?", *e.ServerID)
		if !v.Has("key_type") && !v.Has("max_lifetime_days") {
			if err := checkTightening(tx, srv, in, v); err != nil {
				return err
			}
		}
	case e.EnvironmentID != nil:
		if err := tx.First(&Environment{}, *e.EnvironmentID).Error; err != nil {
			return mapError(err)
		}
		same = same.Where("server_id IS NULL AND environment_id = ?", *e.EnvironmentID)
	default:
		return fmt.Errorf("allowed key type %d belongs to no server or environment", e.ID)
	}
	if !v.Has("key_type") {
		var n int64
		if err := same.Count(&n).Error; err != nil {
			return fmt.Errorf("check duplicate key type: %w", err)
		}
		if n > 0 {
			v.Add("key_type", "This key type is already listed here: edit that entry instead.")
		}
	}
	return v.Err()
}

// checkTightening adds a message when a server entry allows more than the
// defaults of the server's environment: a key type the environment does not
// allow, or a longer max lifetime (0, no limit, is the longest).
func checkTightening(tx *gorm.DB, srv Server, in AllowedKeyTypeInput, v *ValidationError) error {
	var env Environment
	if err := tx.First(&env, srv.EnvironmentID).Error; err != nil {
		return mapError(err)
	}
	var defaults []AllowedKeyType
	if err := tx.Where("server_id IS NULL AND environment_id = ?", env.ID).Find(&defaults).Error; err != nil {
		return fmt.Errorf("environment defaults: %w", err)
	}
	if len(defaults) == 0 {
		return nil
	}
	for _, d := range defaults {
		if d.KeyType == in.KeyType {
			if msg := LooserThan(in.MaxLifetimeDays, d.MaxLifetimeDays, env.Name); msg != "" {
				v.Add("max_lifetime_days", msg)
			}
			return nil
		}
	}
	v.Add("key_type", fmt.Sprintf("The %s environment does not allow %s: a server may only tighten its environment's defaults (%s).",
		env.Name, in.KeyType.Label(), keyTypeNames(defaults)))
	return nil
}

// LooserThan explains why a max lifetime of days is longer than the
// environment's envDays (0 meaning no limit), or returns "" when it is not.
func LooserThan(days, envDays int, envName string) string {
	switch {
	case envDays == 0:
		return ""
	case days == 0:
		return fmt.Sprintf("The %s environment limits this key type to %s: enter at most %d (0, no limit, is longer).", envName, dayCount(envDays), envDays)
	case days > envDays:
		return fmt.Sprintf("The %s environment limits this key type to %s: enter at most %d.", envName, dayCount(envDays), envDays)
	}
	return ""
}

func keyTypeNames(entries []AllowedKeyType) string {
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.KeyType.Label())
	}
	return strings.Join(names, ", ")
}
