package handlers

import (
	"fmt"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/labstack/echo/v4"
)

// Rotations is the rotation compliance report: per team and environment,
// the rotations that fell due in the period (on time, late, missed), the
// overdue ones now, and the load of the coming weeks; CSV with format=csv.
func (h *ReportViews) Rotations(c echo.Context) error {
	q, err := h.reportQuery(c, ReportsRead)
	if err != nil {
		return err
	}
	csvFile := c.QueryParam("format") == "csv"
	if csvFile {
		// Exports need the export permission, as the other reports' do,
		// and hold only the teams where the user has it.
		if q.Scope, err = h.exportScope(c); err != nil {
			return err
		}
	}
	rep, err := h.Store.RotationComplianceReport(c.Request().Context(), models.RotationComplianceFilter{Scope: q.Scope,
		TeamID: q.TeamID, EnvironmentID: q.EnvironmentID, From: q.From, To: q.To})
	if err != nil {
		return err
	}
	if csvFile {
		w := c.Response()
		w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		w.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="rotation-compliance-%dd.csv"`, q.Days))
		w.WriteHeader(http.StatusOK)
		out := newSafeCSV(w)
		_ = out.Write([]string{"team", "environment", "on_time", "late", "missed", "on_time_share", "overdue_now", "from", "to"})
		for _, r := range append(rep.Rows, rep.Total) {
			share := ""
			if s := r.OnTimeShare(); s >= 0 {
				share = fmt.Sprintf("%.3f", s)
			}
			_ = out.Write([]string{r.TeamName, r.EnvironmentName, fmt.Sprint(r.OnTime), fmt.Sprint(r.Late), fmt.Sprint(r.Missed),
				share, fmt.Sprint(r.OverdueNow), q.From.Format("2006-01-02"), q.To.Format("2006-01-02")})
		}
		return out.Flush()
	}
	teams, envs, err := FilterOptions(c, h.Store, q.Scope)
	if err != nil {
		return err
	}
	canExport, _ := h.canExport(c)
	return Render(c, http.StatusOK, views.RotationReport(views.RotationReportProps{Layout: h.Layout(c, "Rotation compliance"),
		Report: rep, Days: q.Days, Team: q.Team, Environment: q.Environment, Teams: teams,
		Environments: envs, Now: h.Store.Now(), CanExport: canExport}))
}
