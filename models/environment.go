package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// EnvironmentInput is the form and API input of an environment.
type EnvironmentInput struct {
	Name        string
	Sensitive   bool
	Description string
}

// Validate checks an environment input.
func (in *EnvironmentInput) Validate() error {
	in.Name = strings.ToLower(strings.TrimSpace(in.Name))
	in.Description = strings.TrimSpace(in.Description)
	v := NewValidationError()
	if !ValidSlug(in.Name) || len(in.Name) > 40 {
		v.Add("name", "Use 1–40 lower-case letters, digits and dashes, like staging.")
	}
	if len(in.Description) > 500 {
		v.Add("description", "Use at most 500 characters.")
	}
	return v.Err()
}

// Environments lists every environment by name.
func (s *Store) Environments(ctx context.Context) ([]Environment, error) {
	var out []Environment
	err := s.r(ctx).Order("CASE name WHEN 'dev' THEN 1 WHEN 'test' THEN 2 WHEN 'prod' THEN 3 ELSE 4 END, name").Find(&out).Error
	return out, err
}

// EnvironmentByID returns one environment.
func (s *Store) EnvironmentByID(ctx context.Context, id uint) (Environment, error) {
	var e Environment
	return e, mapError(s.r(ctx).First(&e, id).Error)
}

// EnvironmentByName returns one environment by name.
func (s *Store) EnvironmentByName(ctx context.Context, name string) (Environment, error) {
	var e Environment
	return e, mapError(s.r(ctx).Where("name = ?", strings.ToLower(strings.TrimSpace(name))).First(&e).Error)
}

// CreateEnvironment adds a custom environment.
func (s *Store) CreateEnvironment(ctx context.Context, actor Actor, in EnvironmentInput) (Environment, error) {
	if err := in.Validate(); err != nil {
		return Environment{}, err
	}
	e := Environment{Name: in.Name, Sensitive: in.Sensitive, Description: in.Description}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&e).Error; err != nil {
			if errors.Is(mapError(err), ErrConflict) {
				v := NewValidationError()
				v.Add("name", "An environment with this name already exists.")
				return v
			}
			return fmt.Errorf("create environment: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "environment.create", ObjectType: "environment",
			ObjectID: fmt.Sprint(e.ID), After: map[string]any{"name": e.Name, "sensitive": e.Sensitive}})
	})
	return e, err
}

// UpdateEnvironment changes an environment's sensitivity and description.
func (s *Store) UpdateEnvironment(ctx context.Context, actor Actor, id uint, in EnvironmentInput) (Environment, error) {
	var e Environment
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&e, id).Error; err != nil {
			return mapError(err)
		}
		in.Name = e.Name
		if err := in.Validate(); err != nil {
			return err
		}
		before := map[string]any{"sensitive": e.Sensitive, "description": e.Description}
		e.Sensitive, e.Description = in.Sensitive, in.Description
		if err := tx.Save(&e).Error; err != nil {
			return fmt.Errorf("update environment: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "environment.update", ObjectType: "environment",
			ObjectID: fmt.Sprint(e.ID), Before: before, After: map[string]any{"sensitive": e.Sensitive, "description": e.Description}})
	})
	return e, err
}
