package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Permissions of findings and exceptions.
var (
	FindingsRead    = authz.Permission{Object: authz.ObjFindings, Action: authz.ActRead}
	ExceptionsWrite = authz.Permission{Object: authz.ObjExceptions, Action: authz.ActWrite}
)

// Findings is the posture findings page, the rule catalog and exceptions.
type Findings struct {
	*Base
	Store *models.Store
}

func (h *Findings) filter(c echo.Context, scope models.TeamScope) models.FindingFilter {
	f := models.FindingFilter{ListParams: ListParams(c), Scope: scope, State: models.FindingState(c.QueryParam("state")),
		Severity: models.Severity(c.QueryParam("severity")), RuleID: c.QueryParam("rule"), Framework: c.QueryParam("framework"),
		ObjectType: c.QueryParam("object_type")}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	f.ObjectID, _ = optionalID(c.QueryParam("object_id"))
	if f.Severity != "" && f.Severity.Rank() == 0 {
		f.Severity = ""
	}
	switch f.ObjectType {
	case "", "server", "credential", "tool":
	default:
		f.ObjectType = ""
	}
	return f
}

// List shows findings with filters by state, severity, rule, team,
// environment and framework, or exports them.
func (h *Findings) List(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, FindingsRead)
	if err != nil {
		return err
	}
	f := h.filter(c, scope)
	fetch := func(p models.ListParams) (models.Page[models.FindingRow], error) {
		g := f
		g.ListParams = p
		page, err := h.Store.Findings(ctx, g)
		return page.Page, err
	}
	if format := c.QueryParam("format"); format != "" {
		cols := []string{"id", "rule", "severity", "title", "object_type", "object_id", "object", "team", "environment",
			"detail", "controls", "first_seen", "resolved", "exception_until"}
		return Export(c, format, "findings", cols, func(r models.FindingRow) []string {
			ids := make([]string, 0, 4)
			for _, ctl := range r.Controls() {
				ids = append(ids, ctl.ID)
			}
			return []string{fmt.Sprint(r.ID), r.RuleID, string(r.Severity), r.Rule().Title, r.ObjectType, fmt.Sprint(r.ObjectID),
				r.ObjectName, r.TeamName, r.EnvironmentName, r.Detail, strings.Join(ids, " "), timeCell(&r.FirstSeenAt),
				timeCell(r.ResolvedAt), timeCell(r.ExceptionExpires)}
		}, fetch, f.ListParams)
	}
	result, err := h.Store.Findings(ctx, f)
	if fields := Errors(err); fields != nil {
		return echo.NewHTTPError(http.StatusBadRequest, fields["state"])
	}
	if err != nil {
		return err
	}
	page, counts := result.Page, result.Counts
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.FindingsPage(views.FindingsProps{Layout: h.Layout(c, "Findings"), Page: page,
		Pager: PagerFor(c, page), Counts: counts, Catalog: models.RuleCatalog(),
		Filter: views.FindingFilterData{Search: f.Search, State: string(f.State), Severity: string(f.Severity), Rule: f.RuleID,
			Team: c.QueryParam("team"), Environment: c.QueryParam("environment"), Framework: f.Framework,
			ObjectType: f.ObjectType, ObjectID: c.QueryParam("object_id"), Teams: teams, Environments: envs}}))
}

// Show renders one finding: its rule, explanation, mapped controls, object
// and exceptions, with the exception forms the user may use.
func (h *Findings) Show(c echo.Context) error {
	return h.renderFinding(c, http.StatusOK, views.ExceptionForm{})
}

func (h *Findings) renderFinding(c echo.Context, status int, form views.ExceptionForm) error {
	ctx := c.Request().Context()
	f, err := h.readableFinding(c)
	if err != nil {
		return err
	}
	exceptions, err := h.Store.ExceptionsOf(ctx, f.Key)
	if err != nil {
		return err
	}
	canDecide, err := h.Can(c, f.TeamID, ExceptionsWrite)
	if err != nil {
		return err
	}
	u, _ := auth.CurrentUser(c)
	if form.ExpiresAt == "" {
		form.ExpiresAt = h.Store.Now().AddDate(0, 0, 30).Format("2006-01-02")
	}
	return Render(c, status, views.FindingDetail(views.FindingDetailProps{Layout: h.Layout(c, f.RuleID+" "+f.ObjectName),
		Finding: f, Exceptions: exceptions, CanWrite: canDecide, UserID: u.ID, Now: h.Store.Now(), Form: form}))
}

func (h *Findings) readableFinding(c echo.Context) (models.Finding, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.Finding{}, err
	}
	f, err := h.Store.FindingByID(c.Request().Context(), id)
	if err != nil {
		return f, err
	}
	if ok, err := h.Can(c, f.TeamID, FindingsRead); err != nil {
		return f, err
	} else if !ok {
		return f, models.ErrNotFound
	}
	return f, nil
}

