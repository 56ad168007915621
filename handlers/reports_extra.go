package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Report permissions.
var (
	ReportsRead   = authz.Permission{Object: authz.ObjReports, Action: authz.ActRead}
	ReportsExport = authz.Permission{Object: authz.ObjReports, Action: authz.ActExport}
)

// ReportViews are the framework view, the review analytics and the
// evidence pack of the compliance reports.
type ReportViews struct {
	*Base
	Store *models.Store
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

// Frameworks shows, for each control of each mapped framework, its rules,
// open and accepted findings, and a status.
func (h *ReportViews) Frameworks(c echo.Context) error {
	scope, err := h.Scope(c, ReportsRead)
	if err != nil {
		return err
	}
	team, _ := optionalID(c.QueryParam("team"))
	env, _ := optionalID(c.QueryParam("environment"))
	fw, err := h.Store.FrameworkStatus(c.Request().Context(), scope, team, env)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.FrameworkReport(views.FrameworkReportProps{Layout: h.Layout(c, "Framework view"),
		Frameworks: fw, Note: models.RuleCatalog().Note, Team: c.QueryParam("team"), Environment: c.QueryParam("environment"),
		Teams: teams, Environments: envs}))
}

// Reviews shows the review analytics of the last 30, 90 or 365 days, or
// exports the requests behind them as CSV.
func (h *ReportViews) Reviews(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, ReportsRead)
	if err != nil {
		return err
	}
	days, from, to := reportRange(c, h.Store.Now())
	team, _ := optionalID(c.QueryParam("team"))
	env, _ := optionalID(c.QueryParam("environment"))
	if c.QueryParam("format") != "" {
		exportScope, err := h.Scope(c, ReportsExport)
		if err != nil {
			return err
		}
		if !exportScope.All && len(exportScope.IDs) == 0 {
			return fmt.Errorf("%w: exporting reports needs the manager or auditor role", models.ErrForbidden)
		}
		return h.exportReviews(c, exportScope, team, env, from, to)
	}
	a, err := h.Store.ReviewAnalytics(ctx, models.ReviewAnalyticsFilter{Scope: scope, TeamID: team, EnvironmentID: env, From: from, To: to})
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	canExport, _ := h.canExport(c)
	return Render(c, http.StatusOK, views.ReviewReport(views.ReviewReportProps{Layout: h.Layout(c, "Review analytics"),
		A: a, Days: days, Team: c.QueryParam("team"), Teams: teams, Environment: c.QueryParam("environment"), Environments: envs,
		CanExport: canExport}))
}

// canExport reports whether the user may export reports in any team.
func (h *ReportViews) canExport(c echo.Context) (bool, error) {
	scope, err := h.Scope(c, ReportsExport)
	return scope.All || len(scope.IDs) > 0, err
}

// exportReviews streams the review requests of the period as CSV or JSON.
func (h *ReportViews) exportReviews(c echo.Context, scope models.TeamScope, team, env uint, from, to time.Time) error {
	ctx := c.Request().Context()
	f := models.ReviewFilter{Scope: scope, ListParams: ListParams(c)}
	fetch := func(p models.ListParams) (models.Page[models.ReviewRow], error) {
		g := f
		g.ListParams = p
		g.CreatedFrom, g.CreatedTo, g.TeamID, g.EnvironmentID = from, to, team, env
		return h.Store.ReviewRequests(ctx, g)
	}
	cols := []string{"id", "status", "created_at", "decided_at", "deadline", "team", "server", "tool", "environment", "subject",
		"on_behalf_of", "risk", "rule", "approvals", "approvals_needed", "task_id"}
	return Export(c, c.QueryParam("format"), "review-requests", cols, func(r models.ReviewRow) []string {
		return []string{r.PublicID, string(r.Status), timeCell(&r.CreatedAt), timeCell(r.DecidedAt), timeCell(&r.Deadline),
			r.TeamName, r.ServerSlug, r.ToolName, r.EnvironmentName, r.Subject, r.OnBehalfOf, string(r.Risk), r.RuleName,
			fmt.Sprint(r.Approvals), fmt.Sprint(r.ApprovalsNeeded), r.TaskID}
	}, fetch, f.ListParams)
}

// EvidencePage offers the evidence pack of a period.
func (h *ReportViews) EvidencePage(c echo.Context) error {
	days, _, _ := reportRange(c, h.Store.Now())
	return Render(c, http.StatusOK, views.EvidencePackPage(views.EvidencePackProps{Layout: h.Layout(c, "Evidence pack"), Days: days}))
}
