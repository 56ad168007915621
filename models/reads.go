package models

import (
	"context"
	"fmt"
)

// KeyPolicyEntries returns the entries that matter for a server: its own and
// its environment's.
func (s *Store) KeyPolicyEntries(ctx context.Context, srv Server) ([]AllowedKeyType, error) {
	var out []AllowedKeyType
	err := s.r(ctx).Where("server_id = ? OR (server_id IS NULL AND environment_id = ?)", srv.ID, srv.EnvironmentID).
		Order("key_type").Find(&out).Error
	return out, err
}

// EnvironmentKeyPolicy returns the default entries of an environment.
func (s *Store) EnvironmentKeyPolicy(ctx context.Context, envID uint) ([]AllowedKeyType, error) {
	var out []AllowedKeyType
	err := s.r(ctx).Where("server_id IS NULL AND environment_id = ?", envID).Order("key_type").Find(&out).Error
	return out, err
}

// CredentialsOfServer lists the credentials attached to a server.
func (s *Store) CredentialsOfServer(ctx context.Context, serverID uint) ([]Credential, error) {
	var out []Credential
	err := s.r(ctx).Joins("JOIN credential_servers cs ON cs.credential_id = credentials.id AND cs.server_id = ?", serverID).
		Order("credentials.name").Find(&out).Error
	return out, err
}

// OpenFindingsOf lists open findings about the objects: a server's own
// findings plus those of its credentials and tools.
func (s *Store) OpenFindingsOf(ctx context.Context, objects map[string][]uint) ([]Finding, error) {
	q := s.r(ctx).Model(&Finding{}).Where("resolved_at IS NULL")
	cond := s.r(ctx)
	any := false
	for typ, ids := range objects {
		if len(ids) == 0 {
			continue
		}
		cond = cond.Or("object_type = ? AND object_id IN ?", typ, ids)
		any = true
	}
	var out []Finding
	if !any {
		return out, nil
	}
	err := q.Where(cond).Order("rule_id, object_type, object_id").Limit(500).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("open findings: %w", err)
	}
	return out, nil
}

// AuditOf lists the newest audit events of an object.
func (s *Store) AuditOf(ctx context.Context, objectType string, objectID uint, limit int) ([]AuditEvent, error) {
	var out []AuditEvent
	err := s.r(ctx).Where("object_type = ? AND object_id = ?", objectType, fmt.Sprint(objectID)).
		Order("id DESC").Limit(limit).Find(&out).Error
	return out, err
}

// ActiveUsers lists active users by name (for owner selects).
func (s *Store) ActiveUsers(ctx context.Context) ([]User, error) {
	var out []User
	err := s.r(ctx).Where("active = ?", true).Order("name").Find(&out).Error
	return out, err
}
