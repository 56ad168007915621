package models

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gorm.io/gorm"
)

// ServerInput is the form and API input of an MCP server.
type ServerInput struct {
	Slug           string
	Name           string
	Description    string
	TeamID         uint
	EnvironmentID  uint
	Transport      Transport
	Endpoint       string
	Hosting        Hosting
	VendorName     string
	OwnerID        uint
	Status         ServerStatus
	ProductionData bool
	WriteActions   bool
	MultiTenant    bool
	ChainsTools    bool
	DataClasses    string
}

// Normalize trims the input and fills defaults.
func (in *ServerInput) Normalize() {
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	in.Endpoint = strings.TrimSpace(in.Endpoint)
	in.VendorName = strings.TrimSpace(in.VendorName)
	in.DataClasses = JoinList([]string{in.DataClasses})
	if in.Status == "" {
		in.Status = ServerDraft
	}
	if in.Hosting == "" {
		in.Hosting = HostingSelf
	}
}

// Validate checks the fields that need no database.
func (in ServerInput) Validate() error {
	v := NewValidationError()
	if !ValidSlug(in.Slug) {
		v.Add("slug", "Use 1–64 lower-case letters, digits and dashes, like billing-prod.")
	}
	v.checkName(in.Name, 120, "")
	if len(in.Description) > 2000 {
		v.Add("description", "Use at most 2000 characters.")
	}
	if in.TeamID == 0 {
		v.Add("team", "Choose the team that owns the server.")
	}
	if in.EnvironmentID == 0 {
		v.Add("environment", "Choose an environment.")
	}
	switch in.Transport {
	case TransportStdio:
		if len(in.Endpoint) > 500 {
			v.Add("endpoint", "Use at most 500 characters.")
		}
	case TransportStreamableHTTP, TransportSSE:
		u, err := url.Parse(in.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.Add("endpoint", "Enter the server's URL, like https://mcp.example.com/mcp.")
		} else if u.User != nil {
			v.Add("endpoint", "Do not put credentials in the URL; record them as a credential.")
		}
	default:
		v.Add("transport", "Choose stdio, streamable-http or sse.")
	}
	switch in.Hosting {
	case HostingSelf:
	case HostingVendor:
		if in.VendorName == "" {
			v.Add("vendor_name", "Name the vendor that hosts the server.")
		}
	default:
		v.Add("hosting", "Choose self-hosted or vendor-hosted.")
	}
	switch in.Status {
	case ServerDraft, ServerActive, ServerRetired:
	default:
		v.Add("status", "Choose draft, active or retired.")
	}
	if len(in.DataClasses) > 500 {
		v.Add("data_classes", "Use at most 500 characters.")
	}
	return v.Err()
}

// checkRefs verifies the referenced team, environment and owner exist.
func checkServerRefs(tx *gorm.DB, in ServerInput, v *ValidationError) {
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
}

func (in ServerInput) apply(s *Server) {
	s.Slug, s.Name, s.Description = in.Slug, in.Name, in.Description
	s.TeamID, s.EnvironmentID = in.TeamID, in.EnvironmentID
	s.Transport, s.Endpoint, s.Hosting, s.VendorName = in.Transport, in.Endpoint, in.Hosting, in.VendorName
	if in.Hosting != HostingVendor {
		s.VendorName = ""
	}
	s.OwnerID = nil
	if in.OwnerID != 0 {
		id := in.OwnerID
		s.OwnerID = &id
	}
	s.Status = in.Status
	s.ProductionData, s.WriteActions, s.MultiTenant, s.ChainsTools = in.ProductionData, in.WriteActions, in.MultiTenant, in.ChainsTools
	s.DataClasses = in.DataClasses
}

func serverSummary(s Server) map[string]any {
	return map[string]any{"slug": s.Slug, "name": s.Name, "team": s.TeamID, "environment": s.EnvironmentID,
		"transport": s.Transport, "endpoint": s.Endpoint, "hosting": s.Hosting, "vendor": s.VendorName,
		"owner": s.OwnerID, "status": s.Status, "production_data": s.ProductionData, "write_actions": s.WriteActions,
		"multi_tenant": s.MultiTenant, "chains_tools": s.ChainsTools, "data_classes": s.DataClasses}
}

// CreateServer registers a server.
func (s *Store) CreateServer(ctx context.Context, actor Actor, in ServerInput) (Server, error) {
	in.Normalize()
	var srv Server
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		srv, err = s.createServer(tx, actor, in)
		return err
	})
	return srv, err
}

func (s *Store) createServer(tx *gorm.DB, actor Actor, in ServerInput) (Server, error) {
	v, _ := AsValidation(in.Validate())
	if v == nil {
		v = NewValidationError()
	}
	checkServerRefs(tx, in, v)
	if err := v.Err(); err != nil {
		return Server{}, err
	}
	var srv Server
	in.apply(&srv)
	if err := tx.Create(&srv).Error; err != nil {
		if errors.Is(mapError(err), ErrConflict) {
			v.Add("slug", "A server with this slug already exists.")
			return srv, v
		}
		return srv, fmt.Errorf("create server: %w", err)
	}
	return srv, s.appendAudit(tx, actor, AuditEntry{Action: "server.create", ObjectType: "server",
		ObjectID: fmt.Sprint(srv.ID), After: serverSummary(srv)})
}

