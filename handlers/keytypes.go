package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// KeyTypes manages key policies: the allowed key types of servers and the
// default key policies of environments.
type KeyTypes struct {
	*Base
	Store *models.Store
}

// previewCount is how many due times the schedule preview lists.
const previewCount = 5

// Preview answers the form's htmx request with the next due times of a
// schedule in its zone. It reads spec and tz, or the form's own field names,
// and always answers 200 so that htmx swaps the answer in. A schedule that
// is not valid is reported on its fields, never in the preview: with live=1
// (the inputs' check as the user types) the answer carries the fields'
// messages, out of band; without (the preview the form loads) the form has
// them already.
func (h *KeyTypes) Preview(c echo.Context) error {
	spec := strings.TrimSpace(firstValue(c, "spec", "rotation_spec"))
	zone := firstValue(c, "tz", "rotation_tz")
	sched, problems := models.CheckScheduleFields(spec, zone, h.Store.ScheduleOptions())
	p := views.SchedulePreview{Spec: spec, Problems: problems, Live: c.QueryParam("live") != ""}
	if spec != "" && problems.OK() {
		p.Zone = sched.ZoneName()
		p.Times = sched.NextN(h.Store.Now(), previewCount)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return Render(c, http.StatusOK, views.KeyTypePreview(p))
}

func firstValue(c echo.Context, names ...string) string {
	for _, n := range names {
		if v := c.QueryParam(n); v != "" {
			return v
		}
	}
	return ""
}

// keyTypeForm reads the form. A max lifetime that is not a whole number
// becomes -1, which validation answers with the field's message.
func keyTypeForm(c echo.Context) (views.KeyTypeForm, models.AllowedKeyTypeInput) {
	f := views.KeyTypeForm{KeyType: c.FormValue("key_type"), MaxLifetimeDays: strings.TrimSpace(c.FormValue("max_lifetime_days")),
		RotationSpec: c.FormValue("rotation_spec"), RotationTZ: c.FormValue("rotation_tz"),
		RequiredScopes: c.FormValue("required_scopes"), Rationale: c.FormValue("rationale")}
	in := models.AllowedKeyTypeInput{KeyType: models.KeyType(f.KeyType), RotationSpec: f.RotationSpec,
		RotationTZ: f.RotationTZ, RequiredScopes: f.RequiredScopes, Rationale: f.Rationale}
	if f.MaxLifetimeDays != "" {
		n, err := strconv.Atoi(f.MaxLifetimeDays)
		if err != nil {
			n = -1
		}
		in.MaxLifetimeDays = n
	}
	return f, in
}

func formOf(e models.AllowedKeyType) views.KeyTypeForm {
	return views.KeyTypeForm{KeyType: string(e.KeyType), MaxLifetimeDays: strconv.Itoa(e.MaxLifetimeDays),
		RotationSpec: e.RotationSpec, RotationTZ: e.RotationTZ, RequiredScopes: strings.ReplaceAll(e.RequiredScopes, ",", ", "),
		Rationale: e.Rationale}
}

// keyTypeOwner is what an entry belongs to, for the form page.
type keyTypeOwner struct {
	label, url, envName string
	limits              []models.AllowedKeyType
}

func (h *KeyTypes) serverOwner(c echo.Context, srv models.Server) (keyTypeOwner, error) {
	limits, err := h.Store.EnvironmentKeyPolicy(c.Request().Context(), srv.EnvironmentID)
	return keyTypeOwner{label: "server " + srv.Slug, url: fmt.Sprintf("/servers/%d", srv.ID),
		envName: srv.Environment.Name, limits: limits}, err
}

func environmentOwner(env models.Environment) keyTypeOwner {
	return keyTypeOwner{label: "environment " + env.Name, url: fmt.Sprintf("/environments/%d", env.ID)}
}

func (h *KeyTypes) renderForm(c echo.Context, status int, owner keyTypeOwner, action string, editing bool, form views.KeyTypeForm) error {
	title := "Allow a key type"
	if editing {
		title = "Edit allowed key type"
	}
	return Render(c, status, views.KeyTypeFormPage(views.KeyTypeFormProps{Layout: h.Layout(c, title), Owner: owner.label,
		BackURL: owner.url, Action: action, Editing: editing, Form: form, Limits: owner.limits, LimitsEnv: owner.envName}))
}

// NewForServer shows the form that adds a key type to a server's policy.
func (h *KeyTypes) NewForServer(c echo.Context) error {
	srv, err := WritableServer(c, h.Base, h.Store, "id")
	if err != nil {
		return err
	}
	owner, err := h.serverOwner(c, srv)
	if err != nil {
		return err
	}
	return h.renderForm(c, http.StatusOK, owner, fmt.Sprintf("/servers/%d/key-types", srv.ID), false,
		views.KeyTypeForm{MaxLifetimeDays: "90"})
}

// CreateForServer adds a key type to a server's policy.
func (h *KeyTypes) CreateForServer(c echo.Context) error {
	srv, err := WritableServer(c, h.Base, h.Store, "id")
	if err != nil {
		return err
	}
	form, in := keyTypeForm(c)
	_, err = h.Store.CreateServerKeyType(c.Request().Context(), auth.Actor(c), srv.ID, in)
	if fields := Errors(err); fields != nil {
		owner, oerr := h.serverOwner(c, srv)
		if oerr != nil {
			return oerr
		}
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, owner, fmt.Sprintf("/servers/%d/key-types", srv.ID), false, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("%s allowed on %s.", in.KeyType.Label(), srv.Slug))
	return SeeOther(c, fmt.Sprintf("/servers/%d", srv.ID))
}

// writableKeyType loads the :id entry and checks that the user may change
// it: inventory:write in the server's team for a server entry (a server the
// user may not even read is not found), the environment rule for a default.
func (h *KeyTypes) writableKeyType(c echo.Context) (models.AllowedKeyType, keyTypeOwner, error) {
	ctx := c.Request().Context()
	id, err := IDParam(c, "id")
	if err != nil {
		return models.AllowedKeyType{}, keyTypeOwner{}, err
	}
	e, err := h.Store.AllowedKeyTypeByID(ctx, id)
	if err != nil {
		return e, keyTypeOwner{}, err
	}
	if e.ServerID != nil {
		srv, err := h.Store.ServerByID(ctx, *e.ServerID)
		if err != nil {
			return e, keyTypeOwner{}, err
		}
		if ok, err := h.Can(c, srv.TeamID, InventoryRead); err != nil {
			return e, keyTypeOwner{}, err
		} else if !ok {
			return e, keyTypeOwner{}, models.ErrNotFound
		}
		if err := h.Require(c, srv.TeamID, InventoryWrite); err != nil {
			return e, keyTypeOwner{}, err
		}
		owner, err := h.serverOwner(c, srv)
		return e, owner, err
	}
	if e.EnvironmentID == nil {
		return e, keyTypeOwner{}, models.ErrNotFound
	}
	env, err := h.Store.EnvironmentByID(ctx, *e.EnvironmentID)
	if err != nil {
		return e, keyTypeOwner{}, err
	}
	if err := h.requireDefaultsWriter(c); err != nil {
		return e, keyTypeOwner{}, err
	}
	return e, environmentOwner(env), nil
}

// Edit shows the form of an existing entry.
func (h *KeyTypes) Edit(c echo.Context) error {
	e, owner, err := h.writableKeyType(c)
	if err != nil {
		return err
	}
	return h.renderForm(c, http.StatusOK, owner, fmt.Sprintf("/key-types/%d", e.ID), true, formOf(e))
}

// Update saves an entry.
func (h *KeyTypes) Update(c echo.Context) error {
	e, owner, err := h.writableKeyType(c)
	if err != nil {
		return err
	}
	form, in := keyTypeForm(c)
	_, err = h.Store.UpdateAllowedKeyType(c.Request().Context(), auth.Actor(c), e.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, owner, fmt.Sprintf("/key-types/%d", e.ID), true, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", "Key type saved.")
	return SeeOther(c, owner.url)
}

// Delete removes an entry from its policy.
func (h *KeyTypes) Delete(c echo.Context) error {
	e, owner, err := h.writableKeyType(c)
	if err != nil {
		return err
	}
	if _, err := h.Store.DeleteAllowedKeyType(c.Request().Context(), auth.Actor(c), e.ID); err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("%s is no longer allowed by the %s.", e.KeyType.Label(), owner.label))
	return SeeOther(c, owner.url)
}
