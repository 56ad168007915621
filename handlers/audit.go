package handlers

import (
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/labstack/echo/v4"
)

// Audit shows the audit log and verifies its chain.
type Audit struct {
	*Base
	Store *models.Store
}

// List shows audit events, newest first, with search and filters.
func (h *Audit) List(c echo.Context) error {
	f := models.AuditFilter{ListParams: ListParams(c), Action: c.QueryParam("action"),
		ObjectType: c.QueryParam("object_type"), ObjectID: c.QueryParam("object_id")}
	page, err := h.Store.AuditEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Audit(views.AuditProps{Layout: h.Layout(c, "Audit log"), Page: page,
		Pager: PagerFor(c, page), Search: f.Search, Action: f.Action}))
}

// Verify walks the whole chain and shows the result.
func (h *Audit) Verify(c echo.Context) error {
	res, err := h.Store.VerifyAudit(c.Request().Context())
	if err != nil {
		return err
	}
	if IsHTMX(c) {
		return Render(c, http.StatusOK, views.AuditVerifyResult(res))
	}
	f := models.AuditFilter{}
	page, err := h.Store.AuditEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Audit(views.AuditProps{Layout: h.Layout(c, "Audit log"), Page: page,
		Pager: PagerFor(c, page), Verify: &res}))
}
