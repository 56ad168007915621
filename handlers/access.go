package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Access serves machine clients: the OAuth 2.0 token endpoint, the AuthZEN
// decision endpoints, review status (with long poll) and task completion.
type Access struct {
	Store *models.Store
	// PollInterval is how often a long poll reads the request (default 250 ms).
	PollInterval time.Duration
}

// MaxBatch bounds the evaluations of one batch request.
const MaxBatch = 50

// MaxWait caps the long poll of a review's status.
const MaxWait = 30 * time.Second

// oauthError answers an RFC 6749 §5.2 error.
func oauthError(c echo.Context, status int, code, description string) error {
	return c.JSON(status, map[string]string{"error": code, "error_description": description, "message": description})
}

// Token is the OAuth 2.0 client-credentials grant (RFC 6749 §4.4). The
// client authenticates with HTTP Basic or with client_id and client_secret
// form fields (not both); the answer is a bearer token of at most 15 minutes.
func (h *Access) Token(c echo.Context) error {
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, MaxAPIBody)
	if ct := req.Header.Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationForm) {
		return oauthError(c, http.StatusBadRequest, "invalid_request", "Send the parameters as application/x-www-form-urlencoded.")
	}
	if err := req.ParseForm(); err != nil {
		return oauthError(c, http.StatusBadRequest, "invalid_request", "The form could not be read.")
	}
	form := req.PostForm
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return oauthError(c, http.StatusBadRequest, "invalid_request", "grant_type is required (client_credentials).")
	default:
		return oauthError(c, http.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
	}
	id, secret, basic := req.BasicAuth()
	if basic {
		if form.Get("client_id") != "" && form.Get("client_id") != id || form.Get("client_secret") != "" {
			return oauthError(c, http.StatusBadRequest, "invalid_request", "Authenticate with HTTP Basic or with form fields, not both.")
		}
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		return h.invalidClient(c, basic)
	}
	token, tok, _, err := h.Store.IssueAPIToken(req.Context(), id, secret, strings.Fields(form.Get("scope")))
	switch {
	case errors.Is(err, models.ErrUnauthenticated):
		return h.invalidClient(c, basic)
	case errors.Is(err, models.ErrForbidden):
		return oauthError(c, http.StatusBadRequest, "invalid_scope", "The client does not hold the requested scope.")
	case err != nil:
		return err
	}
	c.Response().Header().Set("Pragma", "no-cache")
	return c.JSON(http.StatusOK, map[string]any{"access_token": token, "token_type": "Bearer",
		"expires_in": int(tok.ExpiresAt.Sub(h.Store.Now()).Seconds()), "scope": strings.ReplaceAll(tok.Scopes, ",", " ")})
}

