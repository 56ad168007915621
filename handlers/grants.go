package handlers

import (
	"errors"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Grants lists the grants approvals yielded and revokes them.
type Grants struct {
	*Base
	Store *models.Store
}

// List shows the grants of the user's teams: live ones by default, or all
// with ?state=all; searchable and paginated.
func (h *Grants) List(c echo.Context) error {
	scope, err := h.Scope(c, ReviewsRead)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	if state != "all" {
		state = ""
	}
	f := models.GrantListFilter{ListParams: ListParams(c), Scope: scope, LiveOnly: state == ""}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	page, err := h.Store.GrantRows(c.Request().Context(), f)
	if err != nil {
		return err
	}
	teams, _, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	revokeScope, err := h.Scope(c, GrantsRevoke)
	if err != nil {
		return err
	}
	links, err := h.RuntimeLinks(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.GrantsPage(views.GrantsProps{Layout: h.Layout(c, "Grants"), Page: page, Links: links,
		Pager: PagerFor(c, page), Now: h.Store.Now(), RevokeScope: revokeScope,
		Filter: views.ReviewFilterData{Search: f.Search, Status: state, Team: c.QueryParam("team"), Teams: teams},
		Return: c.Request().URL.RequestURI()}))
}

// Revoke revokes one grant with a reason, then returns to the page the
// form was on (the grant list or the request page).
func (h *Grants) Revoke(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	g, err := h.Store.GrantByID(ctx, id)
	if err != nil {
		return err
	}
	if ok, err := h.Can(c, g.TeamID, ReviewsRead); err != nil {
		return err
	} else if !ok {
		return models.ErrNotFound
	}
	if err := h.Require(c, g.TeamID, GrantsRevoke); err != nil {
		return err
	}
	back := safeReturn(c.FormValue("return"), "/grants")
	err = h.Store.RevokeGrant(ctx, auth.Actor(c), g.ID, c.FormValue("reason"))
	switch {
	case err == nil:
		SetFlash(c, "success", "Grant "+g.PublicID+" revoked: the next call needs a new review.")
	case Errors(err) != nil:
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Not revoked: "+Errors(err)["reason"])
	case errors.Is(err, models.ErrInvalidTransition):
		return echo.NewHTTPError(http.StatusConflict, userMessage(err))
	default:
		return err
	}
	return SeeOther(c, back)
}
