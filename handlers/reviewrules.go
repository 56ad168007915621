package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Permissions of the review rules admin.
var (
	RulesRead  = authz.Permission{Object: authz.ObjReviewRules, Action: authz.ActRead}
	RulesWrite = authz.Permission{Object: authz.ObjReviewRules, Action: authz.ActWrite}
)

// ReviewRules is the admin page of the ordered review rules of each team,
// with the "test this rule" form.
type ReviewRules struct {
	*Base
	Store *models.Store
}

// List shows the rules of the user's teams in evaluation order, and the
// test form (with its result when ?test_server= is given).
func (h *ReviewRules) List(c echo.Context) error {
	test := views.RuleTestForm{Server: c.QueryParam("test_server"), Tool: c.QueryParam("test_tool"),
		Subject: c.QueryParam("test_subject"), Arguments: c.QueryParam("test_arguments")}
	status := http.StatusOK
	if test.Server != "" || test.Tool != "" {
		status = h.runTest(c, &test)
	}
	return h.renderList(c, status, test)
}

func (h *ReviewRules) renderList(c echo.Context, status int, test views.RuleTestForm) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, RulesRead)
	if err != nil {
		return err
	}
	rules, err := h.Store.ReviewRules(ctx, scope)
	if err != nil {
		return err
	}
	writeScope, err := h.Scope(c, RulesWrite)
	if err != nil {
		return err
	}
	teams, err := h.Store.AllTeams(ctx)
	if err != nil {
		return err
	}
	var groups []views.RuleGroup
	for _, t := range teams {
		if !scope.Includes(t.ID) {
			continue
		}
		g := views.RuleGroup{Team: t, CanWrite: writeScope.Includes(t.ID)}
		for _, r := range rules {
			if r.TeamID == t.ID {
				g.Rules = append(g.Rules, r)
			}
		}
		groups = append(groups, g)
	}
	if test.Subject == "" {
		test.Subject = "support-bot"
	}
	links, err := h.RuntimeLinks(c)
	if err != nil {
		return err
	}
	return Render(c, status, views.ReviewRulesPage(views.ReviewRulesProps{Layout: h.Layout(c, "Review rules"), Groups: groups, Links: links,
		CanCreate: writeScope.All || len(writeScope.IDs) > 0, Test: test}))
}

// runTest evaluates the sample call of the test form against its team's
// rules, with no side effect, and returns the status of the page.
func (h *ReviewRules) runTest(c echo.Context, t *views.RuleTestForm) int {
	ctx := c.Request().Context()
	t.Errors = map[string]string{}
	slug, tool := strings.TrimSpace(t.Server), strings.TrimSpace(t.Tool)
	if slug == "" {
		t.Errors["test_server"] = "Enter a server slug."
	}
	if tool == "" {
		t.Errors["test_tool"] = "Enter a tool name."
	}
	args := json.RawMessage(strings.TrimSpace(t.Arguments))
	if len(args) > 0 {
		if _, err := models.CanonicalArguments(args); err != nil {
			t.Errors["test_arguments"] = "Enter a JSON object: " + err.Error()
		}
	}
	if len(t.Errors) > 0 {
		return http.StatusUnprocessableEntity
	}
	srv, err := h.Store.ServerBySlug(ctx, strings.ToLower(slug))
	if err == nil {
		var ok bool
		if ok, err = h.Can(c, srv.TeamID, RulesRead); err == nil && !ok {
			err = models.ErrNotFound
		}
	}
	if err != nil {
		t.Errors["test_server"] = "No server with this slug in your teams."
		return http.StatusUnprocessableEntity
	}
	res, err := h.Store.TestReviewRules(ctx, srv.TeamID, srv.Slug+"/"+tool, strings.TrimSpace(t.Subject))
	if err != nil {
		if errors.Is(err, models.ErrNotFound) {
			t.Errors["test_tool"] = "The server has no tool with this name."
		} else {
			t.Errors["test_server"] = userMessage(err)
		}
		return http.StatusUnprocessableEntity
	}
	result := views.RuleTestResult{Test: res, TeamID: srv.TeamID, Environment: srv.Environment.Name,
		Sensitive: srv.Environment.Sensitive}
	if len(args) > 0 {
		result.Digest, _ = models.ArgumentDigest(args)
		result.Summary = models.RedactArguments(args, 2000)
	}
	t.Result = &result
	return http.StatusOK
}

