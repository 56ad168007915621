package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/gateway"
	"github.com/labstack/echo/v4"
)

// Servers is the MCP server registry.
type Servers struct {
	*Base
	Store *models.Store
	// Gateway tells how the MCP gateway reaches a server's upstream.
	Gateway *gateway.Gateway
}

// List shows servers the user may see, with filters, or exports them.
func (h *Servers) List(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, InventoryRead)
	if err != nil {
		return err
	}
	f := models.ServerFilter{ListParams: ListParams(c), Scope: scope, Status: models.ServerStatus(c.QueryParam("status")),
		Hosting: models.Hosting(c.QueryParam("hosting")), NoOwner: c.QueryParam("owner") == "none"}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	fetch := func(p models.ListParams) (models.Page[models.ServerRow], error) {
		g := f
		g.ListParams = p
		return h.Store.Servers(ctx, g)
	}
	if format := c.QueryParam("format"); format != "" {
		cols := []string{"id", "slug", "name", "team", "environment", "status", "transport", "endpoint", "hosting", "vendor",
			"owner", "production_data", "write_actions", "multi_tenant", "chains_tools", "data_classes", "tools", "credentials", "open_findings"}
		return Export(c, format, "servers", cols, func(s models.ServerRow) []string {
			return []string{fmt.Sprint(s.ID), s.Slug, s.Name, s.TeamName, s.EnvironmentName, string(s.Status), string(s.Transport),
				s.Endpoint, string(s.Hosting), s.VendorName, s.OwnerEmail, strconv.FormatBool(s.ProductionData),
				strconv.FormatBool(s.WriteActions), strconv.FormatBool(s.MultiTenant), strconv.FormatBool(s.ChainsTools),
				s.DataClasses, fmt.Sprint(s.Tools), fmt.Sprint(s.Credentials), fmt.Sprint(s.OpenFindings)}
		}, fetch, f.ListParams)
	}
	page, err := fetch(f.ListParams)
	if err != nil {
		return err
	}
	teams, envs, err := h.filterOptions(c, scope)
	if err != nil {
		return err
	}
	writeScope, err := h.Scope(c, InventoryWrite)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Servers(views.ServersProps{Layout: h.Layout(c, "Servers"), Page: page,
		Pager: PagerFor(c, page), CanWrite: writeScope.All || len(writeScope.IDs) > 0,
		Filter: views.ServerFilterData{Search: f.Search, Team: c.QueryParam("team"), Environment: c.QueryParam("environment"),
			Status: string(f.Status), Hosting: string(f.Hosting), NoOwner: f.NoOwner, Teams: teams, Environments: envs}}))
}

// filterOptions returns the team and environment choices of list filters.
func (h *Servers) filterOptions(c echo.Context, scope models.TeamScope) ([]views.Option, []views.Option, error) {
	return FilterOptions(c, h.Store, scope)
}

// OwnerOptions lists active users as owner choices, after "No owner yet".
func OwnerOptions(c echo.Context, store *models.Store) ([]views.Option, error) {
	users, err := store.ActiveUsers(c.Request().Context())
	if err != nil {
		return nil, err
	}
	owners := []views.Option{{Value: "", Label: "No owner yet"}}
	for _, u := range users {
		owners = append(owners, views.Option{Value: fmt.Sprint(u.ID), Label: u.Name + " <" + u.Email + ">"})
	}
	return owners, nil
}

// FilterOptions lists the teams in scope and every environment as choices.
func FilterOptions(c echo.Context, store *models.Store, scope models.TeamScope) ([]views.Option, []views.Option, error) {
	ctx := c.Request().Context()
	teams, err := store.AllTeams(ctx)
	if err != nil {
		return nil, nil, err
	}
	teamOpts := []views.Option{{Value: "", Label: "All teams"}}
	for _, t := range teams {
		if scope.Includes(t.ID) {
			teamOpts = append(teamOpts, views.Option{Value: fmt.Sprint(t.ID), Label: t.Name})
		}
	}
	envs, err := store.Environments(ctx)
	if err != nil {
		return nil, nil, err
	}
	envOpts := []views.Option{{Value: "", Label: "All environments"}}
	for _, e := range envs {
		envOpts = append(envOpts, views.Option{Value: fmt.Sprint(e.ID), Label: e.Name})
	}
	return teamOpts, envOpts, nil
}

