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
	scope, err := h.Scope(c, ReportsRead)
	if err != nil {
		return err
	}
	days, from, to := reportRange(c, h.Store.Now())
	team, _ := optionalID(c.QueryParam("team"))
	env, _ := optionalID(c.QueryParam("environment"))
	d, err := h.Store.Dashboard(ctx, models.DashboardFilter{Scope: scope, TeamID: team, EnvironmentID: env, Days: days})
	if err != nil {
		return err
	}
	snaps, err := h.Store.ComplianceTrend(ctx, scope, team, from, to)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Dashboard(views.DashboardProps{Layout: h.Layout(c, "Compliance dashboard"), D: d,
		Trends: views.DashboardTrends(snaps, from, to.AddDate(0, 0, -1)), TrendNote: trendNote(scope, team, env, len(snaps)),
		Days: days, Team: c.QueryParam("team"), Environment: c.QueryParam("environment"), Teams: teams, Environments: envs}))
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
