package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// runtimeE2E is a real HTTP server on a fixture with an API client, a
// second team with its own server, and two more approvers.
type runtimeE2E struct {
	*fixture
	http         *httptest.Server
	clientID     string
	secret       string
	ana, bob     models.User // ana is the on-behalf-of user; both approve in the team
	otherServer  models.Server
	csrfCookie   *http.Cookie
	sessionCache map[uint]*http.Cookie
}

func newRuntimeE2E(t *testing.T, store *models.Store, clock *modeltest.Clock) *runtimeE2E {
	t.Helper()
	f := newFixtureOn(t, store, clock)
	e := &runtimeE2E{fixture: f, sessionCache: map[uint]*http.Cookie{}}
	e.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(e.http.Close)
	c, secret, err := store.CreateAPIClient(context.Background(), modeltest.Admin, models.APIClientInput{Name: "gateway",
		TeamID: f.team.ID, Scopes: []string{models.ScopeEvaluate}})
	if err != nil {
		t.Fatal(err)
	}
	e.clientID, e.secret = c.ClientID, secret
	e.ana = modeltest.MustUser(t, store, "ana@example.com", models.RoleApprover, f.team.ID)
	e.bob = modeltest.MustUser(t, store, "bob@example.com", models.RoleApprover, f.team.ID)
	other := modeltest.MustTeam(t, store, "growth")
	prod, _ := store.EnvironmentByName(context.Background(), "prod")
	e.otherServer, err = store.CreateServer(context.Background(), modeltest.Admin, models.ServerInput{Slug: "growth-prod", Name: "Growth",
		TeamID: other.ID, EnvironmentID: prod.ID, Transport: models.TransportStdio, Status: models.ServerActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateReviewRule(context.Background(), modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID,
		Name: "refunds need two", ToolPattern: "refund_*", Outcome: models.RuleReview, ApprovalsNeeded: 2, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

// send makes a request to the real server and decodes a JSON answer.
func (e *runtimeE2E) send(method, path string, body io.Reader, header http.Header, cookies ...*http.Cookie) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		e.t.Fatalf("%s %s: status %d, body is not JSON: %q", method, path, res.StatusCode, data)
	}
	return res.StatusCode, out
}

func (e *runtimeE2E) token() string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || out.TokenType != "Bearer" {
		e.t.Fatalf("token: status %d, %+v, %v", res.StatusCode, out, err)
	}
	if out.ExpiresIn <= 0 || out.ExpiresIn > 900 {
		e.t.Errorf("token lives %d s, want at most 15 minutes", out.ExpiresIn)
	}
	return out.AccessToken
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
}

func evaluation(resource, args string) string {
	return `{"subject":{"type":"agent","id":"support-bot","properties":{"on_behalf_of":"ana@example.com"}},
		"action":{"name":"tools/call"},"resource":{"type":"mcp_tool","id":"` + resource + `"},
		"context":{"arguments":` + args + `,"task_id":"T-981","justification":"customer ticket 4411"}}`
}

func (e *runtimeE2E) evaluate(token, resource, args string) (int, map[string]any) {
	return e.send(http.MethodPost, "/access/v1/evaluation", strings.NewReader(evaluation(resource, args)), bearer(token))
}

func outcome(body map[string]any) (string, map[string]any) {
	ctx, _ := body["context"].(map[string]any)
	o, _ := ctx["outcome"].(string)
	return o, ctx
}

// csrf returns the CSRF cookie the server hands out on any page.
func (e *runtimeE2E) csrf() *http.Cookie {
	if e.csrfCookie == nil {
		res, err := http.Get(e.http.URL + "/login")
		if err != nil {
			e.t.Fatal(err)
		}
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == "cs_csrf" {
				e.csrfCookie = &http.Cookie{Name: c.Name, Value: c.Value}
			}
		}
		if e.csrfCookie == nil {
			e.t.Fatal("no CSRF cookie")
		}
	}
	return e.csrfCookie
}

