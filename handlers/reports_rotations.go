package handlers

import (
	"encoding/csv"
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
	scope, err := h.Scope(c, ReportsRead)
	if err != nil {
		return err
	}
	days, from, to := reportRange(c, h.Store.Now())
	f := models.RotationComplianceFilter{Scope: scope, From: from, To: to}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	rep, err := h.Store.RotationComplianceReport(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if c.QueryParam("format") == "csv" {
		w := c.Response()
		w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		w.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="rotation-compliance-%dd.csv"`, days))
		w.WriteHeader(http.StatusOK)
		out := csv.NewWriter(w)
		_ = out.Write([]string{"team", "environment", "on_time", "late", "missed", "on_time_share", "overdue_now", "from", "to"})
		for _, r := range append(rep.Rows, rep.Total) {
			share := ""
			if s := r.OnTimeShare(); s >= 0 {
				share = fmt.Sprintf("%.3f", s)
			}
			_ = out.Write([]string{r.TeamName, r.EnvironmentName, fmt.Sprint(r.OnTime), fmt.Sprint(r.Late), fmt.Sprint(r.Missed),
				share, fmt.Sprint(r.OverdueNow), from.Format("2006-01-02"), to.Format("2006-01-02")})
		}
		out.Flush()
		return out.Error()
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.RotationReport(views.RotationReportProps{Layout: h.Layout(c, "Rotation compliance"),
		Report: rep, Days: days, Team: c.QueryParam("team"), Environment: c.QueryParam("environment"), Teams: teams,
		Environments: envs, Now: h.Store.Now()}))
}
