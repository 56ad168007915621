package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/countersign/countersign/handlers/apidoc"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// API is the JSON API under /api/v1 for servers, tools, allowed key types
// and credentials. It is authorised by the same Casbin rules as the pages
// (the route table, then the team of each object). Bodies are read with
// DecodeJSON: at most 64 KiB, one object, no unknown fields.
type API struct {
	*Base
	Store *models.Store
}

// OpenAPI serves the OpenAPI document of this API.
func (h *API) OpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", apidoc.OpenAPI)
}

// list is the envelope of every list answer.
type list[T any] struct {
	Items   []T   `json:"items"`
	Total   int64 `json:"total"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
}

func listOf[T, U any](p models.Page[T], conv func(T) U) list[U] {
	out := list[U]{Items: make([]U, 0, len(p.Items)), Total: p.Total, Page: p.Params.Page, PerPage: p.Params.PerPage}
	for _, it := range p.Items {
		out.Items = append(out.Items, conv(it))
	}
	return out
}

// APIServer is a server as the API shows and accepts it.
type APIServer struct {
	ID             uint      `json:"id,omitempty"`
	Slug           string    `json:"slug"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	TeamID         uint      `json:"team_id"`
	EnvironmentID  uint      `json:"environment_id"`
	Transport      string    `json:"transport"`
	Endpoint       string    `json:"endpoint"`
	Hosting        string    `json:"hosting"`
	VendorName     string    `json:"vendor_name"`
	OwnerID        uint      `json:"owner_id,omitempty"`
	Status         string    `json:"status"`
	ProductionData bool      `json:"production_data"`
	WriteActions   bool      `json:"write_actions"`
	MultiTenant    bool      `json:"multi_tenant"`
	ChainsTools    bool      `json:"chains_tools"`
	DataClasses    []string  `json:"data_classes"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

func apiServer(s models.Server) APIServer {
	out := APIServer{ID: s.ID, Slug: s.Slug, Name: s.Name, Description: s.Description, TeamID: s.TeamID, EnvironmentID: s.EnvironmentID,
		Transport: string(s.Transport), Endpoint: s.Endpoint, Hosting: string(s.Hosting), VendorName: s.VendorName, Status: string(s.Status),
		ProductionData: s.ProductionData, WriteActions: s.WriteActions, MultiTenant: s.MultiTenant, ChainsTools: s.ChainsTools,
		DataClasses: s.DataClassList(), UpdatedAt: s.UpdatedAt.UTC()}
	if out.DataClasses == nil {
		out.DataClasses = []string{}
	}
	if s.OwnerID != nil {
		out.OwnerID = *s.OwnerID
	}
	return out
}

func (a APIServer) input() models.ServerInput {
	return models.ServerInput{Slug: a.Slug, Name: a.Name, Description: a.Description, TeamID: a.TeamID, EnvironmentID: a.EnvironmentID,
		Transport: models.Transport(a.Transport), Endpoint: a.Endpoint, Hosting: models.Hosting(a.Hosting), VendorName: a.VendorName,
		OwnerID: a.OwnerID, Status: models.ServerStatus(a.Status), ProductionData: a.ProductionData, WriteActions: a.WriteActions,
		MultiTenant: a.MultiTenant, ChainsTools: a.ChainsTools, DataClasses: strings.Join(a.DataClasses, ",")}
}

// ListServers answers GET /api/v1/servers.
func (h *API) ListServers(c echo.Context) error {
	scope, err := h.Scope(c, InventoryRead)
	if err != nil {
		return err
	}
	f := models.ServerFilter{ListParams: ListParams(c), Scope: scope, Status: models.ServerStatus(c.QueryParam("status")),
		Hosting: models.Hosting(c.QueryParam("hosting")), NoOwner: c.QueryParam("owner") == "none"}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	page, err := h.Store.Servers(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(page, func(r models.ServerRow) APIServer { return apiServer(r.Server) }))
}

// readableServer loads the :id server and checks inventory:read in its team.
func (h *API) readableServer(c echo.Context) (models.Server, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.Server{}, err
	}
	srv, err := h.Store.ServerByID(c.Request().Context(), id)
	if err != nil {
		return srv, err
	}
	if ok, err := h.Can(c, srv.TeamID, InventoryRead); err != nil {
		return srv, err
	} else if !ok {
		return srv, models.ErrNotFound
	}
	return srv, nil
}

// GetServer answers GET /api/v1/servers/:id.
func (h *API) GetServer(c echo.Context) error {
	srv, err := h.readableServer(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiServer(srv))
}

// CreateServer answers POST /api/v1/servers.
func (h *API) CreateServer(c echo.Context) error {
	var in APIServer
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.Require(c, in.TeamID, InventoryWrite); err != nil {
		return err
	}
	srv, err := h.Store.CreateServer(c.Request().Context(), auth.Actor(c), in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/servers/%d", srv.ID))
	return c.JSON(http.StatusCreated, apiServer(srv))
}

// UpdateServer answers PUT /api/v1/servers/:id (the slug cannot change).
func (h *API) UpdateServer(c echo.Context) error {
	srv, err := h.readableServer(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, srv.TeamID, InventoryWrite); err != nil {
		return err
	}
	var in APIServer
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.TeamID != srv.TeamID {
		if err := h.Require(c, in.TeamID, InventoryWrite); err != nil {
			return err
		}
	}
	saved, err := h.Store.UpdateServer(c.Request().Context(), auth.Actor(c), srv.ID, in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.JSON(http.StatusOK, apiServer(saved))
}

// APITool is a tool of a server, with its derived risk.
type APITool struct {
	ID             uint             `json:"id"`
	ServerID       uint             `json:"server_id"`
	Name           string           `json:"name"`
	Title          string           `json:"title"`
	Description    string           `json:"description"`
	Annotations    models.ToolHints `json:"annotations"`
	InputSchema    json.RawMessage  `json:"inputSchema,omitempty"`
	DefinitionHash string           `json:"definition_hash"`
	Changed        bool             `json:"changed_since_review"`
	Risk           models.Risk      `json:"risk"`
	RiskReasons    []string         `json:"risk_reasons"`
	Override       *models.Risk     `json:"risk_override,omitempty"`
}

func apiTool(t models.Tool) APITool {
	risk, reasons := models.EffectiveRisk(t)
	out := APITool{ID: t.ID, ServerID: t.ServerID, Name: t.Name, Title: t.Title, Description: t.Description,
		Annotations: models.ToolHints{ReadOnlyHint: t.ReadOnlyHint, DestructiveHint: t.DestructiveHint,
			IdempotentHint: t.IdempotentHint, OpenWorldHint: t.OpenWorldHint},
		DefinitionHash: t.DefinitionHash, Changed: t.DefinitionChanged(), Risk: risk, RiskReasons: reasons}
	if t.InputSchema != "" && json.Valid([]byte(t.InputSchema)) {
		out.InputSchema = json.RawMessage(t.InputSchema)
	}
	if t.RiskOverride.Valid() {
		r := t.RiskOverride
		out.Override = &r
	}
	return out
}

// ListTools answers GET /api/v1/servers/:id/tools.
func (h *API) ListTools(c echo.Context) error {
	srv, err := h.readableServer(c)
	if err != nil {
		return err
	}
	tools, err := h.Store.ToolsOfServer(c.Request().Context(), srv.ID)
	if err != nil {
		return err
	}
	out := make([]APITool, 0, len(tools))
	for _, t := range tools {
		out = append(out, apiTool(t))
	}
	return c.JSON(http.StatusOK, list[APITool]{Items: out, Total: int64(len(out)), Page: 1, PerPage: len(out)})
}

// SyncTools answers POST /api/v1/servers/:id/tools with a tools/list
// result ({"tools": [...]}): new tools are added, changed ones updated
// (and held for review), others left alone.
func (h *API) SyncTools(c echo.Context) error {
	srv, err := h.readableServer(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, srv.TeamID, InventoryWrite); err != nil {
		return err
	}
	var in struct {
		Tools      []models.ToolDefinition `json:"tools"`
		NextCursor string                  `json:"nextCursor,omitempty"`
	}
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	res, err := h.Store.SyncTools(c.Request().Context(), auth.Actor(c), srv.ID, in.Tools, false)
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.JSON(http.StatusOK, map[string]any{"added": res.Added, "changed": res.Changed, "unchanged": res.Unchanged,
		"changed_names": res.ChangedNames})
}

// GetTool answers GET /api/v1/tools/:id.
func (h *API) GetTool(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	t, err := h.Store.ToolByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if ok, err := h.Can(c, t.Server.TeamID, InventoryRead); err != nil {
		return err
	} else if !ok {
		return models.ErrNotFound
	}
	return c.JSON(http.StatusOK, apiTool(t))
}

// APIKeyType is an allowed key type of a server or an environment.
type APIKeyType struct {
	ID              uint   `json:"id,omitempty"`
	ServerID        *uint  `json:"server_id,omitempty"`
	EnvironmentID   *uint  `json:"environment_id,omitempty"`
	KeyType         string `json:"key_type"`
	MaxLifetimeDays int    `json:"max_lifetime_days"`
	RotationSpec    string `json:"rotation_spec"`
	RotationTZ      string `json:"rotation_tz"`
	RequiredScopes  string `json:"required_scopes"`
	Rationale       string `json:"rationale"`
	// Inherited marks environment defaults shown on a server.
	Inherited bool `json:"inherited,omitempty"`
}

func apiKeyType(e models.AllowedKeyType, inherited bool) APIKeyType {
	return APIKeyType{ID: e.ID, ServerID: e.ServerID, EnvironmentID: e.EnvironmentID, KeyType: string(e.KeyType),
		MaxLifetimeDays: e.MaxLifetimeDays, RotationSpec: e.RotationSpec, RotationTZ: e.RotationTZ,
		RequiredScopes: e.RequiredScopes, Rationale: e.Rationale, Inherited: inherited}
}

func (a APIKeyType) input() models.AllowedKeyTypeInput {
	return models.AllowedKeyTypeInput{KeyType: models.KeyType(a.KeyType), MaxLifetimeDays: a.MaxLifetimeDays,
		RotationSpec: a.RotationSpec, RotationTZ: a.RotationTZ, RequiredScopes: a.RequiredScopes, Rationale: a.Rationale}
}

// ServerKeyTypes answers GET /api/v1/servers/:id/key-types: the effective
// policy, each entry marked inherited or not.
func (h *API) ServerKeyTypes(c echo.Context) error {
	srv, err := h.readableServer(c)
	if err != nil {
		return err
	}
	entries, err := h.Store.KeyPolicyEntries(c.Request().Context(), srv)
	if err != nil {
		return err
	}
	pol := models.EffectiveKeyPolicy(srv, entries)
	out := make([]APIKeyType, 0, len(pol.Entries))
	for _, e := range pol.Entries {
		out = append(out, apiKeyType(e, pol.Inherited))
	}
	return c.JSON(http.StatusOK, map[string]any{"inherited": pol.Inherited, "items": out})
}

// CreateServerKeyType answers POST /api/v1/servers/:id/key-types.
func (h *API) CreateServerKeyType(c echo.Context) error {
	srv, err := h.readableServer(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, srv.TeamID, InventoryWrite); err != nil {
		return err
	}
	var in APIKeyType
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	e, err := h.Store.CreateServerKeyType(c.Request().Context(), auth.Actor(c), srv.ID, in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.JSON(http.StatusCreated, apiKeyType(e, false))
}

// keyTypeForWrite loads :id and checks the user may change it: server
// entries need inventory:write in the server's team; environment defaults
// follow the pages' rule (CanWriteDefaults).
func (h *API) keyTypeForWrite(c echo.Context) (models.AllowedKeyType, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.AllowedKeyType{}, err
	}
	e, err := h.Store.AllowedKeyTypeByID(c.Request().Context(), id)
	if err != nil {
		return e, err
	}
	if e.ServerID != nil {
		srv, err := h.Store.ServerByID(c.Request().Context(), *e.ServerID)
		if err != nil {
			return e, err
		}
		if ok, err := h.Can(c, srv.TeamID, InventoryRead); err != nil {
			return e, err
		} else if !ok {
			return e, models.ErrNotFound
		}
		return e, h.Require(c, srv.TeamID, InventoryWrite)
	}
	ok, err := h.CanWriteDefaults(c)
	if err != nil {
		return e, err
	}
	if !ok {
		return e, fmt.Errorf("%w: environment defaults are written by governance members", models.ErrForbidden)
	}
	return e, nil
}

// UpdateKeyType answers PUT /api/v1/key-types/:id.
func (h *API) UpdateKeyType(c echo.Context) error {
	e, err := h.keyTypeForWrite(c)
	if err != nil {
		return err
	}
	var in APIKeyType
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	saved, err := h.Store.UpdateAllowedKeyType(c.Request().Context(), auth.Actor(c), e.ID, in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.JSON(http.StatusOK, apiKeyType(saved, false))
}

// DeleteKeyType answers DELETE /api/v1/key-types/:id.
func (h *API) DeleteKeyType(c echo.Context) error {
	e, err := h.keyTypeForWrite(c)
	if err != nil {
		return err
	}
	if _, err := h.Store.DeleteAllowedKeyType(c.Request().Context(), auth.Actor(c), e.ID); err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.NoContent(http.StatusNoContent)
}

// EnvironmentKeyTypes answers GET /api/v1/environments/:id/key-types.
func (h *API) EnvironmentKeyTypes(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.Store.EnvironmentByID(c.Request().Context(), id); err != nil {
		return err
	}
	entries, err := h.Store.EnvironmentKeyPolicy(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := make([]APIKeyType, 0, len(entries))
	for _, e := range entries {
		out = append(out, apiKeyType(e, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// CreateEnvironmentKeyType answers POST /api/v1/environments/:id/key-types.
func (h *API) CreateEnvironmentKeyType(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	if ok, err := h.CanWriteDefaults(c); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: environment defaults are written by governance members", models.ErrForbidden)
	}
	var in APIKeyType
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	e, err := h.Store.CreateEnvironmentKeyType(c.Request().Context(), auth.Actor(c), id, in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.JSON(http.StatusCreated, apiKeyType(e, false))
}
