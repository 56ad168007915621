package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Role is a named set of permissions, held per team (or org-wide for admin
// and auditor). The permissions themselves live in the Casbin policy.
type Role string

// The five roles of Countersign.
const (
	RoleAdmin      Role = "admin"
	RoleGovernance Role = "governance"
	RoleApprover   Role = "approver"
	RoleManager    Role = "manager"
	RoleAuditor    Role = "auditor"
)

// Roles lists every role in display order.
var Roles = []Role{RoleAdmin, RoleGovernance, RoleApprover, RoleManager, RoleAuditor}

// OrgWide is the scope of an assignment that holds in every team.
const OrgWide = "*"

// ParseRole returns the role with that name.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// MayBeOrgWide reports whether a role may be held across all teams.
func (r Role) MayBeOrgWide() bool { return r == RoleAdmin || r == RoleAuditor }

// ValidateRoleScope checks a (role, team) pair; teamID 0 means org-wide.
func ValidateRoleScope(role Role, teamID uint) string {
	if _, ok := ParseRole(string(role)); !ok {
		return "Choose one of: admin, governance, approver, manager, auditor."
	}
	if teamID == 0 && !role.MayBeOrgWide() {
		return fmt.Sprintf("The %s role is held per team: choose a team.", role)
	}
	return ""
}

// RoleAssignment gives a user a role in a team, or org-wide when TeamID is nil.
type RoleAssignment struct {
	ID        uint `gorm:"primaryKey"`
	UserID    uint
	Role      Role
	TeamID    *uint
	Scope     string // "*" or "team:<id>": the Casbin domain
	CreatedAt time.Time
	User      User  `gorm:"foreignKey:UserID"`
	Team      *Team `gorm:"foreignKey:TeamID"`
}

// TeamDomain is the Casbin domain of a team.
func TeamDomain(teamID uint) string {
	if teamID == 0 {
		return OrgWide
	}
	return fmt.Sprintf("team:%d", teamID)
}

// AssignRole gives a user a role in a team (teamID 0: org-wide).
func (s *Store) AssignRole(ctx context.Context, actor Actor, userID uint, role Role, teamID uint) (RoleAssignment, error) {
	var a RoleAssignment
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		a, err = s.assignRole(tx, actor, userID, role, teamID)
		return err
	})
	return a, err
}

func (s *Store) assignRole(tx *gorm.DB, actor Actor, userID uint, role Role, teamID uint) (RoleAssignment, error) {
	if msg := ValidateRoleScope(role, teamID); msg != "" {
		v := NewValidationError()
		v.Add("role", msg)
		return RoleAssignment{}, v
	}
	a := RoleAssignment{UserID: userID, Role: role, Scope: TeamDomain(teamID)}
	if teamID != 0 {
		a.TeamID = &teamID
		if err := tx.First(&Team{}, teamID).Error; err != nil {
			v := NewValidationError()
			v.Add("team", "Choose an existing team.")
			return a, v
		}
	}
	if err := tx.First(&User{}, userID).Error; err != nil {
		return a, mapError(err)
	}
	if err := tx.Create(&a).Error; err != nil {
		if errors.Is(mapError(err), ErrConflict) {
			v := NewValidationError()
			v.Add("role", "The user already holds this role there.")
			return a, v
		}
		return a, fmt.Errorf("assign role: %w", err)
	}
	return a, s.appendAudit(tx, actor, AuditEntry{Action: "role.assign", ObjectType: "user",
		ObjectID: fmt.Sprint(userID), After: map[string]any{"role": role, "scope": a.Scope}})
}

// RevokeRole removes one role assignment.
func (s *Store) RevokeRole(ctx context.Context, actor Actor, assignmentID uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var a RoleAssignment
		if err := tx.First(&a, assignmentID).Error; err != nil {
			return mapError(err)
		}
		if a.UserID == actor.UserID && a.Role == RoleAdmin {
			var others int64
			tx.Model(&RoleAssignment{}).Where("role = ? AND user_id <> ?", RoleAdmin, a.UserID).Count(&others)
			if others == 0 {
				return fmt.Errorf("%w: you are the last admin; assign another admin first", ErrForbidden)
			}
		}
		if err := tx.Delete(&a).Error; err != nil {
			return fmt.Errorf("revoke role: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "role.revoke", ObjectType: "user",
			ObjectID: fmt.Sprint(a.UserID), Before: map[string]any{"role": a.Role, "scope": a.Scope}})
	})
}

// RoleAssignments lists every assignment of active users, for loading Casbin.
func (s *Store) RoleAssignments(ctx context.Context) ([]RoleAssignment, error) {
	var out []RoleAssignment
	err := s.r(ctx).Joins("JOIN users ON users.id = role_assignments.user_id AND users.active = ?", true).
		Order("role_assignments.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	return out, nil
}

// RolesOfUser lists a user's assignments with their teams.
func (s *Store) RolesOfUser(ctx context.Context, userID uint) ([]RoleAssignment, error) {
	var out []RoleAssignment
	err := s.r(ctx).Preload("Team").Where("user_id = ?", userID).Order("role, scope").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list roles of user %d: %w", userID, err)
	}
	return out, nil
}

// RolesVersion returns a value that changes whenever assignments or user
// activity change; replicas poll it to know when to reload Casbin.
func (s *Store) RolesVersion(ctx context.Context) (string, error) {
	var row struct {
		N   int64
		Max *uint
	}
	if err := s.r(ctx).Model(&RoleAssignment{}).Select("COUNT(*) AS n, MAX(id) AS max").Scan(&row).Error; err != nil {
		return "", err
	}
	var head auditHead
	if err := s.r(ctx).First(&head, 1).Error; err != nil {
		return "", err
	}
	max := uint(0)
	if row.Max != nil {
		max = *row.Max
	}
	return fmt.Sprintf("%d/%d/%d", row.N, max, head.Seq), nil
}
