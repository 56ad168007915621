package handlers

import (
	"fmt"
	"strconv"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// reportQuery is what every report reads from its request: the teams in
// which the user holds the report's permission, the period, and the team and
// environment filters.
type reportQuery struct {
	Scope models.TeamScope
	// Days is 30, 90 or 365; the period is [From, To).
	Days     int
	From, To time.Time
	// TeamID and EnvironmentID are the filters (0: all); Team and
	// Environment are the filters as given, to show them selected.
	TeamID, EnvironmentID uint
	Team, Environment     string
}

// reportQuery reads the query of a report with the scope of permission p.
// A filter that is not a number is ignored.
func (h *ReportViews) reportQuery(c echo.Context, p authz.Permission) (reportQuery, error) {
	scope, err := h.Scope(c, p)
	if err != nil {
		return reportQuery{}, err
	}
	q := reportQuery{Scope: scope, Team: c.QueryParam("team"), Environment: c.QueryParam("environment")}
	q.Days, q.From, q.To = reportRange(c, h.Store.Now())
	q.TeamID, _ = optionalID(q.Team)
	q.EnvironmentID, _ = optionalID(q.Environment)
	return q, nil
}

// exportScope returns the teams in which the user may export reports, and
// refuses a user who may export in none.
func (h *ReportViews) exportScope(c echo.Context) (models.TeamScope, error) {
	scope, err := h.Scope(c, ReportsExport)
	if err != nil {
		return scope, err
	}
	if !scope.All && len(scope.IDs) == 0 {
		return scope, fmt.Errorf("%w: exporting reports needs the manager or auditor role", models.ErrForbidden)
	}
	return scope, nil
}

// reportRange reads days=30|90|365 (default 30) and returns [from, to).
func reportRange(c echo.Context, now time.Time) (int, time.Time, time.Time) {
	days, _ := strconv.Atoi(c.QueryParam("days"))
	switch days {
	case 30, 90, 365:
	default:
		days = 30
	}
	to := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return days, to.AddDate(0, 0, -days), to
}
