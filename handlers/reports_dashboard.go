package handlers

import (
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/labstack/echo/v4"
)

// Dashboard is the compliance dashboard: headline figures for the team and
// environment filters, each linked to its list, and the trends of the last
// 30, 90 or 365 days from the daily snapshots.
func (h *ReportViews) Dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	q, err := h.reportQuery(c, ReportsRead)
	if err != nil {
		return err
	}
	d, err := h.Store.Dashboard(ctx, models.DashboardFilter{Scope: q.Scope, TeamID: q.TeamID, EnvironmentID: q.EnvironmentID, Days: q.Days})
	if err != nil {
		return err
	}
	snaps, err := h.Store.ComplianceTrend(ctx, q.Scope, q.TeamID, q.From, q.To)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, q.Scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Dashboard(views.DashboardProps{Layout: h.Layout(c, "Compliance dashboard"), D: d,
		Trends: views.DashboardTrends(snaps, q.From, q.To.AddDate(0, 0, -1)), TrendNote: trendNote(q.Scope, q.TeamID, q.EnvironmentID, len(snaps)),
		Days: q.Days, Team: q.Team, Environment: q.Environment, Teams: teams, Environments: envs}))
}

// trendNote says what the trend charts cover.
func trendNote(scope models.TeamScope, team, env uint, n int) string {
	who := "the whole organisation"
	switch {
	case team != 0:
		who = "the chosen team"
	case !scope.All && len(scope.IDs) > 1:
		who = "your teams together"
	case !scope.All:
		who = "your team"
	}
	note := "Daily snapshots of " + who + " (taken by the compliance-snapshot job; kept 400 days)."
	if env != 0 {
		note += " Snapshots are kept per team, so the environment filter does not apply to the trends."
	}
	if n == 0 {
		note += " No snapshot in this period yet."
	}
	return note
}
