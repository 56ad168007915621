package handlers

import (
	"fmt"
	"net/http"

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

// Frameworks shows, for each control of each mapped framework, its rules,
// open and accepted findings, and a status.
func (h *ReportViews) Frameworks(c echo.Context) error {
	q, err := h.reportQuery(c, ReportsRead)
	if err != nil {
		return err
	}
	fw, err := h.Store.FrameworkStatus(c.Request().Context(), q.Scope, q.TeamID, q.EnvironmentID)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, q.Scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.FrameworkReport(views.FrameworkReportProps{Layout: h.Layout(c, "Framework view"),
		Frameworks: fw, Note: models.RuleCatalog().Note, Team: q.Team, Environment: q.Environment,
		Teams: teams, Environments: envs}))
}

// Reviews shows the review analytics of the last 30, 90 or 365 days, or
// exports the requests behind them as CSV.
func (h *ReportViews) Reviews(c echo.Context) error {
	q, err := h.reportQuery(c, ReportsRead)
	if err != nil {
		return err
	}
	if c.QueryParam("format") != "" {
		scope, err := h.exportScope(c)
		if err != nil {
			return err
		}
		q.Scope = scope
		return h.exportReviews(c, q)
	}
	a, err := h.Store.ReviewAnalytics(c.Request().Context(), models.ReviewAnalyticsFilter{Scope: q.Scope, TeamID: q.TeamID,
		EnvironmentID: q.EnvironmentID, From: q.From, To: q.To})
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, q.Scope)
	if err != nil {
		return err
	}
	canExport, _ := h.canExport(c)
	return Render(c, http.StatusOK, views.ReviewReport(views.ReviewReportProps{Layout: h.Layout(c, "Review analytics"),
		A: a, Days: q.Days, Team: q.Team, Teams: teams, Environment: q.Environment, Environments: envs,
		CanExport: canExport}))
}

// canExport reports whether the user may export reports in any team.
func (h *ReportViews) canExport(c echo.Context) (bool, error) {
	scope, err := h.Scope(c, ReportsExport)
	return scope.All || len(scope.IDs) > 0, err
}

// exportReviews streams the review requests of the query's period, teams
// and filters as CSV or JSON.
func (h *ReportViews) exportReviews(c echo.Context, q reportQuery) error {
	ctx := c.Request().Context()
	f := models.ReviewFilter{Scope: q.Scope, ListParams: ListParams(c)}
	fetch := func(p models.ListParams) (models.Page[models.ReviewRow], error) {
		g := f
		g.ListParams = p
		g.CreatedFrom, g.CreatedTo, g.TeamID, g.EnvironmentID = q.From, q.To, q.TeamID, q.EnvironmentID
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
