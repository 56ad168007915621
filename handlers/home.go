package handlers

import (
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/labstack/echo/v4"
)

// Home is the overview page.
type Home struct {
	*Base
	Store *models.Store
}

// Show renders the overview with real counts.
func (h *Home) Show(c echo.Context) error {
	ctx := c.Request().Context()
	counts, err := h.Store.Counts(ctx)
	if err != nil {
		return err
	}
	l := h.Layout(c, "Overview")
	var links []views.NavItem
	for _, n := range l.Nav {
		if n.URL != "/" {
			links = append(links, n)
		}
	}
	return Render(c, http.StatusOK, views.Home(views.HomeProps{Layout: l, Roles: l.Roles, Teams: counts.Teams,
		Users: counts.Users, AuditEvents: counts.AuditEvents, Links: links}))
}
