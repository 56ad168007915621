package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Permissions of rotations.
var (
	RotationsRead  = authz.Permission{Object: authz.ObjRotations, Action: authz.ActRead}
	RotationsWrite = authz.Permission{Object: authz.ObjRotations, Action: authz.ActWrite}
)

// Rotations is the rotation calendar, the task lists, the task page with
// its completion form, and the signed webhook callback.
type Rotations struct {
	*Base
	Store *models.Store
}

// calendarDays is the window of the rotation calendar.
const calendarDays = 30

// Calendar lists the rotations due in the next 30 days, by team and
// environment, with the count per day.
func (h *Rotations) Calendar(c echo.Context) error {
	scope, err := h.Scope(c, RotationsRead)
	if err != nil {
		return err
	}
	f := models.CalendarFilter{ListParams: ListParams(c), Scope: scope, From: h.Store.Now(), Days: calendarDays}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	cal, err := h.Store.RotationCalendar(c.Request().Context(), f)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.RotationCalendarPage(views.RotationCalendarProps{Layout: h.Layout(c, "Rotation calendar"),
		Calendar: cal, Pager: PagerFor(c, cal.Page), Search: f.Search, Team: c.QueryParam("team"),
		Environment: c.QueryParam("environment"), Teams: teams, Environments: envs}))
}

// Tasks lists rotation tasks: overdue by default, or due, completed, or
// every open one; CSV and JSON export.
func (h *Rotations) Tasks(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, RotationsRead)
	if err != nil {
		return err
	}
	state := c.QueryParam("state")
	f := models.RotationTaskFilter{ListParams: ListParams(c), Scope: scope}
	switch state {
	case "", "overdue":
		state, f.State = "overdue", models.TaskOverdue
	case "due":
		f.State = models.TaskDue
	case "completed":
		f.State = models.TaskCompleted
	case "open":
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Choose overdue, due, open or completed.")
	}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	if format := c.QueryParam("format"); format != "" {
		cols := []string{"task", "credential", "team", "environment", "owner", "state", "due_at", "overdue_after", "completed_at", "completed_by", "method", "late"}
		now := h.Store.Now()
		return Export(c, format, "rotations-"+state, cols, func(r models.RotationTaskRow) []string {
			return []string{fmt.Sprint(r.ID), r.CredentialName, r.TeamName, r.EnvironmentName, r.OwnerName, string(r.State),
				timeCell(&r.DueAt), timeCell(&r.GraceUntil), timeCell(r.CompletedAt), r.CompletedBy, r.Method, fmt.Sprint(r.Late(now))}
		}, func(p models.ListParams) (models.Page[models.RotationTaskRow], error) {
			g := f
			g.ListParams = p
			return h.Store.RotationTasks(ctx, g)
		}, f.ListParams)
	}
	page, err := h.Store.RotationTasks(ctx, f)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.RotationTasksPage(views.RotationTasksProps{Layout: h.Layout(c, "Rotation tasks"),
		Page: page, Pager: PagerFor(c, page), State: state, Search: f.Search, Team: c.QueryParam("team"),
		Environment: c.QueryParam("environment"), Teams: teams, Environments: envs, Now: h.Store.Now()}))
}

// Show renders a task with its credential, the credential's earlier
// rotations, and the completion form for governance.
func (h *Rotations) Show(c echo.Context) error {
	return h.renderTask(c, http.StatusOK, views.RotationForm{})
}

func (h *Rotations) renderTask(c echo.Context, status int, form views.RotationForm) error {
	ctx := c.Request().Context()
	task, err := h.readableTask(c)
	if err != nil {
		return err
	}
	history, err := h.Store.RotationTasks(ctx, models.RotationTaskFilter{ListParams: models.ListParams{PerPage: 20},
		Scope: models.AllTeams, State: models.TaskCompleted, CredentialID: task.CredentialID})
	if err != nil {
		return err
	}
	canWrite, err := h.Can(c, task.TeamID, RotationsWrite)
	if err != nil {
		return err
	}
	props := views.RotationTaskProps{Layout: h.Layout(c, "Rotation of "+task.Credential.Name), Task: task, History: history.Items,
		CanWrite: canWrite, Form: form, Now: h.Store.Now(), Fingerprinting: h.Store.Fingerprinter() != nil}
	if canWrite && task.Credential.RotationWebhookURL != "" {
		props.WebhookSecret, _ = h.Store.RotationWebhookSecret(task.CredentialID)
	}
	return Render(c, status, views.RotationTaskPage(props))
}