// New shows the form of a new rule.
func (h *ReviewRules) New(c echo.Context) error {
	return h.renderForm(c, http.StatusOK, 0, views.ReviewRuleForm{Outcome: "review", ApprovalsNeeded: "1",
		ApproverRole: "approver", RequestTTL: "1h", GrantTTL: "10m", GrantMaxUses: "1", Enabled: true,
		Team: c.QueryParam("team")})
}

func (h *ReviewRules) renderForm(c echo.Context, status int, id uint, form views.ReviewRuleForm) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, RulesWrite)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	teams[0].Label, envs[0].Label = "Choose a team", "Any environment"
	filter := models.ServerFilter{Scope: scope, ListParams: models.ListParams{PerPage: models.MaxPerPage, Sort: "name"}}
	if id != 0 {
		filter.TeamID, _ = optionalID(form.Team)
	}
	servers, err := h.Store.Servers(ctx, filter)
	if err != nil {
		return err
	}
	serverOpts := []views.Option{{Value: "", Label: "Any server (or use a slug pattern)"}}
	for _, s := range servers.Items {
		serverOpts = append(serverOpts, views.Option{Value: fmt.Sprint(s.ID), Label: s.Slug + " (" + s.TeamName + ")"})
	}
	title := "New review rule"
	if id != 0 {
		title = "Edit review rule"
	}
	return Render(c, status, views.ReviewRuleFormPage(views.ReviewRuleFormProps{Layout: h.Layout(c, title), ID: id,
		Form: form, Teams: teams, Environments: envs, Servers: serverOpts}))
}

// parseRuleForm reads the form into its view and the store input; field
// errors of numbers and durations are added to the view.
func parseRuleForm(c echo.Context) (views.ReviewRuleForm, models.ReviewRuleInput) {
	f := views.ReviewRuleForm{Team: c.FormValue("team"), Name: c.FormValue("name"), Server: c.FormValue("server"),
		ServerPattern: c.FormValue("server_pattern"), ToolPattern: c.FormValue("tool_pattern"),
		Environment: c.FormValue("environment"), MinRisk: c.FormValue("min_risk"), DataClass: c.FormValue("data_class"),
		SubjectPattern: c.FormValue("subject_pattern"), Outcome: c.FormValue("outcome"),
		ApprovalsNeeded: c.FormValue("approvals_needed"), ApproverRole: c.FormValue("approver_role"),
		RequestTTL: c.FormValue("request_ttl"), GrantTTL: c.FormValue("grant_ttl"), GrantMaxUses: c.FormValue("grant_max_uses"),
		Enabled: c.FormValue("enabled") == "on", Errors: map[string]string{}}
	in := models.ReviewRuleInput{Name: f.Name, ServerPattern: f.ServerPattern, ToolPattern: f.ToolPattern,
		MinRisk: models.Risk(f.MinRisk), DataClass: f.DataClass, SubjectPattern: f.SubjectPattern,
		Outcome: models.RuleOutcome(f.Outcome), ApproverRole: models.Role(f.ApproverRole), Enabled: f.Enabled}
	in.TeamID, _ = optionalID(f.Team)
	in.ServerID, _ = optionalID(f.Server)
	in.EnvironmentID, _ = optionalID(f.Environment)
	number := func(field, raw string, dst *int) {
		if strings.TrimSpace(raw) == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			f.Errors[field] = "Enter a whole number."
			return
		}
		*dst = n
	}
	duration := func(field, raw string, dst *time.Duration) {
		if strings.TrimSpace(raw) == "" {
			return
		}
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil || d <= 0 {
			f.Errors[field] = "Enter a duration such as 90s, 10m or 1h30m."
			return
		}
		*dst = d
	}
	number("approvals_needed", f.ApprovalsNeeded, &in.ApprovalsNeeded)
	number("grant_max_uses", f.GrantMaxUses, &in.GrantMaxUses)
	duration("request_ttl", f.RequestTTL, &in.RequestTTL)
	duration("grant_ttl", f.GrantTTL, &in.GrantTTL)
	if len(f.Errors) > 0 {
		// Report the rule's other problems too, all in one answer.
		if v, ok := models.AsValidation(in.Validate()); ok {
			for field, msg := range v.Fields {
				if _, taken := f.Errors[field]; !taken {
					f.Errors[field] = msg
				}
			}
		}
	}
	return f, in
}

