package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Users is the admin's user management.
type Users struct {
	*Base
	Store *models.Store
}

// List shows users with search and pagination.
func (h *Users) List(c echo.Context) error {
	p := ListParams(c)
	page, err := h.Store.Users(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Users(views.UsersProps{Layout: h.Layout(c, "Users"), Page: page,
		Pager: PagerFor(c, page), Search: p.Search}))
}

// New shows the new-user form.
func (h *Users) New(c echo.Context) error {
	return h.renderNew(c, http.StatusOK, views.UserForm{})
}

func (h *Users) renderNew(c echo.Context, status int, form views.UserForm) error {
	teams, err := teamOptions(c.Request().Context(), h.Store, "Org-wide (all teams)")
	if err != nil {
		return err
	}
	return Render(c, status, views.NewUser(views.NewUserProps{Layout: h.Layout(c, "New user"), Form: form,
		Roles: roleOptions(), Teams: teams}))
}

// Create creates a user from the form.
func (h *Users) Create(c echo.Context) error {
	form := views.UserForm{Email: c.FormValue("email"), Name: c.FormValue("name"),
		Role: c.FormValue("role"), Team: c.FormValue("team")}
	in := models.NewUser{Email: form.Email, Name: form.Name, Password: c.FormValue("password"), Role: models.Role(form.Role)}
	teamID, err := optionalID(form.Team)
	if err != nil {
		form.Errors = map[string]string{"team": "Choose a team from the list."}
		return h.renderNew(c, http.StatusUnprocessableEntity, form)
	}
	in.TeamID = teamID
	u, err := h.Store.CreateUser(c.Request().Context(), auth.Actor(c), in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderNew(c, http.StatusUnprocessableEntity, form)
	}
	if err != nil {
		return err
	}
	if err := h.Authz.Reload(c.Request().Context()); err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("User %s created.", u.Email))
	return SeeOther(c, fmt.Sprintf("/admin/users/%d", u.ID))
}

// Show shows one user with their roles.
func (h *Users) Show(c echo.Context) error {
	return h.renderShow(c, http.StatusOK, views.UserForm{}, "")
}

func (h *Users) renderShow(c echo.Context, status int, roleForm views.UserForm, passwordErr string) error {
	ctx := c.Request().Context()
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	u, err := h.Store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	assignments, err := h.Store.RolesOfUser(ctx, id)
	if err != nil {
		return err
	}
	sessions, err := h.Store.SessionsOfUser(ctx, id)
	if err != nil {
		return err
	}
	me, _ := auth.CurrentUser(c)
	canWrite, err := h.Authz.CanAnywhere(me.ID, authz.Permission{Object: authz.ObjUsers, Action: authz.ActWrite})
	if err != nil {
		return err
	}
	teams, err := teamOptions(ctx, h.Store, "Org-wide (all teams)")
	if err != nil {
		return err
	}
	return Render(c, status, views.UserDetail(views.UserProps{Layout: h.Layout(c, u.Name), User: u,
		Assignments: assignments, CanWrite: canWrite, RoleForm: roleForm, Roles: roleOptions(), Teams: teams,
		PasswordErr: passwordErr, Sessions: len(sessions)}))
}

// Deactivate deactivates a user and ends their sessions at once.
func (h *Users) Deactivate(c echo.Context) error {
	return h.change(c, "User deactivated; their sessions have ended.", func(ctx context.Context, id uint) error {
		return h.Store.DeactivateUser(ctx, auth.Actor(c), id)
	})
}

// Reactivate lets a deactivated user sign in again.
func (h *Users) Reactivate(c echo.Context) error {
	return h.change(c, "User reactivated.", func(ctx context.Context, id uint) error {
		return h.Store.ReactivateUser(ctx, auth.Actor(c), id)
	})
}

// SetPassword resets a user's password.
func (h *Users) SetPassword(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	err = h.Store.SetPassword(c.Request().Context(), auth.Actor(c), id, c.FormValue("password"))
	if fields := Errors(err); fields != nil {
		return h.renderShow(c, http.StatusUnprocessableEntity, views.UserForm{}, fields["password"])
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", "Password changed; the user's sessions have ended.")
	return SeeOther(c, fmt.Sprintf("/admin/users/%d", id))
}

// AssignRole gives the user a role in a team or org-wide.
func (h *Users) AssignRole(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	form := views.UserForm{Role: c.FormValue("role"), Team: c.FormValue("team")}
	teamID, err := optionalID(form.Team)
	if err != nil {
		form.Errors = map[string]string{"team": "Choose a team from the list."}
		return h.renderShow(c, http.StatusUnprocessableEntity, form, "")
	}
	_, err = h.Store.AssignRole(c.Request().Context(), auth.Actor(c), id, models.Role(form.Role), teamID)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderShow(c, http.StatusUnprocessableEntity, form, "")
	}
	if err != nil {
		return err
	}
	if err := h.Authz.Reload(c.Request().Context()); err != nil {
		return err
	}
	SetFlash(c, "success", "Role assigned.")
	return SeeOther(c, fmt.Sprintf("/admin/users/%d", id))
}

// RevokeRole removes one of the user's role assignments.
func (h *Users) RevokeRole(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	rid, err := IDParam(c, "rid")
	if err != nil {
		return err
	}
	if err := h.Store.RevokeRole(c.Request().Context(), auth.Actor(c), rid); err != nil {
		return err
	}
	if err := h.Authz.Reload(c.Request().Context()); err != nil {
		return err
	}
	SetFlash(c, "success", "Role removed.")
	return SeeOther(c, fmt.Sprintf("/admin/users/%d", id))
}

func (h *Users) change(c echo.Context, done string, fn func(ctx context.Context, id uint) error) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	if err := fn(c.Request().Context(), id); err != nil {
		if errors.Is(err, models.ErrInvalidTransition) || errors.Is(err, models.ErrForbidden) {
			SetFlash(c, "error", err.Error())
			return SeeOther(c, fmt.Sprintf("/admin/users/%d", id))
		}
		return err
	}
	if err := h.Authz.Reload(c.Request().Context()); err != nil {
		return err
	}
	SetFlash(c, "success", done)
	return SeeOther(c, fmt.Sprintf("/admin/users/%d", id))
}

func roleOptions() []views.Option {
	opts := []views.Option{{Value: "", Label: "No role yet"}}
	for _, r := range models.Roles {
		opts = append(opts, views.Option{Value: string(r), Label: string(r)})
	}
	return opts
}

func teamOptions(ctx context.Context, s *models.Store, none string) ([]views.Option, error) {
	teams, err := s.AllTeams(ctx)
	if err != nil {
		return nil, err
	}
	opts := []views.Option{{Value: "", Label: none}}
	for _, t := range teams {
		opts = append(opts, views.Option{Value: strconv.FormatUint(uint64(t.ID), 10), Label: t.Name})
	}
	return opts, nil
}

func optionalID(s string) (uint, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return uint(n), err
}