// RequestException asks to accept a finding's risk until a date.
func (h *Findings) RequestException(c echo.Context) error {
	f, err := h.readableFinding(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, f.TeamID, ExceptionsWrite); err != nil {
		return err
	}
	form := views.ExceptionForm{Justification: c.FormValue("justification"), ExpiresAt: c.FormValue("expires_at")}
	in := models.ExceptionInput{Justification: form.Justification}
	if day, err := time.Parse("2006-01-02", form.ExpiresAt); err == nil {
		// An exception ends at the end of its last day, UTC.
		in.ExpiresAt = day.Add(24*time.Hour - time.Second)
	} else if form.ExpiresAt != "" {
		form.Errors = map[string]string{"expires_at": "Enter a date like 2026-12-31."}
		return h.renderFinding(c, http.StatusUnprocessableEntity, form)
	}
	_, err = h.Store.RequestException(c.Request().Context(), auth.Actor(c), f.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderFinding(c, http.StatusUnprocessableEntity, form)
	}
	if errors.Is(err, models.ErrConflict) || errors.Is(err, models.ErrInvalidTransition) {
		form.Errors = map[string]string{"justification": userMessage(err)}
		return h.renderFinding(c, http.StatusConflict, form)
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", "Exception requested. Another governance member or an admin must approve it.")
	return SeeOther(c, fmt.Sprintf("/findings/%d", f.ID))
}

// Approve accepts a pending exception; Reject refuses it.
func (h *Findings) Approve(c echo.Context) error { return h.decide(c, true) }

// Reject refuses a pending exception.
func (h *Findings) Reject(c echo.Context) error { return h.decide(c, false) }

func (h *Findings) decide(c echo.Context, approve bool) error {
	ctx := c.Request().Context()
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	ex, err := h.Store.ExceptionByID(ctx, id)
	if err != nil {
		return err
	}
	f, err := h.findingOfException(c, ex)
	if err != nil {
		return err
	}
	if err := h.Require(c, f.TeamID, ExceptionsWrite); err != nil {
		return err
	}
	_, err = h.Store.DecideException(ctx, auth.Actor(c), id, approve)
	switch {
	case errors.Is(err, models.ErrForbidden), errors.Is(err, models.ErrInvalidTransition):
		SetFlash(c, "error", userMessage(err))
		return SeeOther(c, fmt.Sprintf("/findings/%d", f.ID))
	case err != nil:
		return err
	}
	if approve {
		SetFlash(c, "success", "Exception approved: the finding is accepted until "+views.FormatTime(ex.ExpiresAt)+".")
	} else {
		SetFlash(c, "success", "Exception rejected: the finding stays open.")
	}
	return SeeOther(c, fmt.Sprintf("/findings/%d", f.ID))
}

func (h *Findings) findingOfException(c echo.Context, ex models.RiskException) (models.Finding, error) {
	f, err := h.Store.FindingByKey(c.Request().Context(), ex.FindingKey)
	if err != nil {
		return f, err
	}
	if ok, err := h.Can(c, f.TeamID, FindingsRead); err != nil {
		return f, err
	} else if !ok {
		return f, models.ErrNotFound
	}
	return f, nil
}

// Exceptions lists risk exceptions, pending first.
func (h *Findings) Exceptions(c echo.Context) error {
	scope, err := h.Scope(c, FindingsRead)
	if err != nil {
		return err
	}
	f := models.ExceptionFilter{ListParams: ListParams(c), Scope: scope, Status: models.ExceptionStatus(c.QueryParam("status"))}
	switch f.Status {
	case "", models.ExceptionPending, models.ExceptionApproved, models.ExceptionRejected, models.ExceptionExpired:
	default:
		f.Status = ""
	}
	page, err := h.Store.Exceptions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.ExceptionsPage(views.ExceptionsProps{Layout: h.Layout(c, "Risk exceptions"),
		Page: page, Pager: PagerFor(c, page), Search: f.Search, Status: string(f.Status), Now: h.Store.Now()}))
}

// Rules shows the posture rules and the framework mapping file as shipped.
func (h *Findings) Rules(c echo.Context) error {
	scope, err := h.Scope(c, FindingsRead)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	for _, r := range models.RuleCatalog().Rules {
		page, err := h.Store.Findings(c.Request().Context(), models.FindingFilter{Scope: scope, RuleID: r.ID,
			ListParams: models.ListParams{PerPage: 1}})
		if err != nil {
			return err
		}
		counts[r.ID] = page.Total
	}
	return Render(c, http.StatusOK, views.RulesPage(views.RulesProps{Layout: h.Layout(c, "Posture rules and frameworks"),
		Catalog: models.RuleCatalog(), OpenByRule: counts, Mapping: string(models.FrameworksJSON())}))
}

// userMessage is the part of a sentinel-wrapped error meant for people.
func userMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// ReviewsDecide is the permission to approve or deny step-up requests.
var ReviewsDecide = authz.Permission{Object: authz.ObjReviews, Action: authz.ActDecide}
