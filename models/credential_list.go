package models

import (
	"context"
	"fmt"
	"sort"

	"gorm.io/gorm"
)

// CredentialFilter narrows the credentials list. Every field is optional.
type CredentialFilter struct {
	ListParams
	Scope         TeamScope
	TeamID        uint
	EnvironmentID uint
	ServerID      uint
	KeyType       KeyType
	Status        CredentialStatus
	// Reused keeps credentials whose secret (fingerprint) another credential
	// shares.
	Reused bool
	// Overdue keeps active credentials past their next due time.
	Overdue bool
	// OnSensitive keeps credentials attached to a sensitive server (see
	// Dashboard for the definition).
	OnSensitive bool
}

// CredentialRow is a credential in a list, with names, its servers and how
// many other credentials share its secret.
type CredentialRow struct {
	Credential
	TeamName        string
	EnvironmentName string
	OwnerEmail      string
	ServerSlugs     []string
	ServerIDs       []uint
	// SharedWith counts other credentials with the same fingerprint.
	SharedWith int64
}

func (s *Store) credentialsQuery(ctx context.Context, f CredentialFilter) *gorm.DB {
	q := f.Scope.apply(s.r(ctx).Table("credentials"), "credentials.team_id")
	if f.TeamID != 0 {
		q = q.Where("credentials.team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("credentials.environment_id = ?", f.EnvironmentID)
	}
	if f.ServerID != 0 {
		q = q.Where("EXISTS (SELECT 1 FROM credential_servers cs WHERE cs.credential_id = credentials.id AND cs.server_id = ?)", f.ServerID)
	}
	if f.KeyType != "" {
		q = q.Where("credentials.key_type = ?", f.KeyType)
	}
	if f.Status != "" {
		q = q.Where("credentials.status = ?", f.Status)
	}
	if f.Reused {
		// The shared fingerprints, found once from the fingerprint index,
		// rather than a lookup per credential.
		q = q.Where(`credentials.fingerprint IN (SELECT fingerprint FROM credentials WHERE fingerprint <> ''
			GROUP BY fingerprint HAVING COUNT(*) > 1)`)
	}
	if f.Overdue {
		q = q.Where("credentials.status = ? AND credentials.next_due_at < ?", CredentialActive, s.Now())
	}
	if f.OnSensitive {
		cond, args := onSensitiveServer()
		q = q.Where(cond, args...)
	}
	if f.Search != "" {
		// Names only, so that the search reads the name index rather than
		// the table; four characters also match the end of a secret.
		p := likePattern(f.Search)
		if len([]rune(f.Search)) == 4 {
			q = q.Where("("+s.ilike("credentials.name")+" OR credentials.last4 = ?)", p, f.Search)
		} else {
			q = q.Where(s.ilike("credentials.name"), p)
		}
	}
	return q
}

// Credentials lists credentials with filters, search, sorting and
// pagination: the ids of the page first, then their details, so that a
// page costs the same at 100k credentials as at 100.
func (s *Store) Credentials(ctx context.Context, f CredentialFilter) (Page[CredentialRow], error) {
	f.ListParams = f.ListParams.Normalize()
	page := Page[CredentialRow]{Params: f.ListParams}
	if err := s.credentialsQuery(ctx, f).Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count credentials: %w", err)
	}
	// Without a chosen sort, overdue credentials come most overdue first and
	// reused ones grouped by secret: the useful order, and the order of the
	// index that serves the filter.
	def := "credentials.name ASC"
	switch {
	case f.Overdue:
		def = "credentials.next_due_at ASC"
	case f.Reused:
		def = "credentials.fingerprint ASC"
	}
	order := f.orderBy(map[string]string{"name": "credentials.name", "key_type": "credentials.key_type",
		"environment": "credentials.environment_id", "team": "credentials.team_id", "expires": "credentials.expires_at",
		"next_due": "credentials.next_due_at", "updated": "credentials.updated_at", "status": "credentials.status"}, def)
	var ids []uint
	if err := s.credentialsQuery(ctx, f).Order(order).Order("credentials.id").Limit(f.PerPage).Offset(f.Offset()).
		Pluck("credentials.id", &ids).Error; err != nil {
		return page, fmt.Errorf("list credentials: %w", err)
	}
	rows, err := s.credentialRows(ctx, ids)
	if err != nil {
		return page, err
	}
	page.Items = rows
	return page, nil
}

// credentialRows loads the rows of the given ids, in that order.
func (s *Store) credentialRows(ctx context.Context, ids []uint) ([]CredentialRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var creds []Credential
	if err := s.r(ctx).Preload("Owner").Where("id IN ?", ids).Find(&creds).Error; err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	teams, envs, err := s.nameMaps(ctx)
	if err != nil {
		return nil, err
	}
	var links []struct {
		CredentialID uint
		ServerID     uint
		Slug         string
	}
	if err := s.r(ctx).Table("credential_servers").Select("credential_servers.credential_id, credential_servers.server_id, servers.slug").
		Joins("JOIN servers ON servers.id = credential_servers.server_id").
		Where("credential_servers.credential_id IN ?", ids).Scan(&links).Error; err != nil {
		return nil, fmt.Errorf("load credential servers: %w", err)
	}
	slugs := map[uint][]string{}
	serverIDs := map[uint][]uint{}
	for _, l := range links {
		slugs[l.CredentialID] = append(slugs[l.CredentialID], l.Slug)
		serverIDs[l.CredentialID] = append(serverIDs[l.CredentialID], l.ServerID)
	}
	fps := map[string]bool{}
	for _, c := range creds {
		if c.Fingerprint != "" {
			fps[c.Fingerprint] = true
		}
	}
	shared := map[string]int64{}
	if len(fps) > 0 {
		keys := make([]string, 0, len(fps))
		for k := range fps {
			keys = append(keys, k)
		}
		var counts []struct {
			Fingerprint string
			N           int64
		}
		if err := s.r(ctx).Table("credentials").Select("fingerprint, COUNT(*) AS n").Where("fingerprint IN ?", keys).
			Group("fingerprint").Scan(&counts).Error; err != nil {
			return nil, fmt.Errorf("count shared secrets: %w", err)
		}
		for _, c := range counts {
			shared[c.Fingerprint] = c.N - 1
		}
	}
	byID := make(map[uint]Credential, len(creds))
	for _, c := range creds {
		byID[c.ID] = c
	}
	out := make([]CredentialRow, 0, len(ids))
	for _, id := range ids {
		c, ok := byID[id]
		if !ok {
			continue
		}
		row := CredentialRow{Credential: c, TeamName: teams[c.TeamID], EnvironmentName: envs[c.EnvironmentID], ServerSlugs: slugs[id], ServerIDs: serverIDs[id]}
		sort.Strings(row.ServerSlugs)
		if c.Owner != nil {
			row.OwnerEmail = c.Owner.Email
		}
		if c.Fingerprint != "" {
			row.SharedWith = shared[c.Fingerprint]
		}
		out = append(out, row)
	}
	return out, nil
}

// SameSecret lists the other credentials that share c's secret (same
// fingerprint), with their servers and environments: the reuse CS-002 and
// CS-003 are about, visible at once.
func (s *Store) SameSecret(ctx context.Context, c Credential) ([]CredentialRow, error) {
	if c.Fingerprint == "" {
		return nil, nil
	}
	var ids []uint
	if err := s.r(ctx).Model(&Credential{}).Where("fingerprint = ? AND id <> ?", c.Fingerprint, c.ID).Order("id").Limit(200).
		Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("same secret: %w", err)
	}
	return s.credentialRows(ctx, ids)
}