// decide approves or denies as a signed-in user over the API.
func (e *runtimeE2E) decide(u models.User, reviewID, verb, comment string) (int, map[string]any) {
	e.t.Helper()
	if e.sessionCache[u.ID] == nil {
		e.sessionCache[u.ID] = e.session(u)
	}
	csrf := e.csrf()
	body, _ := json.Marshal(map[string]string{"comment": comment})
	return e.send(http.MethodPost, "/api/v1/reviews/"+reviewID+"/"+verb, bytes.NewReader(body),
		http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {csrf.Value}}, e.sessionCache[u.ID], csrf)
}

func TestRuntimeAcceptanceOverHTTP(t *testing.T) {
	for _, engine := range modeltest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			clock := modeltest.NewClock()
			e := newRuntimeE2E(t, modeltest.Open(t, engine, clock), clock)
			token := e.token()
			args := `{"invoice":"INV-7","amount":120}`

			// A high-risk call on prod is held for review.
			status, body := e.evaluate(token, "billing-prod/refund_payment", args)
			o, ctx := outcome(body)
			if status != 200 || o != "review_required" || body["decision"] != false {
				t.Fatalf("first call: %d %v", status, body)
			}
			review := ctx["review"].(map[string]any)
			id := review["id"].(string)
			if review["approvals_needed"].(float64) != 2 || review["poll"] != "/api/v1/reviews/"+id {
				t.Errorf("review: %v", review)
			}
			// The same call while pending returns the same review.
			if _, again := e.evaluate(token, "billing-prod/refund_payment", args); again["context"].(map[string]any)["review"].(map[string]any)["id"] != id {
				t.Error("same pending call opened another review")
			}

			// The on-behalf-of user cannot approve; a second approval by the
			// same person does not count; two different approvers approve.
			if status, body := e.decide(e.ana, id, "approve", ""); status != http.StatusForbidden || body["error"] != "forbidden" {
				t.Errorf("requester's approval: %d %v", status, body)
			}
			if status, body := e.decide(e.bob, id, "approve", "ok"); status != 200 || body["status"] != "pending" {
				t.Fatalf("first approval: %d %v", status, body)
			}
			if status, body := e.decide(e.bob, id, "approve", "again"); status != http.StatusConflict || body["message"] == "" {
				t.Errorf("second approval by the same person: %d %v", status, body)
			}
			// The caller long-polls while the second approver decides.
			polled := make(chan map[string]any, 1)
			started := time.Now()
			go func() {
				_, b := e.send(http.MethodGet, "/api/v1/reviews/"+id+"?wait=10s", nil, bearer(token))
				polled <- b
			}()
			time.Sleep(300 * time.Millisecond)
			if status, body := e.decide(e.users["approver"], id, "approve", ""); status != 200 || body["status"] != "approved" {
				t.Fatalf("second approval: %d %v", status, body)
			}
			if b := <-polled; b["status"] != "approved" || time.Since(started) > 8*time.Second {
				t.Errorf("long poll: %v after %s", b, time.Since(started))
			}
			if status, _ := e.decide(e.bob, id, "deny", "too late"); status != http.StatusConflict {
				t.Errorf("decision on a decided request: %d", status)
			}

			// The same call is now allowed once, with its grant.
			status, body = e.evaluate(token, "billing-prod/refund_payment", args)
			if o, ctx := outcome(body); status != 200 || o != "allow" || body["decision"] != true || ctx["grant"] == nil {
				t.Fatalf("approved call: %d %v", status, body)
			}
			if _, body := e.evaluate(token, "billing-prod/refund_payment", args); body["decision"] != false {
				t.Errorf("grant used twice: %v", body)
			}
			_, body = e.evaluate(token, "billing-prod/refund_payment", `{"invoice":"INV-8","amount":5000}`)
			if o, _ := outcome(body); o != "review_required" {
				t.Errorf("call with other arguments: %v", body)
			}

			// Task completion revokes a live grant.
			_, body = e.evaluate(token, "billing-prod/refund_payment", `{"invoice":"INV-9"}`)
			_, ctx = outcome(body)
			id2 := ctx["review"].(map[string]any)["id"].(string)
			e.decide(e.bob, id2, "approve", "")
			if status, body := e.decide(e.users["approver"], id2, "approve", ""); status != 200 || body["grant"] == nil {
				t.Fatalf("approve second review: %d %v", status, body)
			}
			status, body = e.send(http.MethodPost, "/api/v1/tasks/T-981/complete", nil, bearer(token))
			if status != 200 || body["grants_revoked"].(float64) < 1 {
				t.Fatalf("task completion: %d %v", status, body)
			}
			if _, body := e.evaluate(token, "billing-prod/refund_payment", `{"invoice":"INV-9"}`); body["decision"] != false {
				t.Errorf("revoked grant still allows: %v", body)
			}

			// Another team's server is refused.
			if status, body := e.evaluate(token, "growth-prod/anything", `{}`); status != http.StatusForbidden || body["error"] != "forbidden" {
				t.Errorf("other team's server: %d %v", status, body)
			}
			// An expired token is refused at once.
			clock.Advance(models.APITokenLifetime + time.Second)
			if status, body := e.evaluate(token, "billing-prod/refund_payment", args); status != http.StatusUnauthorized || body["error"] != "invalid_token" {
				t.Errorf("expired token: %d %v", status, body)
			}
		})
	}
}

