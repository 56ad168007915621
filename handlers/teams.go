package handlers

import (
	"fmt"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Teams manages teams.
type Teams struct {
	*Base
	Store *models.Store
}

func (h *Teams) canWrite(c echo.Context) (bool, error) {
	u, _ := auth.CurrentUser(c)
	return h.Authz.CanAnywhere(u.ID, authz.Permission{Object: authz.ObjTeams, Action: authz.ActWrite})
}

// List shows the teams.
func (h *Teams) List(c echo.Context) error {
	p := ListParams(c)
	page, err := h.Store.Teams(c.Request().Context(), p)
	if err != nil {
		return err
	}
	canWrite, err := h.canWrite(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Teams(views.TeamsProps{Layout: h.Layout(c, "Teams"), Page: page,
		Pager: PagerFor(c, page), Search: p.Search, CanWrite: canWrite}))
}

// New shows the new-team form.
func (h *Teams) New(c echo.Context) error {
	return Render(c, http.StatusOK, views.TeamFormPage(views.TeamFormProps{Layout: h.Layout(c, "New team")}))
}

func teamForm(c echo.Context) views.TeamForm {
	return views.TeamForm{Slug: c.FormValue("slug"), Name: c.FormValue("name"), Description: c.FormValue("description")}
}

// Create creates a team.
func (h *Teams) Create(c echo.Context) error {
	form := teamForm(c)
	t, err := h.Store.CreateTeam(c.Request().Context(), auth.Actor(c),
		models.TeamInput{Slug: form.Slug, Name: form.Name, Description: form.Description})
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return Render(c, http.StatusUnprocessableEntity, views.TeamFormPage(views.TeamFormProps{Layout: h.Layout(c, "New team"), Form: form}))
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Team %s created.", t.Name))
	return SeeOther(c, fmt.Sprintf("/admin/teams/%d", t.ID))
}

// Show shows a team and its members.
func (h *Teams) Show(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	t, err := h.Store.TeamByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	members, err := h.Store.TeamMembers(c.Request().Context(), id)
	if err != nil {
		return err
	}
	canWrite, err := h.canWrite(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.TeamDetail(views.TeamProps{Layout: h.Layout(c, t.Name), Team: t, Members: members, CanWrite: canWrite}))
}

// Edit shows the edit form of a team.
func (h *Teams) Edit(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	t, err := h.Store.TeamByID(c.Request().Context(), id)
	if err != nil {
		return err
	}
	form := views.TeamForm{Slug: t.Slug, Name: t.Name, Description: t.Description}
	return Render(c, http.StatusOK, views.TeamFormPage(views.TeamFormProps{Layout: h.Layout(c, "Edit team"), TeamID: id, Form: form}))
}

// Update saves a team's name and description.
func (h *Teams) Update(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	form := teamForm(c)
	t, err := h.Store.UpdateTeam(c.Request().Context(), auth.Actor(c), id, models.TeamInput{Name: form.Name, Description: form.Description})
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		form.Slug = t.Slug
		return Render(c, http.StatusUnprocessableEntity, views.TeamFormPage(views.TeamFormProps{Layout: h.Layout(c, "Edit team"), TeamID: id, Form: form}))
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", "Team saved.")
	return SeeOther(c, fmt.Sprintf("/admin/teams/%d", id))
}
