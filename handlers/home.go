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
	attention, err := h.attention(c)
	if err != nil {
		return err
	}
	roles, err := RoleLabels(ctx, h.Store, l.UserID)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Home(views.HomeProps{Layout: l, Roles: roles, Teams: counts.Teams,
		Users: counts.Users, AuditEvents: counts.AuditEvents, Links: links, Attention: attention}))
}

// attention gathers what waits for the user, each figure within the teams
// where the user may see it and linked to its list.
func (h *Home) attention(c echo.Context) ([]views.AttentionItem, error) {
	ctx := c.Request().Context()
	var out []views.AttentionItem
	if scope, err := h.Scope(c, FindingsRead); err != nil {
		return nil, err
	} else if scope.All || len(scope.IDs) > 0 {
		page, err := h.Store.Findings(ctx, models.FindingFilter{Scope: scope, ListParams: models.ListParams{PerPage: 1}})
		if err != nil {
			return nil, err
		}
		out = append(out,
			views.AttentionItem{Label: "Critical findings", Value: page.Counts[models.SeverityCritical], URL: "/findings?severity=critical", Alarm: page.Counts[models.SeverityCritical] > 0},
			views.AttentionItem{Label: "High findings", Value: page.Counts[models.SeverityHigh], URL: "/findings?severity=high", Alarm: page.Counts[models.SeverityHigh] > 0})
	}
	if scope, err := h.Scope(c, InventoryRead); err != nil {
		return nil, err
	} else if scope.All || len(scope.IDs) > 0 {
		overdue, err := h.Store.Credentials(ctx, models.CredentialFilter{Scope: scope, Overdue: true, ListParams: models.ListParams{PerPage: 1}})
		if err != nil {
			return nil, err
		}
		reused, err := h.Store.Credentials(ctx, models.CredentialFilter{Scope: scope, Reused: true, ListParams: models.ListParams{PerPage: 1}})
		if err != nil {
			return nil, err
		}
		out = append(out,
			views.AttentionItem{Label: "Rotations past due", Value: overdue.Total, URL: "/credentials?overdue=1", Alarm: overdue.Total > 0},
			views.AttentionItem{Label: "Credentials sharing a secret", Value: reused.Total, URL: "/credentials?reused=1", Alarm: reused.Total > 0})
	}
	if scope, err := h.Scope(c, ReviewsDecide); err != nil {
		return nil, err
	} else if scope.All || len(scope.IDs) > 0 {
		n, err := h.Store.PendingReviewCount(ctx, scope)
		if err != nil {
			return nil, err
		}
		out = append(out, views.AttentionItem{Label: "Reviews waiting for you", Value: n, URL: "/reviews", Alarm: n > 0})
	}
	if scope, err := h.Scope(c, ExceptionsWrite); err != nil {
		return nil, err
	} else if scope.All || len(scope.IDs) > 0 {
		page, err := h.Store.Exceptions(ctx, models.ExceptionFilter{Scope: scope, Status: models.ExceptionPending, ListParams: models.ListParams{PerPage: 1}})
		if err != nil {
			return nil, err
		}
		out = append(out, views.AttentionItem{Label: "Exceptions to decide", Value: page.Total, URL: "/exceptions?status=pending", Alarm: page.Total > 0})
	}
	return out, nil
}