func (h *Access) invalidClient(c echo.Context, basic bool) error {
	if basic {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="countersign"`)
	}
	return oauthError(c, http.StatusUnauthorized, "invalid_client", "Unknown client, wrong secret, or revoked client.")
}

// Configuration is the AuthZEN PDP metadata document.
func (h *Access) Configuration(c echo.Context) error {
	base := c.Scheme() + "://" + c.Request().Host
	return c.JSON(http.StatusOK, map[string]any{
		"policy_decision_point":       base,
		"access_evaluation_endpoint":  base + "/access/v1/evaluation",
		"access_evaluations_endpoint": base + "/access/v1/evaluations",
		"token_endpoint":              base + "/oauth/token",
	})
}

// authzenEntity is an AuthZEN subject or resource.
type authzenEntity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// authzenAction is an AuthZEN action.
type authzenAction struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// evaluationBody is one AuthZEN access evaluation request. The context is
// open (AuthZEN lets callers add to it); arguments, task_id and
// justification are read from it.
type evaluationBody struct {
	Subject  *authzenEntity             `json:"subject"`
	Action   *authzenAction             `json:"action"`
	Resource *authzenEntity             `json:"resource"`
	Context  map[string]json.RawMessage `json:"context"`
}

// batchBody is an AuthZEN evaluations request: defaults at the top level,
// overridden per item.
type batchBody struct {
	evaluationBody
	Evaluations []evaluationBody `json:"evaluations"`
}

// merged returns the item with the batch's defaults filled in.
func (b evaluationBody) merged(defaults evaluationBody) evaluationBody {
	if b.Subject == nil {
		b.Subject = defaults.Subject
	}
	if b.Action == nil {
		b.Action = defaults.Action
	}
	if b.Resource == nil {
		b.Resource = defaults.Resource
	}
	if b.Context == nil {
		b.Context = defaults.Context
	}
	return b
}

// toRequest turns the AuthZEN body into the store's request.
func (b evaluationBody) toRequest() (models.EvaluationRequest, error) {
	var in models.EvaluationRequest
	v := models.NewValidationError()
	if b.Subject == nil {
		v.Add("subject", "The subject is required.")
	} else {
		in.Subject, in.SubjectType = b.Subject.ID, b.Subject.Type
		if obo, ok := b.Subject.Properties["on_behalf_of"]; ok {
			if s, isString := obo.(string); isString {
				in.OnBehalfOf = s
			} else {
				v.Add("subject.properties.on_behalf_of", "Give the user's email as a string.")
			}
		}
	}
	if b.Action == nil {
		v.Add("action", "The action is required.")
	} else {
		in.Action = b.Action.Name
	}
	if b.Resource == nil {
		v.Add("resource", "The resource is required.")
	} else {
		in.Resource = b.Resource.ID
		if b.Resource.Type != "" && b.Resource.Type != "mcp_tool" {
			v.Add("resource.type", `Use the resource type "mcp_tool".`)
		}
	}
	if raw, ok := b.Context["arguments"]; ok {
		in.Arguments = raw
	}
	for key, dst := range map[string]*string{"task_id": &in.TaskID, "justification": &in.Justification} {
		if raw, ok := b.Context[key]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, dst); err != nil {
				v.Add("context."+key, "Give a string.")
			}
		}
	}
	// The store validates the request itself (Store.Evaluate), once.
	return in, v.Err()
}

// Evaluate answers one AuthZEN access evaluation.
func (h *Access) Evaluate(c echo.Context) error {
	var body evaluationBody
	if err := DecodeJSON(c, &body); err != nil {
		return err
	}
	out, err := h.evaluate(c, body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// EvaluateBatch answers an AuthZEN evaluations request: each item is
// evaluated on its own, with the top-level fields as defaults. An item
// that is malformed or names another team's server is denied with the
// reason; the others are unaffected.
func (h *Access) EvaluateBatch(c echo.Context) error {
	var body batchBody
	if err := DecodeJSON(c, &body); err != nil {
		return err
	}
	if len(body.Evaluations) == 0 {
		return NewAPIError(http.StatusBadRequest, "invalid_request", "evaluations must hold at least one item.")
	}
	if len(body.Evaluations) > MaxBatch {
		return NewAPIError(http.StatusBadRequest, "invalid_request", fmt.Sprintf("Send at most %d evaluations at once.", MaxBatch))
	}
	results := make([]evaluationAnswer, 0, len(body.Evaluations))
	for _, item := range body.Evaluations {
		out, err := h.evaluate(c, item.merged(body.evaluationBody))
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) {
				return err
			}
			out = evaluationAnswer{Context: answerContext{Outcome: models.OutcomeDeny, Error: ae.Code, Reason: ae.Message}}
		}
		results = append(results, out)
	}
	return c.JSON(http.StatusOK, struct {
		Evaluations []evaluationAnswer `json:"evaluations"`
	}{results})
}

func (h *Access) evaluate(c echo.Context, body evaluationBody) (evaluationAnswer, error) {
	client, ok := auth.CurrentClient(c)
	if !ok {
		return evaluationAnswer{}, NewAPIError(http.StatusUnauthorized, "invalid_token", "Send a bearer token.")
	}
	in, err := body.toRequest()
	if v, isValidation := models.AsValidation(err); isValidation {
		return evaluationAnswer{}, NewAPIError(http.StatusBadRequest, "invalid_request", v.Error())
	}
	d, err := h.Store.Evaluate(c.Request().Context(), client, in)
	switch {
	case errors.Is(err, models.ErrForbidden):
		return evaluationAnswer{}, NewAPIError(http.StatusForbidden, "forbidden", "This API client may only ask about servers of its own team.")
	case err != nil:
		if v, isValidation := models.AsValidation(err); isValidation {
			return evaluationAnswer{}, NewAPIError(http.StatusBadRequest, "invalid_request", v.Error())
		}
		return evaluationAnswer{}, err
	}
	return decisionJSON(c, d), nil
}

// evaluationAnswer is the AuthZEN answer with Countersign's explanation in
// its context.
type evaluationAnswer struct {
	Decision bool          `json:"decision"`
	Context  answerContext `json:"context"`
}

// answerContext explains a decision: the outcome and why, the recorded
// decision's id, the tool's risk, and the rule, grant or review involved.
// A batch item refused before any decision carries an error code instead
// of an id.
type answerContext struct {
	Outcome     models.DecisionOutcome `json:"outcome"`
	Reason      string                 `json:"reason"`
	Error       string                 `json:"error,omitempty"`
	DecisionID  *uint                  `json:"decision_id,omitempty"`
	Risk        models.Risk            `json:"risk,omitempty"`
	RiskReasons []string               `json:"risk_reasons,omitempty"`
	Rule        *answerRule            `json:"rule,omitempty"`
	Grant       *answerGrant           `json:"grant,omitempty"`
	Review      *answerReview          `json:"review,omitempty"`
}

type answerRule struct {
	ID   uint   `json:"id"`
	Name string `json:"name"`
}

type answerGrant struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
	Uses      int       `json:"uses"`
	MaxUses   int       `json:"max_uses"`
}

type answerReview struct {
	ID              string              `json:"id"`
	Status          models.ReviewStatus `json:"status"`
	URL             string              `json:"url"`
	Poll            string              `json:"poll"`
	ExpiresAt       time.Time           `json:"expires_at"`
	Approvals       int                 `json:"approvals"`
	ApprovalsNeeded int                 `json:"approvals_needed"`
}

// decisionJSON is the answer to one evaluation.
func decisionJSON(c echo.Context, d models.Decision) evaluationAnswer {
	id := d.ID
	out := evaluationAnswer{Decision: d.Allowed(), Context: answerContext{Outcome: d.Outcome, Reason: d.Reason, DecisionID: &id}}
	if d.Risk != "" {
		out.Context.Risk, out.Context.RiskReasons = d.Risk, d.RiskReasons
	}
	if d.RuleID != nil {
		out.Context.Rule = &answerRule{ID: *d.RuleID, Name: d.RuleName}
	}
	if g := d.Grant; g != nil {
		out.Context.Grant = &answerGrant{ID: g.PublicID, ExpiresAt: g.ExpiresAt, Uses: g.Uses, MaxUses: g.MaxUses}
	}
	if r := d.Review; r != nil {
		out.Context.Review = &answerReview{ID: r.PublicID, Status: r.Status, URL: c.Scheme() + "://" + c.Request().Host + "/reviews/" + r.PublicID,
			Poll: "/api/v1/reviews/" + r.PublicID, ExpiresAt: r.Deadline, Approvals: r.Approvals, ApprovalsNeeded: r.ApprovalsNeeded}
	}
	return out
}

// Review returns a review request's status to the client's team. With
// ?wait=25s (at most 30 s) it long-polls: it answers as soon as the request
// leaves pending, or when the wait ends.
func (h *Access) Review(c echo.Context) error {
	client, _ := auth.CurrentClient(c)
	wait, err := parseWait(c.QueryParam("wait"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := h.Store.ReviewRequestByPublicID(ctx, c.Param("id"))
	if err != nil || r.TeamID != client.TeamID {
		return NewAPIError(http.StatusNotFound, "not_found", "No review request with this id for this client's team.")
	}
	interval := h.PollInterval
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	end := time.Now().Add(wait)
	for r.Pending(h.Store.Now()) && time.Now().Add(interval).Before(end) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
		if r, err = h.Store.ReviewRequestByID(ctx, r.ID); err != nil {
			return err
		}
	}
	out, err := reviewJSON(c, h.Store, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// parseWait reads ?wait=25s or ?wait=25 (seconds), capped at MaxWait.
func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.Atoi(s)
		if nerr != nil {
			return 0, NewAPIError(http.StatusBadRequest, "invalid_request", `wait must be a duration such as "25s".`)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, NewAPIError(http.StatusBadRequest, "invalid_request", "wait must not be negative.")
	}
	if d > MaxWait {
		d = MaxWait
	}
	return d, nil
}

// reviewJSON is the status of a review request; a pending request past its
// deadline reads as expired even before the expiry job marks it.
func reviewJSON(c echo.Context, store *models.Store, r models.ReviewRequest) (map[string]any, error) {
	status := r.Status
	if status == models.ReviewPending && !r.Pending(store.Now()) {
		status = models.ReviewExpired
	}
	out := map[string]any{"id": r.PublicID, "status": status, "approvals": r.Approvals, "approvals_needed": r.ApprovalsNeeded,
		"expires_at": r.Deadline, "decided_at": r.DecidedAt, "task_id": r.TaskID, "risk": r.Risk, "rule": r.RuleName,
		"url": c.Scheme() + "://" + c.Request().Host + "/reviews/" + r.PublicID}
	if r.Status == models.ReviewApproved {
		grants, err := store.GrantsOfReview(c.Request().Context(), r.ID)
		if err != nil {
			return nil, err
		}
		if len(grants) > 0 {
			g := grants[0]
			out["grant"] = map[string]any{"id": g.PublicID, "expires_at": g.ExpiresAt, "uses": g.Uses, "max_uses": g.MaxUses,
				"state": g.State(store.Now())}
		}
	}
	return out, nil
}

// CompleteTask reports a task done: every grant of the task is revoked and
// its pending reviews cancelled.
func (h *Access) CompleteTask(c echo.Context) error {
	client, _ := auth.CurrentClient(c)
	taskID := c.Param("task_id")
	res, err := h.Store.CompleteTask(c.Request().Context(), auth.ClientActor(c), client.TeamID, taskID)
	if v, ok := models.AsValidation(err); ok {
		return NewAPIError(http.StatusBadRequest, "invalid_request", v.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"task_id": taskID, "grants_revoked": res.GrantsRevoked, "reviews_cancelled": res.ReviewsCancelled})
}
