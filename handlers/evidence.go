package handlers

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/labstack/echo/v4"
)

// writeCSV writes every row of a paged list as CSV, page by page.
func writeCSV[T any](w io.Writer, columns []string, row func(T) []string, fetch func(models.ListParams) (models.Page[T], error)) (int, error) {
	cw := newSafeCSV(w)
	if err := cw.Write(columns); err != nil {
		return 0, err
	}
	n := 0
	p := models.ListParams{Page: 1, PerPage: exportPageSize}
	for {
		page, err := fetch(p)
		if err != nil {
			return n, err
		}
		for _, it := range page.Items {
			if err := cw.Write(row(it)); err != nil {
				return n, err
			}
			n++
		}
		if int64(p.Page*p.PerPage) >= page.Total || len(page.Items) == 0 {
			break
		}
		p.Page++
	}
	return n, cw.Flush()
}

// Evidence builds the evidence pack of a period: a zip with the report as
// printable HTML, a CSV of every table behind it, the audit events of the
// period, and the result of verifying the audit chain with its head hash.
func (h *ReportViews) Evidence(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, ReportsExport)
	if err != nil {
		return err
	}
	days, from, to := reportRange(c, h.Store.Now())
	verification, err := h.Store.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	frameworks, err := h.Store.FrameworkStatus(ctx, scope, 0, 0)
	if err != nil {
		return err
	}
	analytics, err := h.Store.ReviewAnalytics(ctx, models.ReviewAnalyticsFilter{Scope: scope, From: from, To: to})
	if err != nil {
		return err
	}
	counts, err := h.Store.OpenFindingCounts(ctx, scope)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, write func(io.Writer) error) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: h.Store.Now()})
		if err != nil {
			return err
		}
		return write(w)
	}
	files := []string{}
	csvFile := func(name string, write func(io.Writer) (int, error)) error {
		files = append(files, name)
		return add(name, func(w io.Writer) error { _, err := write(w); return err })
	}
	if err := h.evidenceCSVs(c, scope, from, to, csvFile); err != nil {
		return err
	}
	generated := h.Store.Now()
	report := views.EvidenceReport(views.EvidenceReportProps{Generated: generated, From: from, To: to, Days: days,
		Verification: verification, Frameworks: frameworks, Reviews: analytics, Findings: counts, Files: files,
		CSS: h.Assets.Content("css/app.css")})
	if err := add("report.html", func(w io.Writer) error { return report.Render(ctx, w) }); err != nil {
		return err
	}
	summary := map[string]any{"ok": verification.OK, "events": verification.Events, "head_hash": verification.HeadHash,
		"first_bad": verification.FirstBad, "problem": verification.Problem, "verified_at": generated.Format(time.RFC3339),
		"period": map[string]string{"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}}
	if err := add("audit-verification.json", func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(summary)
	}); err != nil {
		return err
	}
	if err := add("README.txt", func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Countersign evidence pack, %s to %s (generated %s UTC).\n\n"+
			"report.html               the compliance report; open it in a browser and print or save as PDF\n"+
			"%s\n"+
			"audit-verification.json   result of verifying the audit hash chain when the pack was made\n\n"+
			"To check the chain yourself: countersign audit verify — it prints the head hash, which must\n"+
			"be %s or a later head whose chain contains these events.\n",
			from.Format("2006-01-02"), to.Format("2006-01-02"), generated.Format("2006-01-02 15:04"),
			strings.Join(files, "\n"), verification.HeadHash)
		return err
	}); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="countersign-evidence-%s.zip"`, generated.Format("20060102-150405")))
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.Blob(http.StatusOK, "application/zip", buf.Bytes())
}

// evidenceCSVs writes the tables behind the reports.
func (h *ReportViews) evidenceCSVs(c echo.Context, scope models.TeamScope, from, to time.Time,
	file func(string, func(io.Writer) (int, error)) error) error {
	ctx := c.Request().Context()
	steps := []struct {
		name  string
		write func(io.Writer) (int, error)
	}{
		{"servers.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "slug", "name", "team", "environment", "status", "hosting", "owner", "production_data",
				"write_actions", "multi_tenant", "tools", "credentials", "open_findings"}, func(s models.ServerRow) []string {
				return []string{fmt.Sprint(s.ID), s.Slug, s.Name, s.TeamName, s.EnvironmentName, string(s.Status), string(s.Hosting),
					s.OwnerEmail, strconv.FormatBool(s.ProductionData), strconv.FormatBool(s.WriteActions), strconv.FormatBool(s.MultiTenant),
					fmt.Sprint(s.Tools), fmt.Sprint(s.Credentials), fmt.Sprint(s.OpenFindings)}
			}, func(p models.ListParams) (models.Page[models.ServerRow], error) {
				return h.Store.Servers(ctx, models.ServerFilter{ListParams: p, Scope: scope})
			})
		}},
		{"credentials.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "name", "team", "environment", "key_type", "servers", "owner", "issued_at", "expires_at",
				"last_rotated_at", "rotation_spec", "rotation_tz", "next_due_at", "status", "shared_with", "exposed_in"}, func(r models.CredentialRow) []string {
				return []string{fmt.Sprint(r.ID), r.Name, r.TeamName, r.EnvironmentName, string(r.KeyType), strings.Join(r.ServerSlugs, " "),
					r.OwnerEmail, timeCell(r.IssuedAt), timeCell(r.ExpiresAt), timeCell(r.LastRotatedAt), r.RotationSpec, r.RotationTZ,
					timeCell(r.NextDueAt), string(r.Status), fmt.Sprint(r.SharedWith), r.ExposedIn}
			}, func(p models.ListParams) (models.Page[models.CredentialRow], error) {
				return h.Store.Credentials(ctx, models.CredentialFilter{ListParams: p, Scope: scope})
			})
		}},
		{"findings.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "rule", "severity", "object_type", "object", "team", "environment", "detail", "controls",
				"first_seen", "resolved", "accepted_until"}, func(r models.FindingRow) []string {
				ids := []string{}
				for _, ctl := range r.Controls() {
					ids = append(ids, ctl.ID)
				}
				return []string{fmt.Sprint(r.ID), r.RuleID, string(r.Severity), r.ObjectType, r.ObjectName, r.TeamName, r.EnvironmentName,
					r.Detail, strings.Join(ids, " "), timeCell(&r.FirstSeenAt), timeCell(r.ResolvedAt), timeCell(r.ExceptionExpires)}
			}, func(p models.ListParams) (models.Page[models.FindingRow], error) {
				page, err := h.Store.Findings(ctx, models.FindingFilter{ListParams: p, Scope: scope, State: models.FindingAll})
				return page.Page, err
			})
		}},
		{"exceptions.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "finding", "rule", "object", "status", "justification", "requested_by", "decided_by",
				"created_at", "decided_at", "expires_at"}, func(r models.ExceptionRow) []string {
				return []string{fmt.Sprint(r.ID), fmt.Sprint(r.FindingID), r.RuleID, r.ObjectName, string(r.Status), r.Justification,
					r.RequestedByName, r.DecidedByName, timeCell(&r.CreatedAt), timeCell(r.DecidedAt), timeCell(&r.ExpiresAt)}
			}, func(p models.ListParams) (models.Page[models.ExceptionRow], error) {
				return h.Store.Exceptions(ctx, models.ExceptionFilter{ListParams: p, Scope: scope})
			})
		}},
		{"review-requests.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "status", "created_at", "decided_at", "deadline", "team", "server", "tool", "environment",
				"subject", "on_behalf_of", "risk", "rule", "approvals", "approvals_needed", "task_id"}, func(r models.ReviewRow) []string {
				return []string{r.PublicID, string(r.Status), timeCell(&r.CreatedAt), timeCell(r.DecidedAt), timeCell(&r.Deadline),
					r.TeamName, r.ServerSlug, r.ToolName, r.EnvironmentName, r.Subject, r.OnBehalfOf, string(r.Risk), r.RuleName,
					fmt.Sprint(r.Approvals), fmt.Sprint(r.ApprovalsNeeded), r.TaskID}
			}, func(p models.ListParams) (models.Page[models.ReviewRow], error) {
				return h.Store.ReviewRequests(ctx, models.ReviewFilter{ListParams: p, Scope: scope, CreatedFrom: from, CreatedTo: to})
			})
		}},
		{"decisions.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "at", "subject", "on_behalf_of", "resource", "outcome", "reason", "risk", "task_id", "latency_us"},
				func(d models.DecisionRecord) []string {
					return []string{fmt.Sprint(d.ID), timeCell(&d.At), d.Subject, d.OnBehalfOf, d.Resource, string(d.Outcome), d.Reason,
						string(d.Risk), d.TaskID, fmt.Sprint(d.LatencyMicros)}
				}, func(p models.ListParams) (models.Page[models.DecisionRecord], error) {
					return h.Store.Decisions(ctx, models.DecisionFilter{ListParams: p, Scope: scope, From: from, To: to})
				})
		}},
		{"audit-events.csv", func(w io.Writer) (int, error) {
			return writeCSV(w, []string{"id", "at", "actor", "action", "object_type", "object_id", "before", "after", "request_id",
				"prev_hash", "hash"}, func(e models.AuditEvent) []string {
				return []string{fmt.Sprint(e.ID), timeCell(&e.At), e.Actor, e.Action, e.ObjectType, e.ObjectID, e.Before, e.After,
					e.RequestID, e.PrevHash, e.Hash}
			}, func(p models.ListParams) (models.Page[models.AuditEvent], error) {
				return h.Store.AuditEvents(ctx, models.AuditFilter{ListParams: p, From: from, To: to})
			})
		}},
	}
	for _, s := range steps {
		if err := file(s.name, s.write); err != nil {
			return fmt.Errorf("evidence %s: %w", s.name, err)
		}
	}
	return nil
}
