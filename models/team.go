package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Team owns servers and credentials; it is the Casbin domain of roles.
type Team struct {
	ID          uint `gorm:"primaryKey"`
	Slug        string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TeamInput is the form and API input for a team.
type TeamInput struct {
	Slug        string
	Name        string
	Description string
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// ValidSlug reports whether s is a lower-case slug of letters, digits and dashes.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// Validate checks a team input.
func (in *TeamInput) Validate() error {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	v := NewValidationError()
	if !ValidSlug(in.Slug) {
		v.Add("slug", "Use 1–64 lower-case letters, digits and dashes, like payments-platform.")
	}
	v.checkName(in.Name, 120, "")
	if len(in.Description) > 2000 {
		v.Add("description", "Use at most 2000 characters.")
	}
	return v.Err()
}

// CreateTeam creates a team.
func (s *Store) CreateTeam(ctx context.Context, actor Actor, in TeamInput) (Team, error) {
	if err := in.Validate(); err != nil {
		return Team{}, err
	}
	t := Team{Slug: in.Slug, Name: in.Name, Description: in.Description}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&t).Error; err != nil {
			if errors.Is(mapError(err), ErrConflict) {
				v := NewValidationError()
				v.Add("slug", "A team with this slug already exists.")
				return v
			}
			return fmt.Errorf("create team: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "team.create", ObjectType: "team",
			ObjectID: fmt.Sprint(t.ID), After: map[string]any{"slug": t.Slug, "name": t.Name}})
	})
	return t, err
}

// UpdateTeam changes a team's name and description (the slug is fixed).
func (s *Store) UpdateTeam(ctx context.Context, actor Actor, id uint, in TeamInput) (Team, error) {
	var t Team
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&t, id).Error; err != nil {
			return mapError(err)
		}
		in.Slug = t.Slug
		if err := in.Validate(); err != nil {
			return err
		}
		before := map[string]any{"name": t.Name, "description": t.Description}
		t.Name, t.Description = in.Name, in.Description
		if err := tx.Save(&t).Error; err != nil {
			return fmt.Errorf("update team: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "team.update", ObjectType: "team",
			ObjectID: fmt.Sprint(t.ID), Before: before, After: map[string]any{"name": t.Name, "description": t.Description}})
	})
	return t, err
}

// TeamByID returns one team.
func (s *Store) TeamByID(ctx context.Context, id uint) (Team, error) {
	var t Team
	return t, mapError(s.r(ctx).First(&t, id).Error)
}

// TeamBySlug returns one team by slug.
func (s *Store) TeamBySlug(ctx context.Context, slug string) (Team, error) {
	var t Team
	return t, mapError(s.r(ctx).Where("slug = ?", slug).First(&t).Error)
}

// AllTeams lists every team by name (for selects).
func (s *Store) AllTeams(ctx context.Context) ([]Team, error) {
	var out []Team
	err := s.r(ctx).Order("name").Find(&out).Error
	return out, err
}

// TeamSummary is a team with member counts.
type TeamSummary struct {
	Team
	Members int64
}

// Teams lists teams with their member counts.
func (s *Store) Teams(ctx context.Context, p ListParams) (Page[TeamSummary], error) {
	p = p.Normalize()
	q := s.r(ctx).Model(&Team{})
	if p.Search != "" {
		like := likePattern(p.Search)
		q = q.Where(`(LOWER(slug) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\')`, like, like)
	}
	page := Page[TeamSummary]{Params: p}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count teams: %w", err)
	}
	order := p.orderBy(map[string]string{"name": "teams.name", "slug": "teams.slug", "created": "teams.created_at"}, "teams.name ASC")
	err := q.Select("teams.*, (SELECT COUNT(DISTINCT user_id) FROM role_assignments ra WHERE ra.team_id = teams.id) AS members").
		Order(order).Limit(p.PerPage).Offset(p.Offset()).Scan(&page.Items).Error
	return page, err
}

// TeamMembers lists the role assignments held in a team.
func (s *Store) TeamMembers(ctx context.Context, teamID uint) ([]RoleAssignment, error) {
	var out []RoleAssignment
	err := s.r(ctx).Preload("User").Where("team_id = ?", teamID).Order("role").Find(&out).Error
	return out, err
}
