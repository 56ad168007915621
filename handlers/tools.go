package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Tools manages the tools of servers: by hand, by tools/list import, risk
// overrides and reviews.
type Tools struct {
	*Base
	Store *models.Store
}

// New shows the add-or-import page of a server's tools.
func (h *Tools) New(c echo.Context) error {
	srv, err := WritableServer(c, h.Base, h.Store, "id")
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.ToolNew(views.ToolNewProps{Layout: h.Layout(c, "Tools"), Server: srv}))
}

func hint(s string) *bool {
	switch s {
	case "true":
		v := true
		return &v
	case "false":
		v := false
		return &v
	}
	return nil
}

// Create adds one tool by hand.
func (h *Tools) Create(c echo.Context) error {
	srv, err := WritableServer(c, h.Base, h.Store, "id")
	if err != nil {
		return err
	}
	form := views.ToolForm{Name: c.FormValue("name"), Title: c.FormValue("title"), Description: c.FormValue("description"),
		ReadOnly: c.FormValue("read_only"), Destructive: c.FormValue("destructive"), Idempotent: c.FormValue("idempotent"),
		OpenWorld: c.FormValue("open_world"), InputSchema: strings.TrimSpace(c.FormValue("input_schema"))}
	def := models.ToolDefinition{Name: form.Name, Title: form.Title, Description: form.Description,
		Annotations: &models.ToolHints{ReadOnlyHint: hint(form.ReadOnly), DestructiveHint: hint(form.Destructive),
			IdempotentHint: hint(form.Idempotent), OpenWorldHint: hint(form.OpenWorld)}}
	if form.InputSchema != "" {
		def.InputSchema = json.RawMessage(form.InputSchema)
	}
	if def.Annotations.ReadOnlyHint == nil && def.Annotations.DestructiveHint == nil && def.Annotations.IdempotentHint == nil && def.Annotations.OpenWorldHint == nil {
		def.Annotations = nil
	}
	_, err = h.Store.AddTool(c.Request().Context(), auth.Actor(c), srv.ID, def)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return Render(c, http.StatusUnprocessableEntity, views.ToolNew(views.ToolNewProps{Layout: h.Layout(c, "Tools"), Server: srv, Form: form}))
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("Tool %s added.", def.Name))
	return SeeOther(c, fmt.Sprintf("/servers/%d", srv.ID))
}

// Import records a pasted tools/list result.
func (h *Tools) Import(c echo.Context) error {
	srv, err := WritableServer(c, h.Base, h.Store, "id")
	if err != nil {
		return err
	}
	form := views.ToolForm{ToolsJSON: c.FormValue("tools_json")}
	render := func(fields map[string]string) error {
		form.Errors = fields
		return Render(c, http.StatusUnprocessableEntity, views.ToolNew(views.ToolNewProps{Layout: h.Layout(c, "Tools"), Server: srv, Form: form}))
	}
	if len(form.ToolsJSON) > 1<<20 {
		return render(map[string]string{"tools_json": "The pasted JSON is larger than 1 MB."})
	}
	defs, err := models.ParseToolsList([]byte(form.ToolsJSON))
	if fields := Errors(err); fields != nil {
		return render(fields)
	}
	res, err := h.Store.SyncTools(c.Request().Context(), auth.Actor(c), srv.ID, defs, true)
	if fields := Errors(err); fields != nil {
		msgs := make([]string, 0, len(fields))
		for f, m := range fields {
			msgs = append(msgs, f+": "+m)
		}
		return render(map[string]string{"tools_json": strings.Join(msgs, " ")})
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	msg := fmt.Sprintf("Imported: %d added, %d unchanged.", res.Added, res.Unchanged)
	if res.Changed > 0 {
		msg = fmt.Sprintf("Imported: %d added, %d changed (review them: %s), %d unchanged.", res.Added, res.Changed, strings.Join(res.ChangedNames, ", "), res.Unchanged)
	}
	SetFlash(c, "success", msg)
	return SeeOther(c, fmt.Sprintf("/servers/%d", srv.ID))
}

// tool loads the :id tool and checks the user may read its server's team.
func (h *Tools) tool(c echo.Context) (models.Tool, bool, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.Tool{}, false, err
	}
	t, err := h.Store.ToolByID(c.Request().Context(), id)
	if err != nil {
		return t, false, err
	}
	if ok, err := h.Can(c, t.Server.TeamID, InventoryRead); err != nil {
		return t, false, err
	} else if !ok {
		return t, false, models.ErrNotFound
	}
	canWrite, err := h.Can(c, t.Server.TeamID, InventoryWrite)
	return t, canWrite, err
}

// Show renders a tool's review page.
func (h *Tools) Show(c echo.Context) error {
	t, canWrite, err := h.tool(c)
	if err != nil {
		return err
	}
	return h.renderShow(c, http.StatusOK, t, canWrite, nil, t.OverrideReason)
}

func (h *Tools) renderShow(c echo.Context, status int, t models.Tool, canWrite bool, errs map[string]string, reason string) error {
	risk, reasons := models.EffectiveRisk(t)
	derived, _ := models.DerivedRisk(t)
	return Render(c, status, views.ToolDetail(views.ToolDetailProps{Layout: h.Layout(c, t.Name), Tool: t, Risk: risk,
		Reasons: reasons, Derived: derived, RiskErr: errs, Reason: reason, CanWrite: canWrite}))
}

// SetRisk overrides a tool's risk or clears the override.
func (h *Tools) SetRisk(c echo.Context) error {
	t, canWrite, err := h.tool(c)
	if err != nil {
		return err
	}
	if !canWrite {
		return fmt.Errorf("%w: your roles do not allow changing this tool", models.ErrForbidden)
	}
	reason := c.FormValue("reason")
	updated, err := h.Store.SetToolRisk(c.Request().Context(), auth.Actor(c), t.ID, models.Risk(c.FormValue("risk")), reason)
	if fields := Errors(err); fields != nil {
		t.RiskOverride = models.Risk(c.FormValue("risk"))
		return h.renderShow(c, http.StatusUnprocessableEntity, t, canWrite, fields, reason)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", "Risk saved.")
	return SeeOther(c, fmt.Sprintf("/tools/%d", updated.ID))
}

// Review accepts the tool's current definition.
func (h *Tools) Review(c echo.Context) error {
	t, canWrite, err := h.tool(c)
	if err != nil {
		return err
	}
	if !canWrite {
		return fmt.Errorf("%w: your roles do not allow reviewing this tool", models.ErrForbidden)
	}
	if _, err := h.Store.MarkToolReviewed(c.Request().Context(), auth.Actor(c), t.ID); err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", "Definition accepted as reviewed.")
	return SeeOther(c, fmt.Sprintf("/tools/%d", t.ID))
}

// Delete removes a tool.
func (h *Tools) Delete(c echo.Context) error {
	t, canWrite, err := h.tool(c)
	if err != nil {
		return err
	}
	if !canWrite {
		return fmt.Errorf("%w: your roles do not allow removing this tool", models.ErrForbidden)
	}
	if err := h.Store.DeleteTool(c.Request().Context(), auth.Actor(c), t.ID); err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("Tool %s removed.", t.Name))
	return SeeOther(c, fmt.Sprintf("/servers/%d", t.ServerID))
}