// New shows the register form.
func (h *Servers) New(c echo.Context) error {
	return h.renderForm(c, http.StatusOK, 0, views.ServerForm{Status: "draft", Transport: "streamable-http", Hosting: "self"})
}

func (h *Servers) renderForm(c echo.Context, status int, id uint, form views.ServerForm) error {
	scope, err := h.Scope(c, InventoryWrite)
	if err != nil {
		return err
	}
	teams, envs, err := h.filterOptions(c, scope)
	if err != nil {
		return err
	}
	teams[0].Label, envs[0].Label = "Choose a team", "Choose an environment"
	owners, err := OwnerOptions(c, h.Store)
	if err != nil {
		return err
	}
	title := "Register server"
	if id != 0 {
		title = "Edit server"
	}
	return Render(c, status, views.ServerFormPage(views.ServerFormProps{Layout: h.Layout(c, title), ServerID: id, Form: form,
		Teams: teams, Environments: envs, Owners: owners}))
}

func serverForm(c echo.Context) (views.ServerForm, models.ServerInput) {
	f := views.ServerForm{Slug: c.FormValue("slug"), Name: c.FormValue("name"), Description: c.FormValue("description"),
		Team: c.FormValue("team"), Environment: c.FormValue("environment"), Transport: c.FormValue("transport"),
		Endpoint: c.FormValue("endpoint"), Hosting: c.FormValue("hosting"), VendorName: c.FormValue("vendor_name"),
		Owner: c.FormValue("owner"), Status: c.FormValue("status"), DataClasses: c.FormValue("data_classes"),
		ProductionData: c.FormValue("production_data") == "on", WriteActions: c.FormValue("write_actions") == "on",
		MultiTenant: c.FormValue("multi_tenant") == "on", ChainsTools: c.FormValue("chains_tools") == "on"}
	in := models.ServerInput{Slug: f.Slug, Name: f.Name, Description: f.Description, Transport: models.Transport(f.Transport),
		Endpoint: f.Endpoint, Hosting: models.Hosting(f.Hosting), VendorName: f.VendorName, Status: models.ServerStatus(f.Status),
		ProductionData: f.ProductionData, WriteActions: f.WriteActions, MultiTenant: f.MultiTenant, ChainsTools: f.ChainsTools,
		DataClasses: f.DataClasses}
	in.TeamID, _ = optionalID(f.Team)
	in.EnvironmentID, _ = optionalID(f.Environment)
	in.OwnerID, _ = optionalID(f.Owner)
	return f, in
}

// Create registers a server in a team where the user holds inventory:write.
func (h *Servers) Create(c echo.Context) error {
	form, in := serverForm(c)
	if in.TeamID != 0 {
		if ok, err := h.Can(c, in.TeamID, InventoryWrite); err != nil {
			return err
		} else if !ok {
			form.Errors = map[string]string{"team": "You can register servers only for teams where you hold the governance role."}
			return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
		}
	}
	srv, err := h.Store.CreateServer(c.Request().Context(), auth.Actor(c), in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("Server %s registered.", srv.Slug))
	return SeeOther(c, fmt.Sprintf("/servers/%d", srv.ID))
}

// Show renders the server page.
func (h *Servers) Show(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	srv, err := h.Store.ServerByID(ctx, id)
	if err != nil {
		return err
	}
	if ok, err := h.Can(c, srv.TeamID, InventoryRead); err != nil {
		return err
	} else if !ok {
		return models.ErrNotFound
	}
	canWrite, err := h.Can(c, srv.TeamID, InventoryWrite)
	if err != nil {
		return err
	}
	tools, err := h.Store.ToolsOfServer(ctx, id)
	if err != nil {
		return err
	}
	rows := make([]views.ToolRow, 0, len(tools))
	toolIDs := make([]uint, 0, len(tools))
	for _, t := range tools {
		risk, reasons := models.EffectiveRisk(t)
		rows = append(rows, views.ToolRow{Tool: t, Risk: risk, Reasons: reasons})
		toolIDs = append(toolIDs, t.ID)
	}
	entries, err := h.Store.KeyPolicyEntries(ctx, srv)
	if err != nil {
		return err
	}
	creds, err := h.Store.CredentialsOfServer(ctx, id)
	if err != nil {
		return err
	}
	credIDs := make([]uint, 0, len(creds))
	for _, cr := range creds {
		credIDs = append(credIDs, cr.ID)
	}
	findings, err := h.Store.OpenFindingsOf(ctx, map[string][]uint{"server": {id}, "tool": toolIDs, "credential": credIDs})
	if err != nil {
		return err
	}
	history, err := h.Store.AuditOf(ctx, "server", id, 10)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.ServerDetail(views.ServerDetailProps{Layout: h.Layout(c, srv.Name), Server: srv,
		Tools: rows, Policy: models.EffectiveKeyPolicy(srv, entries), KeyPolicy: models.BuildKeyPolicyView(srv, entries, srv.Environment.Name),
		Credentials: creds, Findings: findings,
		Audit: history, CanWrite: canWrite, Gateway: h.gatewayInfo(c, srv)}))
}