func TestRuntimeBadInput(t *testing.T) {
	clock := modeltest.NewClock()
	e := newRuntimeE2E(t, modeltest.OpenSQLite(t, clock), clock)
	token := e.token()
	adminSession, bobSession := e.session(e.users["admin"]), e.session(e.bob)
	e.sessionCache[e.bob.ID] = bobSession
	before, _ := e.store.AuditEvents(context.Background(), models.AuditFilter{})
	big := `{"subject":{"type":"agent","id":"x"},"action":{"name":"tools/call"},"resource":{"id":"billing-prod/refund_payment"},"context":{"arguments":{"blob":"` +
		strings.Repeat("a", 70<<10) + `"}}}`
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed JSON", `{"subject":`, 400, "invalid_json"},
		{"unknown top-level field", `{"subject":{"id":"x"},"action":{"name":"tools/call"},"resource":{"id":"billing-prod/refund_payment"},"surprise":1}`, 400, "invalid_json"},
		{"missing subject", `{"action":{"name":"tools/call"},"resource":{"id":"billing-prod/refund_payment"}}`, 400, "invalid_request"},
		{"wrong action", `{"subject":{"id":"x"},"action":{"name":"tools/list"},"resource":{"id":"billing-prod/refund_payment"}}`, 400, "invalid_request"},
		{"over 64 KiB", big, 413, "request_too_large"},
		{"empty body", ``, 400, "invalid_request"},
	} {
		status, body := e.send(http.MethodPost, "/access/v1/evaluation", strings.NewReader(c.body), bearer(token))
		if status != c.status || body["error"] != c.code || body["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, body, c.status, c.code)
		}
	}
	// No token, a wrong token, a session instead of a token.
	if status, body := e.send(http.MethodPost, "/access/v1/evaluation", strings.NewReader(evaluation("billing-prod/refund_payment", "{}")),
		http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {e.csrf().Value}}, adminSession, e.csrf()); status != 401 || body["error"] != "invalid_token" {
		t.Errorf("session instead of a token: %d %v", status, body)
	}
	if status, _ := e.evaluate("cst_wrong", "billing-prod/refund_payment", "{}"); status != 401 {
		t.Errorf("wrong token: %d", status)
	}
	// OAuth errors follow RFC 6749.
	for _, c := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {e.clientID}, "client_secret": {"nope"}}, 401, "invalid_client"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {e.clientID}, "client_secret": {e.secret}, "scope": {"admin"}}, 400, "invalid_scope"},
	} {
		status, body := e.send(http.MethodPost, "/oauth/token", strings.NewReader(c.form.Encode()),
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		if status != c.status || body["error"] != c.code {
			t.Errorf("token %v: %d %v", c.form, status, body)
		}
	}
	if status, body := e.send(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"},
		"client_id": {e.clientID}, "client_secret": {e.secret}}.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}); status != 200 || body["access_token"] == "" {
		t.Errorf("form credentials: %d %v", status, body)
	}
	// A cross-site POST with the approver's cookie but no CSRF token is refused.
	_, body := e.evaluate(token, "billing-prod/refund_payment", `{"n":1}`)
	_, ctx := outcome(body)
	id := ctx["review"].(map[string]any)["id"].(string)
	status, _ := e.send(http.MethodPost, "/api/v1/reviews/"+id+"/approve", strings.NewReader(`{}`),
		http.Header{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"cross-site"}}, bobSession)
	if status != http.StatusForbidden {
		t.Errorf("cross-site approve: %d", status)
	}
	status, _ = e.send(http.MethodPost, "/api/v1/reviews/"+id+"/approve", strings.NewReader(`{}`),
		http.Header{"Content-Type": {"application/json"}}, bobSession)
	if status != http.StatusForbidden {
		t.Errorf("approve without CSRF token: %d", status)
	}
	if status, body := e.decide(e.bob, id, "deny", ""); status != 422 || body["error"] != "invalid_input" {
		t.Errorf("deny without a comment: %d %v", status, body)
	}
	if status, _ := e.send(http.MethodGet, "/api/v1/reviews/"+id+"?wait=soon", nil, bearer(token)); status != 400 {
		t.Errorf("bad wait: %d", status)
	}
	if status, _ := e.send(http.MethodGet, "/api/v1/reviews/rv_unknown", nil, bearer(token)); status != 404 {
		t.Errorf("unknown review: %d", status)
	}
	r, _ := e.store.ReviewRequestByPublicID(context.Background(), id)
	if r.Approvals != 0 || r.Status != models.ReviewPending {
		t.Errorf("refused decisions changed the request: %+v", r)
	}
	// Refused requests changed nothing but the review opened above and the
	// second token (their audit events).
	after, _ := e.store.AuditEvents(context.Background(), models.AuditFilter{})
	if after.Total != before.Total+2 {
		t.Errorf("audit events: %d → %d, want +2 (a token and a review request)", before.Total, after.Total)
	}
	status, body = e.send(http.MethodGet, "/.well-known/authzen-configuration", nil, nil)
	if status != 200 || !strings.HasSuffix(body["access_evaluation_endpoint"].(string), "/access/v1/evaluation") {
		t.Errorf("configuration: %d %v", status, body)
	}
	if status, body := e.send(http.MethodGet, "/api/v1/openapi.json", nil, nil); status != 200 || body["openapi"] != "3.1.0" {
		t.Errorf("openapi: %d", status)
	}
	// A batch: one allowed, one of another team denied with a reason.
	batch := `{"subject":{"type":"agent","id":"support-bot"},"action":{"name":"tools/call"},
		"evaluations":[{"resource":{"id":"billing-prod/refund_payment"},"context":{"arguments":{"n":2}}},{"resource":{"id":"growth-prod/x"}}]}`
	status, body = e.send(http.MethodPost, "/access/v1/evaluations", strings.NewReader(batch), bearer(token))
	items, _ := body["evaluations"].([]any)
	if status != 200 || len(items) != 2 {
		t.Fatalf("batch: %d %v", status, body)
	}
	if second := items[1].(map[string]any); second["decision"] != false || second["context"].(map[string]any)["error"] != "forbidden" {
		t.Errorf("batch item of another team: %v", second)
	}
}