// UpdateServer changes a server. The team may change; the slug may not.
func (s *Store) UpdateServer(ctx context.Context, actor Actor, id uint, in ServerInput) (Server, error) {
	in.Normalize()
	var srv Server
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&srv, id).Error; err != nil {
			return mapError(err)
		}
		in.Slug = srv.Slug
		v, _ := AsValidation(in.Validate())
		if v == nil {
			v = NewValidationError()
		}
		checkServerRefs(tx, in, v)
		if err := v.Err(); err != nil {
			return err
		}
		before := serverSummary(srv)
		in.apply(&srv)
		if err := tx.Omit("Team", "Environment", "Owner").Save(&srv).Error; err != nil {
			return fmt.Errorf("update server: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "server.update", ObjectType: "server",
			ObjectID: fmt.Sprint(srv.ID), Before: before, After: serverSummary(srv)})
	})
	return srv, err
}

// ServerByID returns a server with its team, environment and owner.
func (s *Store) ServerByID(ctx context.Context, id uint) (Server, error) {
	var srv Server
	err := s.r(ctx).Preload("Team").Preload("Environment").Preload("Owner").First(&srv, id).Error
	return srv, mapError(err)
}

// ServerBySlug returns a server by slug.
func (s *Store) ServerBySlug(ctx context.Context, slug string) (Server, error) {
	var srv Server
	err := s.r(ctx).Preload("Team").Preload("Environment").Preload("Owner").Where("slug = ?", slug).First(&srv).Error
	return srv, mapError(err)
}

// ServerFilter narrows the server list.
type ServerFilter struct {
	ListParams
	Scope         TeamScope
	TeamID        uint
	EnvironmentID uint
	Status        ServerStatus
	Hosting       Hosting
	// NoOwner keeps non-retired servers without an active owner (no owner,
	// or a deactivated one: the CS-007 condition).
	NoOwner bool
}

// ServerRow is a server in a list, with counts.
type ServerRow struct {
	Server
	TeamName        string
	EnvironmentName string
	OwnerEmail      string
	Tools           int64
	Credentials     int64
	OpenFindings    int64
}

// Servers lists servers with filters, search, sorting and pagination.
func (s *Store) Servers(ctx context.Context, f ServerFilter) (Page[ServerRow], error) {
	f.ListParams = f.ListParams.Normalize()
	q := f.Scope.apply(s.r(ctx).Table("servers"), "servers.team_id")
	if f.TeamID != 0 {
		q = q.Where("servers.team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("servers.environment_id = ?", f.EnvironmentID)
	}
	if f.Status != "" {
		q = q.Where("servers.status = ?", f.Status)
	}
	if f.Hosting != "" {
		q = q.Where("servers.hosting = ?", f.Hosting)
	}
	if f.NoOwner {
		q = q.Where("servers.status <> ? AND "+noActiveOwner, ServerRetired, true)
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q = q.Where(`(LOWER(servers.slug) LIKE ? ESCAPE '\' OR LOWER(servers.name) LIKE ? ESCAPE '\' OR LOWER(servers.endpoint) LIKE ? ESCAPE '\')`, p, p, p)
	}
	page := Page[ServerRow]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count servers: %w", err)
	}
	order := f.orderBy(map[string]string{"name": "servers.name", "slug": "servers.slug", "status": "servers.status",
		"environment": "environments.name", "team": "teams.name", "updated": "servers.updated_at"}, "servers.name ASC")
	err := q.Select(`servers.*, teams.name AS team_name, environments.name AS environment_name, users.email AS owner_email,
		(SELECT COUNT(*) FROM tools WHERE tools.server_id = servers.id) AS tools,
		(SELECT COUNT(*) FROM credential_servers cs WHERE cs.server_id = servers.id) AS credentials,
		(SELECT COUNT(*) FROM findings fi WHERE fi.object_type = 'server' AND fi.object_id = servers.id AND fi.resolved_at IS NULL) AS open_findings`).
		Joins("JOIN teams ON teams.id = servers.team_id").
		Joins("JOIN environments ON environments.id = servers.environment_id").
		Joins("LEFT JOIN users ON users.id = servers.owner_id").
		Order(order).Order("servers.id").Limit(f.PerPage).Offset(f.Offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list servers: %w", err)
	}
	return page, nil
}

// AllServers lists every server in scope by name (for selects).
func (s *Store) AllServers(ctx context.Context, scope TeamScope) ([]Server, error) {
	var out []Server
	err := scope.apply(s.r(ctx).Model(&Server{}), "team_id").Order("name").Find(&out).Error
	return out, err
}
