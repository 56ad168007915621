package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Permissions of the API clients admin.
var (
	ClientsRead  = authz.Permission{Object: authz.ObjClients, Action: authz.ActRead}
	ClientsWrite = authz.Permission{Object: authz.ObjClients, Action: authz.ActWrite}
)

// Clients is the admin page of API clients (gateways, agents). A client
// secret is shown once, in the answer to the create or rotate form, and
// is never stored in clear, logged, or put in a URL.
type Clients struct {
	*Base
	Store *models.Store
}

// List shows the clients of the user's teams; ?q= searches names and ids.
func (h *Clients) List(c echo.Context) error {
	return h.renderList(c, http.StatusOK, views.WebhookForm{})
}

func (h *Clients) renderList(c echo.Context, status int, webhook views.WebhookForm) error {
	scope, err := h.Scope(c, ClientsRead)
	if err != nil {
		return err
	}
	all, err := h.Store.APIClients(c.Request().Context(), scope)
	if err != nil {
		return err
	}
	params := ListParams(c)
	var matching []models.APIClient
	for _, cl := range all {
		if params.Search == "" || containsFold(cl.Name, params.Search) || containsFold(cl.ClientID, params.Search) ||
			containsFold(cl.Team.Name, params.Search) {
			matching = append(matching, cl)
		}
	}
	page := models.Page[models.APIClient]{Params: params, Total: int64(len(matching))}
	if from := params.Offset(); from < len(matching) {
		page.Items = matching[from:min(from+params.PerPage, len(matching))]
	}
	writeScope, err := h.Scope(c, ClientsWrite)
	if err != nil {
		return err
	}
	links, err := h.RuntimeLinks(c)
	if err != nil {
		return err
	}
	return Render(c, status, views.ClientsPage(views.ClientsProps{Layout: h.Layout(c, "API clients"), Page: page, Links: links,
		Pager: PagerFor(c, page), Search: params.Search, WriteScope: writeScope, Webhook: webhook}))
}

// New shows the form of a new client.
func (h *Clients) New(c echo.Context) error {
	return h.renderForm(c, http.StatusOK, views.ClientForm{Scopes: []string{models.ScopeEvaluate}, Team: c.QueryParam("team")})
}

func (h *Clients) renderForm(c echo.Context, status int, form views.ClientForm) error {
	scope, err := h.Scope(c, ClientsWrite)
	if err != nil {
		return err
	}
	teams, _, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	teams[0].Label = "Choose a team"
	return Render(c, status, views.ClientFormPage(views.ClientFormProps{Layout: h.Layout(c, "New API client"), Form: form,
		Teams: teams, Scopes: models.ClientScopes}))
}

// Create registers a client and shows its secret once.
func (h *Clients) Create(c echo.Context) error {
	params, _ := c.FormParams()
	form := views.ClientForm{Name: c.FormValue("name"), Team: c.FormValue("team"), Scopes: params["scopes"],
		WebhookURL: c.FormValue("webhook_url")}
	in := models.APIClientInput{Name: form.Name, Scopes: form.Scopes, WebhookURL: form.WebhookURL}
	in.TeamID, _ = optionalID(form.Team)
	if in.TeamID != 0 {
		if err := h.Require(c, in.TeamID, ClientsWrite); err != nil {
			return err
		}
	}
	cl, secret, err := h.Store.CreateAPIClient(c.Request().Context(), auth.Actor(c), in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	return h.showSecret(c, cl, secret, false)
}

// showSecret renders the one page that ever shows a client secret; it is
// not cached and not stored anywhere.
func (h *Clients) showSecret(c echo.Context, cl models.APIClient, secret string, rotated bool) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	team, err := h.Store.TeamByID(c.Request().Context(), cl.TeamID)
	if err != nil {
		return err
	}
	cl.Team = team
	return Render(c, http.StatusOK, views.ClientSecretPage(views.ClientSecretProps{Layout: h.Layout(c, "Client secret"),
		Client: cl, Secret: secret, Rotated: rotated}))
}

// writableClient loads the client of :id and checks the user may change it.
func (h *Clients) writableClient(c echo.Context) (models.APIClient, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.APIClient{}, err
	}
	cl, err := h.Store.APIClientByID(c.Request().Context(), id)
	if err != nil {
		return cl, err
	}
	if ok, err := h.Can(c, cl.TeamID, ClientsRead); err != nil {
		return cl, err
	} else if !ok {
		return cl, models.ErrNotFound
	}
	return cl, h.Require(c, cl.TeamID, ClientsWrite)
}

// Rotate replaces a client's secret and shows the new one once.
func (h *Clients) Rotate(c echo.Context) error {
	cl, err := h.writableClient(c)
	if err != nil {
		return err
	}
	cl, secret, err := h.Store.RotateAPIClientSecret(c.Request().Context(), auth.Actor(c), cl.ID)
	if errors.Is(err, models.ErrInvalidTransition) {
		SetFlash(c, "error", userMessage(err))
		return SeeOther(c, "/admin/clients")
	}
	if err != nil {
		return err
	}
	return h.showSecret(c, cl, secret, true)
}

// Revoke revokes a client and every token it holds, at once.
func (h *Clients) Revoke(c echo.Context) error {
	cl, err := h.writableClient(c)
	if err != nil {
		return err
	}
	err = h.Store.RevokeAPIClient(c.Request().Context(), auth.Actor(c), cl.ID)
	switch {
	case errors.Is(err, models.ErrInvalidTransition):
		SetFlash(c, "error", userMessage(err))
	case err != nil:
		return err
	default:
		SetFlash(c, "success", fmt.Sprintf("Client %q revoked: its tokens are refused from now on.", cl.Name))
	}
	return SeeOther(c, "/admin/clients")
}

// SetWebhook sets or clears the URL notified of the client's decisions.
func (h *Clients) SetWebhook(c echo.Context) error {
	cl, err := h.writableClient(c)
	if err != nil {
		return err
	}
	form := views.WebhookForm{ClientID: cl.ID, URL: c.FormValue("webhook_url")}
	err = h.Store.SetAPIClientWebhook(c.Request().Context(), auth.Actor(c), cl.ID, form.URL)
	if fields := Errors(err); fields != nil {
		form.Error = fields["webhook_url"]
		return h.renderList(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	if form.URL == "" {
		SetFlash(c, "success", fmt.Sprintf("Webhook of %q removed.", cl.Name))
	} else {
		SetFlash(c, "success", fmt.Sprintf("Webhook of %q saved: it is told of every decision on the client's requests.", cl.Name))
	}
	return SeeOther(c, "/admin/clients")
}

// containsFold reports whether sub is in s, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
