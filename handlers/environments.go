package handlers

import (
	"fmt"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Environments lists environments and manages their default key policies.
type Environments struct {
	*Base
	Store *models.Store
}

// CanWriteDefaults reports whether the user may change environment default
// key policies.
//
// The rule: the user holds inventory:write (the governance role) in at least
// one team. Defaults are org-wide, but no role grants inventory:write
// org-wide: governance is held per team, and admin does not document key
// types (PRODUCT.md). Requiring inventory:write in every team would leave
// the defaults writable by nobody, so governance of any team writes them;
// every change is audited in the environment's history. The route itself
// requires invWrite, which is the same check; this one keeps the rule in
// one place for handlers and pages.
func (b *Base) CanWriteDefaults(c echo.Context) (bool, error) {
	u, _ := auth.CurrentUser(c)
	return b.Authz.CanAnywhere(u.ID, InventoryWrite)
}

// requireDefaultsWriter fails with ErrForbidden unless CanWriteDefaults.
func (b *Base) requireDefaultsWriter(c echo.Context) error {
	ok, err := b.CanWriteDefaults(c)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: only governance may change environment defaults", models.ErrForbidden)
	}
	return nil
}

// List shows every environment with its sensitivity and default key policy.
func (h *Environments) List(c echo.Context) error {
	ctx := c.Request().Context()
	envs, err := h.Store.Environments(ctx)
	if err != nil {
		return err
	}
	defaults, err := h.Store.EnvironmentDefaults(ctx)
	if err != nil {
		return err
	}
	rows := make([]views.EnvironmentRow, 0, len(envs))
	for _, e := range envs {
		rows = append(rows, views.EnvironmentRow{Environment: e, Defaults: defaults[e.ID]})
	}
	return Render(c, http.StatusOK, views.Environments(views.EnvironmentsProps{Layout: h.Layout(c, "Environments"), Rows: rows}))
}

// Show renders one environment with its defaults and history.
func (h *Environments) Show(c echo.Context) error {
	ctx := c.Request().Context()
	env, err := h.environment(c)
	if err != nil {
		return err
	}
	defaults, err := h.Store.EnvironmentKeyPolicy(ctx, env.ID)
	if err != nil {
		return err
	}
	history, err := h.Store.AuditOf(ctx, "environment", env.ID, 10)
	if err != nil {
		return err
	}
	canWrite, err := h.CanWriteDefaults(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.EnvironmentDetail(views.EnvironmentDetailProps{Layout: h.Layout(c, env.Name),
		Environment: env, Defaults: defaults, Audit: history, CanWrite: canWrite}))
}

// NewDefault shows the form that adds a default key type.
func (h *Environments) NewDefault(c echo.Context) error {
	env, err := h.environment(c)
	if err != nil {
		return err
	}
	if err := h.requireDefaultsWriter(c); err != nil {
		return err
	}
	return h.renderForm(c, http.StatusOK, env, views.KeyTypeForm{MaxLifetimeDays: "90"})
}

// CreateDefault adds a default key type to an environment.
func (h *Environments) CreateDefault(c echo.Context) error {
	env, err := h.environment(c)
	if err != nil {
		return err
	}
	if err := h.requireDefaultsWriter(c); err != nil {
		return err
	}
	form, in := keyTypeForm(c)
	_, err = h.Store.CreateEnvironmentKeyType(c.Request().Context(), auth.Actor(c), env.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, env, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("%s is now a default of %s.", in.KeyType.Label(), env.Name))
	return SeeOther(c, fmt.Sprintf("/environments/%d", env.ID))
}

func (h *Environments) environment(c echo.Context) (models.Environment, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.Environment{}, err
	}
	return h.Store.EnvironmentByID(c.Request().Context(), id)
}

func (h *Environments) renderForm(c echo.Context, status int, env models.Environment, form views.KeyTypeForm) error {
	owner := environmentOwner(env)
	return Render(c, status, views.KeyTypeFormPage(views.KeyTypeFormProps{Layout: h.Layout(c, "Add a default key type"),
		Owner: owner.label, BackURL: owner.url, Action: fmt.Sprintf("/environments/%d/key-types", env.ID), Form: form}))
}