// Create adds a rule at the end of its team's list.
func (h *ReviewRules) Create(c echo.Context) error {
	form, in := parseRuleForm(c)
	if len(form.Errors) > 0 {
		return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
	}
	if in.TeamID != 0 {
		if err := h.Require(c, in.TeamID, RulesWrite); err != nil {
			return err
		}
	}
	r, err := h.Store.CreateReviewRule(c.Request().Context(), auth.Actor(c), in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Rule %q added at position %d of its team.", r.Name, r.Position))
	return SeeOther(c, "/admin/review-rules")
}

// writableRule loads the rule of :id and checks the user may change it.
func (h *ReviewRules) writableRule(c echo.Context) (models.ReviewRule, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.ReviewRule{}, err
	}
	r, err := h.Store.ReviewRuleByID(c.Request().Context(), id)
	if err != nil {
		return r, err
	}
	if ok, err := h.Can(c, r.TeamID, RulesRead); err != nil {
		return r, err
	} else if !ok {
		return r, models.ErrNotFound
	}
	return r, h.Require(c, r.TeamID, RulesWrite)
}

// Edit shows the form of an existing rule.
func (h *ReviewRules) Edit(c echo.Context) error {
	r, err := h.writableRule(c)
	if err != nil {
		return err
	}
	return h.renderForm(c, http.StatusOK, r.ID, views.RuleFormOf(r))
}

// Update saves a rule; its team and position stay.
func (h *ReviewRules) Update(c echo.Context) error {
	r, err := h.writableRule(c)
	if err != nil {
		return err
	}
	form, in := parseRuleForm(c)
	form.Team = fmt.Sprint(r.TeamID)
	if len(form.Errors) > 0 {
		return h.renderForm(c, http.StatusUnprocessableEntity, r.ID, form)
	}
	_, err = h.Store.UpdateReviewRule(c.Request().Context(), auth.Actor(c), r.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, r.ID, form)
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Rule %q saved.", in.Name))
	return SeeOther(c, "/admin/review-rules")
}

// Delete removes a rule.
func (h *ReviewRules) Delete(c echo.Context) error {
	r, err := h.writableRule(c)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteReviewRule(c.Request().Context(), auth.Actor(c), r.ID); err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Rule %q deleted.", r.Name))
	return SeeOther(c, "/admin/review-rules")
}

// Move moves a rule one place up or down in its team's order.
func (h *ReviewRules) Move(c echo.Context) error {
	r, err := h.writableRule(c)
	if err != nil {
		return err
	}
	delta := 1
	switch c.FormValue("direction") {
	case "up":
		delta = -1
	case "down":
	default:
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "Move a rule up or down.")
	}
	if err := h.Store.MoveReviewRule(c.Request().Context(), auth.Actor(c), r.ID, delta); err != nil {
		return err
	}
	return SeeOther(c, fmt.Sprintf("/admin/review-rules#rule-%d", r.ID))
}