func (h *Rotations) readableTask(c echo.Context) (models.RotationTask, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.RotationTask{}, err
	}
	task, err := h.Store.RotationTaskByID(c.Request().Context(), id)
	if err != nil {
		return task, err
	}
	if ok, err := h.Can(c, task.TeamID, RotationsRead); err != nil {
		return task, err
	} else if !ok {
		return task, models.ErrNotFound
	}
	return task, nil
}

// Complete records a rotation from the task page: the pasted secret
// (fingerprinted, never kept) or a confirming note.
func (h *Rotations) Complete(c echo.Context) error {
	task, err := h.readableTask(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, task.TeamID, RotationsWrite); err != nil {
		return err
	}
	form := views.RotationForm{Note: c.FormValue("note")}
	in := models.RotationCompletion{Secret: c.FormValue("secret"), Note: form.Note}
	_, err = h.Store.CompleteRotation(c.Request().Context(), auth.Actor(c), task.ID, models.RotationByConfirm, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields // the secret is never echoed back
		return h.renderTask(c, http.StatusUnprocessableEntity, form)
	}
	if errors.Is(err, models.ErrInvalidTransition) {
		form.Message = userMessage(err)
		return h.renderTask(c, http.StatusConflict, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", "Rotation recorded. The next one is scheduled.")
	return SeeOther(c, fmt.Sprintf("/rotations/tasks/%d", task.ID))
}

// SetWebhook sets or clears a credential's rotation webhook.
func (h *Rotations) SetWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	cred, err := h.Store.CredentialByID(ctx, id)
	if err != nil {
		return err
	}
	if err := h.Require(c, cred.TeamID, RotationsWrite); err != nil {
		return err
	}
	form := views.RotationWebhookForm{URL: c.FormValue("rotation_webhook_url")}
	err = h.Store.SetRotationWebhook(ctx, auth.Actor(c), id, form.URL)
	if fields := Errors(err); fields != nil {
		form.Error = fields["rotation_webhook_url"]
		return renderCredentialPage(c, h.Base, h.Store, http.StatusUnprocessableEntity, cred, form)
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", "Rotation webhook saved.")
	return SeeOther(c, fmt.Sprintf("/credentials/%d", id))
}

// callbackBody is the JSON an external rotation system posts back.
type callbackBody struct {
	Note   string `json:"note"`
	Secret string `json:"secret"`
}

// Callback completes a task from the credential's rotation webhook: the
// body must carry the X-Countersign-Signature of the credential's webhook
// secret. Bad or missing signatures are 401 with nothing changed.
func (h *Rotations) Callback(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return NewAPIError(http.StatusNotFound, "not_found", "No such rotation task.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxAPIBody))
	if err != nil {
		return NewAPIError(http.StatusRequestEntityTooLarge, "too_large", "The body is larger than 64 KiB.")
	}
	ctx := c.Request().Context()
	task, err := h.Store.VerifyRotationCallback(ctx, id, body, c.Request().Header.Get(models.RotationSignatureHd))
	if errors.Is(err, models.ErrUnauthenticated) {
		return NewAPIError(http.StatusUnauthorized, "bad_signature",
			"Sign the exact body with the credential's webhook secret: "+models.RotationSignatureHd+": sha256=<hex HMAC-SHA-256>.")
	}
	if err != nil {
		return err
	}
	var in callbackBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return NewAPIError(http.StatusBadRequest, "invalid_json", "Send a JSON object with note and, optionally, secret.")
	}
	if in.Note == "" && in.Secret == "" {
		in.Note = "Rotated by the rotation webhook."
	}
	done, err := h.Store.CompleteRotation(ctx, models.Actor{Label: "rotation webhook"}, task.ID, models.RotationByWebhook,
		models.RotationCompletion{Secret: in.Secret, Note: in.Note})
	if v, ok := models.AsValidation(err); ok {
		return NewAPIError(http.StatusUnprocessableEntity, "invalid_request", v.Error())
	}
	if errors.Is(err, models.ErrInvalidTransition) {
		return NewAPIError(http.StatusConflict, "already_completed", "This rotation was already completed.")
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.JSON(http.StatusOK, map[string]any{"task": done.ID, "state": done.State, "completed_at": done.CompletedAt})
}