// gatewayInfo is the gateway's address for a server and where its
// upstream credential comes from (never the credential).
func (h *Servers) gatewayInfo(c echo.Context, srv models.Server) views.GatewayInfo {
	u := h.Gateway.Describe(srv)
	return views.GatewayInfo{ProxyURL: BaseURL(c) + gateway.ResourcePath(srv.Slug), Supported: u.Supported,
		Source: u.Source, Header: u.Header, Problem: u.Problem, TokenVar: gateway.CredentialEnv(srv.Slug),
		FileVar: gateway.CredentialFileEnv(srv.Slug), HeaderVar: gateway.HeaderEnv(srv.Slug)}
}

// Edit shows the edit form.
func (h *Servers) Edit(c echo.Context) error {
	srv, err := h.writableServer(c)
	if err != nil {
		return err
	}
	form := views.ServerForm{Slug: srv.Slug, Name: srv.Name, Description: srv.Description, Team: fmt.Sprint(srv.TeamID),
		Environment: fmt.Sprint(srv.EnvironmentID), Transport: string(srv.Transport), Endpoint: srv.Endpoint,
		Hosting: string(srv.Hosting), VendorName: srv.VendorName, Status: string(srv.Status), DataClasses: srv.DataClasses,
		ProductionData: srv.ProductionData, WriteActions: srv.WriteActions, MultiTenant: srv.MultiTenant, ChainsTools: srv.ChainsTools}
	if srv.OwnerID != nil {
		form.Owner = fmt.Sprint(*srv.OwnerID)
	}
	return h.renderForm(c, http.StatusOK, srv.ID, form)
}

// Update saves a server.
func (h *Servers) Update(c echo.Context) error {
	srv, err := h.writableServer(c)
	if err != nil {
		return err
	}
	form, in := serverForm(c)
	form.Slug = srv.Slug
	if in.TeamID != srv.TeamID && in.TeamID != 0 {
		if ok, err := h.Can(c, in.TeamID, InventoryWrite); err != nil {
			return err
		} else if !ok {
			form.Errors = map[string]string{"team": "You can move servers only to teams where you hold the governance role."}
			return h.renderForm(c, http.StatusUnprocessableEntity, srv.ID, form)
		}
	}
	_, err = h.Store.UpdateServer(c.Request().Context(), auth.Actor(c), srv.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, srv.ID, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", "Server saved.")
	return SeeOther(c, fmt.Sprintf("/servers/%d", srv.ID))
}

// writableServer loads the :id server and checks inventory:write in its team.
func (h *Servers) writableServer(c echo.Context) (models.Server, error) {
	return WritableServer(c, h.Base, h.Store, "id")
}

// WritableServer loads the server named by a path parameter and checks that
// the user may change inventory in its team.
func WritableServer(c echo.Context, b *Base, store *models.Store, param string) (models.Server, error) {
	id, err := IDParam(c, param)
	if err != nil {
		return models.Server{}, err
	}
	srv, err := store.ServerByID(c.Request().Context(), id)
	if err != nil {
		return srv, err
	}
	if ok, err := b.Can(c, srv.TeamID, InventoryRead); err != nil {
		return srv, err
	} else if !ok {
		return srv, models.ErrNotFound
	}
	return srv, b.Require(c, srv.TeamID, InventoryWrite)
}
