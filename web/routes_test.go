package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/authz"
)

// Who may use each route. "public": anyone; "signed-in": any signed-in user,
// even one with no role; otherwise the roles listed. This table is written
// by hand from PRODUCT.md, independently of policy.csv: a change to either
// that is not made to the other fails the test.
var routeAccess = map[string][]string{
	"GET /healthz":  {"public"},
	"GET /readyz":   {"public"},
	"GET /metrics":  {"public"},
	"GET /static/*": {"public"},
	"GET /login":    {"public"},
	"POST /login":   {"public"},

	"POST /logout":                   {"signed-in"},
	"GET /desktop/signin":            {"public"},
	"POST /desktop/quit":             {"signed-in"},
	"GET /account/sessions":          {"signed-in"},
	"POST /account/sessions/end-all": {"signed-in"},
	"POST /account/sessions/:id/end": {"signed-in"},
	"GET /":                          {"signed-in"},

	"GET /servers":                   readers,
	"GET /servers/new":               {"governance"},
	"POST /servers":                  {"governance"},
	"GET /servers/:id":               readers,
	"GET /servers/:id/edit":          {"governance"},
	"POST /servers/:id":              {"governance"},
	"GET /servers/:id/tools/new":     {"governance"},
	"POST /servers/:id/tools":        {"governance"},
	"POST /servers/:id/tools/import": {"governance"},
	"GET /tools/:id":                 readers,
	"POST /tools/:id/risk":           {"governance"},
	"POST /tools/:id/review":         {"governance"},
	"POST /tools/:id/delete":         {"governance"},

	"GET /credentials":              readers,
	"GET /credentials/new":          {"governance"},
	"POST /credentials":             {"governance"},
	"GET /credentials/:id":          readers,
	"GET /credentials/:id/edit":     {"governance"},
	"POST /credentials/:id":         {"governance"},
	"POST /credentials/:id/revoke":  {"governance"},
	"POST /credentials/:id/delete":  {"governance"},
	"GET /findings":                 readers,
	"GET /findings/rules":           readers,
	"GET /findings/:id":             readers,
	"POST /findings/:id/exceptions": {"admin", "governance"},
	"GET /exceptions":               readers,
	"POST /exceptions/:id/approve":  {"admin", "governance"},
	"POST /exceptions/:id/reject":   {"admin", "governance"},
	// Key policies. Environment defaults are org-wide, but no role holds
	// inventory:write org-wide: governance of any team writes them (see
	// handlers.Base.CanWriteDefaults); admin, like for servers, does not.
	"GET /servers/:id/key-types/new":      {"governance"},
	"POST /servers/:id/key-types":         {"governance"},
	"GET /key-types/preview":              readers,
	"GET /key-types/:id/edit":             {"governance"},
	"POST /key-types/:id":                 {"governance"},
	"POST /key-types/:id/delete":          {"governance"},
	"GET /environments":                   readers,
	"GET /environments/:id":               readers,
	"GET /environments/:id/key-types/new": {"governance"},
	"POST /environments/:id/key-types":    {"governance"},
	"GET /import":                         {"governance"},
	"POST /import/preview":                {"governance"},
	"POST /import/apply":                  {"governance"},

	"GET /api/v1/openapi.json":                {"public"},
	"GET /api/v1/servers":                     readers,
	"POST /api/v1/servers":                    {"governance"},
	"GET /api/v1/servers/:id":                 readers,
	"PUT /api/v1/servers/:id":                 {"governance"},
	"GET /api/v1/servers/:id/tools":           readers,
	"POST /api/v1/servers/:id/tools":          {"governance"},
	"GET /api/v1/tools/:id":                   readers,
	"GET /api/v1/servers/:id/key-types":       readers,
	"POST /api/v1/servers/:id/key-types":      {"governance"},
	"PUT /api/v1/key-types/:id":               {"governance"},
	"DELETE /api/v1/key-types/:id":            {"governance"},
	"GET /api/v1/environments/:id/key-types":  readers,
	"POST /api/v1/environments/:id/key-types": {"governance"},
	"GET /api/v1/credentials":                 readers,
	"POST /api/v1/credentials":                {"governance"},
	"GET /api/v1/credentials/:id":             readers,
	"PUT /api/v1/credentials/:id":             {"governance"},
	"DELETE /api/v1/credentials/:id":          {"governance"},

	// Runtime decisions. "client": an API client's bearer token, never a
	// person's session (every role is refused with 401, like a signed-out
	// caller).
	"POST /oauth/token":                                   {"public"},
	"GET /.well-known/authzen-configuration":              {"public"},
	"POST /access/v1/evaluation":                          {"client"},
	"POST /access/v1/evaluations":                         {"client"},
	"GET /api/v1/reviews/:id":                             {"client"},
	"POST /api/v1/tasks/:task_id/complete":                {"client"},
	"POST /mcp/:slug":                                     {"client"},
	"GET /mcp/:slug":                                      {"client"},
	"DELETE /mcp/:slug":                                   {"client"},
	"GET /.well-known/oauth-protected-resource/mcp/:slug": {"public"},
	"GET /.well-known/oauth-authorization-server":         {"public"},
	"POST /api/v1/reviews/:id/approve":                    {"approver"},
	"POST /api/v1/reviews/:id/deny":                       {"approver"},

	// Runtime review pages: the queue is read by approvers, admins,
	// managers and auditors; only approvers decide; grants are revoked by
	// approvers and admins.
	"GET /reviews":              reviewReaders,
	"GET /reviews/live":         reviewReaders,
	"GET /reviews/badge":        reviewReaders,
	"GET /reviews/:id":          reviewReaders,
	"POST /reviews/:id/approve": {"approver"},
	"POST /reviews/:id/deny":    {"approver"},
	"GET /grants":               reviewReaders,
	"POST /grants/:id/revoke":   {"admin", "approver"},

	"GET /admin/review-rules":                    {"admin", "governance", "approver", "auditor"},
	"GET /admin/review-rules/new":                {"admin"},
	"POST /admin/review-rules":                   {"admin"},
	"GET /admin/review-rules/:id/edit":           {"admin"},
	"POST /admin/review-rules/:id":               {"admin"},
	"POST /admin/review-rules/:id/move":          {"admin"},
	"POST /admin/review-rules/:id/delete":        {"admin"},
	"GET /admin/clients":                         {"admin", "auditor"},
	"GET /admin/clients/new":                     {"admin"},
	"POST /admin/clients":                        {"admin"},
	"POST /admin/clients/:id/rotate":             {"admin"},
	"POST /admin/clients/:id/webhook":            {"admin"},
	"POST /admin/clients/:id/revoke":             {"admin"},
	"GET /admin/notifications":                   {"admin", "auditor"},
	"GET /admin/notifications/new":               {"admin"},
	"POST /admin/notifications":                  {"admin"},
	"GET /admin/notifications/:id/edit":          {"admin"},
	"POST /admin/notifications/:id":              {"admin"},
	"POST /admin/notifications/:id/delete":       {"admin"},
	"POST /admin/notifications/outbox/:id/retry": {"admin"},

	"GET /reports":               {"admin", "manager", "auditor"},
	"GET /reports/frameworks":    {"admin", "manager", "auditor"},
	"GET /reports/reviews":       {"admin", "manager", "auditor"},
	"GET /reports/rotations":     {"admin", "manager", "auditor"},
	"GET /reports/evidence-pack": {"manager", "auditor"},
	"GET /reports/evidence":      {"manager", "auditor"},

	// Rotations. "signature": authenticated by the body's signature, so
	// every session and a signed-out caller get 401 without one.
	"GET /rotations":                         {"admin", "governance", "manager", "auditor"},
	"GET /rotations/tasks":                   {"admin", "governance", "manager", "auditor"},
	"GET /rotations/tasks/:id":               {"admin", "governance", "manager", "auditor"},
	"POST /rotations/tasks/:id/complete":     {"governance"},
	"POST /credentials/:id/rotation-webhook": {"governance"},
	"POST /api/v1/rotations/:id/complete":    {"signature"},
	"GET /admin/jobs":                        {"admin", "auditor"},
	"POST /admin/jobs/:name/run":             {"admin"},

	"GET /audit":         {"admin", "auditor"},
	"POST /audit/verify": {"admin", "auditor"},

	"GET /admin/teams":          {"admin", "governance", "approver", "manager", "auditor"},
	"GET /admin/teams/new":      {"admin"},
	"POST /admin/teams":         {"admin"},
	"GET /admin/teams/:id":      {"admin", "governance", "approver", "manager", "auditor"},
	"GET /admin/teams/:id/edit": {"admin"},
	"POST /admin/teams/:id":     {"admin"},

	"GET /admin/users":                        {"admin", "auditor"},
	"GET /admin/users/new":                    {"admin"},
	"POST /admin/users":                       {"admin"},
	"GET /admin/users/:id":                    {"admin", "auditor"},
	"POST /admin/users/:id/deactivate":        {"admin"},
	"POST /admin/users/:id/reactivate":        {"admin"},
	"POST /admin/users/:id/password":          {"admin"},
	"POST /admin/users/:id/roles":             {"admin"},
	"POST /admin/users/:id/roles/:rid/revoke": {"admin"},
}

// reviewReaders are the roles that read the review requests of their teams.
var reviewReaders = []string{"admin", "approver", "manager", "auditor"}

// readers are the roles that read the inventory of their teams.
var readers = []string{"admin", "governance", "approver", "manager", "auditor"}

var allRoles = []string{"admin", "governance", "approver", "manager", "auditor", "none"}

func TestEveryRouteTimesEveryRole(t *testing.T) {
	f := newFixture(t)
	routes := f.srv.Routes()
	declared := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		declared[key] = true
		want, ok := routeAccess[key]
		if !ok {
			t.Errorf("route %s (permission %s) is missing from routeAccess: add who may use it", key, r.Permission)
			continue
		}
		checkDeclaration(t, key, r.Permission, want)
		path := f.concretePath(r.Path)
		if contains(want, "signature") {
			for _, role := range append(allRoles, "signed-out") {
				var cookie *http.Cookie
				if role != "signed-out" {
					cookie = f.session(f.users[role])
				}
				if rec := f.do(r.Method, path, cookie, f.formFor(key)); rec.Code != http.StatusUnauthorized {
					t.Errorf("%s as %s without a signature: status %d, want 401", key, role, rec.Code)
				}
			}
			continue
		}
		if contains(want, "client") {
			for _, role := range allRoles {
				if rec := f.do(r.Method, path, f.session(f.users[role]), f.formFor(key)); rec.Code != http.StatusUnauthorized {
					t.Errorf("%s as %s with a session: status %d, want 401 (bearer token only)", key, role, rec.Code)
				}
			}
			if rec := f.do(r.Method, path, nil, f.formFor(key)); rec.Code != http.StatusUnauthorized {
				t.Errorf("%s signed out: status %d, want 401", key, rec.Code)
			}
			continue
		}
		for _, role := range allRoles {
			allowed := contains(want, "public") || contains(want, "signed-in") || contains(want, role)
			rec := f.do(r.Method, path, f.session(f.users[role]), f.formFor(r.Method+" "+r.Path))
			switch {
			case rec.Code >= 500:
				t.Errorf("%s as %s: status %d (server error)", key, role, rec.Code)
			case allowed && (rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized):
				t.Errorf("%s as %s: status %d, want access", key, role, rec.Code)
			case !allowed && rec.Code != http.StatusForbidden:
				t.Errorf("%s as %s: status %d, want 403", key, role, rec.Code)
			}
		}
		// Signed out: only public routes answer; pages redirect to sign-in.
		rec := f.do(r.Method, path, nil, f.formFor(key))
		if !contains(want, "public") {
			api := strings.HasPrefix(r.Path, "/api/")
			if api && rec.Code != http.StatusUnauthorized {
				t.Errorf("%s signed out: status %d, want 401 (JSON API)", key, rec.Code)
			}
			if !api && r.Method == http.MethodGet && (rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?next=")) {
				t.Errorf("%s signed out: status %d to %q, want a redirect to sign-in", key, rec.Code, rec.Header().Get("Location"))
			}
			if r.Method != http.MethodGet && rec.Code != http.StatusUnauthorized {
				t.Errorf("%s signed out: status %d, want 401", key, rec.Code)
			}
		}
	}
	var stale []string
	for key := range routeAccess {
		if !declared[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("routeAccess lists routes that do not exist: %v", stale)
	}
}

// checkDeclaration checks that the route's declared permission matches the
// kind of access the table expects.
func checkDeclaration(t *testing.T, key string, p authz.Permission, want []string) {
	switch {
	case (contains(want, "public") || contains(want, "signature")) && p != authz.Public:
		t.Errorf("%s should be public at the route, declares %s", key, p)
	case contains(want, "signed-in") && p != authz.SignedIn:
		t.Errorf("%s should need only a sign-in, declares %s", key, p)
	case contains(want, "client") != (p.Object == authz.ObjClient):
		t.Errorf("%s: table says %v, route declares %s", key, want, p)
	case !contains(want, "public") && !contains(want, "signature") && p == authz.Public:
		t.Errorf("%s is public but the table restricts it to %v", key, want)
	}
}

// concretePath fills a route pattern with ids of existing objects.
func (f *fixture) concretePath(pattern string) string {
	r := strings.NewReplacer(":rid", "999999", ":id", fmt.Sprint(f.idFor(pattern)), ":name", "exceptions-expire", ":slug", "billing-prod", "*", "css/app.css")
	return r.Replace(pattern)
}

func (f *fixture) idFor(pattern string) uint {
	switch {
	case strings.HasPrefix(pattern, "/api/v1/"):
		return f.idFor(strings.TrimPrefix(pattern, "/api/v1"))
	case strings.HasPrefix(pattern, "/reviews"):
		return f.reviewID()
	case strings.HasPrefix(pattern, "/grants"):
		return f.grantID()
	case strings.HasPrefix(pattern, "/admin/review-rules"):
		return f.ruleID()
	case strings.HasPrefix(pattern, "/admin/clients"):
		return f.clientID()
	case strings.HasPrefix(pattern, "/admin/notifications/outbox"):
		return f.failedOutboxID()
	case strings.HasPrefix(pattern, "/admin/notifications"):
		return f.channelID()
	case strings.HasPrefix(pattern, "/admin/teams"):
		return f.team.ID
	case strings.HasPrefix(pattern, "/account/sessions"):
		return 999999
	case strings.HasPrefix(pattern, "/servers"):
		return f.server.ID
	case strings.HasPrefix(pattern, "/tools"):
		return f.tool.ID
	case strings.HasPrefix(pattern, "/key-types"):
		return f.keyTypeID()
	case strings.HasPrefix(pattern, "/environments"):
		return f.server.EnvironmentID
	case strings.HasPrefix(pattern, "/credentials"):
		return f.credentialID()
	case strings.HasPrefix(pattern, "/findings"):
		return f.findingID()
	case strings.HasPrefix(pattern, "/exceptions"):
		return f.exceptionID()
	case strings.HasPrefix(pattern, "/rotations"):
		return f.rotationTaskID()
	default:
		return f.target.ID
	}
}

// formFor returns a plausible form for unsafe routes.
func (f *fixture) formFor(key string) url.Values {
	switch key {
	case "POST /login":
		return url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}}
	case "POST /admin/teams":
		return url.Values{"slug": {"new-team"}, "name": {"New team"}}
	case "POST /admin/teams/:id":
		return url.Values{"name": {"Payments"}}
	case "POST /admin/users":
		return url.Values{"email": {"x@example.com"}, "name": {"X"}, "password": {"long enough password"}}
	}
	return url.Values{}
}

// keyTypeID returns a server key policy entry of the fixture server,
// creating it on first use so that other tests see no key policy.
func (f *fixture) keyTypeID() uint {
	f.t.Helper()
	if f.keyType.ID == 0 {
		e, err := f.store.CreateServerKeyType(context.Background(), modeltest.Admin, f.server.ID, models.AllowedKeyTypeInput{
			KeyType: models.KeyScopedAPIKey, MaxLifetimeDays: 90, Rationale: "The billing vendor issues scoped keys only."})
		if err != nil {
			f.t.Fatal(err)
		}
		f.keyType = e
	}
	return f.keyType.ID
}

// credentialID returns a credential of the fixture's server, made on first
// use (a delete by an allowed role removes it; later roles then see 404).
func (f *fixture) credentialID() uint {
	f.t.Helper()
	if f.extra["credential"] == 0 {
		c, err := f.store.CreateCredential(context.Background(), modeltest.Admin, models.CredentialInput{Name: "billing key",
			TeamID: f.team.ID, EnvironmentID: f.server.EnvironmentID, KeyType: models.KeyStaticAPIKey, ServerIDs: []uint{f.server.ID}})
		if err != nil {
			f.t.Fatal(err)
		}
		f.extra["credential"] = c.ID
	}
	return f.extra["credential"]
}

// findingID returns an open finding of the fixture's team.
func (f *fixture) findingID() uint {
	f.t.Helper()
	if f.extra["finding"] == 0 {
		if _, err := f.store.RecomputeFindings(context.Background()); err != nil {
			f.t.Fatal(err)
		}
		page, err := f.store.Findings(context.Background(), models.FindingFilter{Scope: models.TeamScope{All: true}})
		if err != nil || len(page.Items) == 0 {
			f.t.Fatalf("no finding in the fixture (%v)", err)
		}
		f.extra["finding"] = page.Items[0].ID
	}
	return f.extra["finding"]
}

// exceptionID returns a pending exception requested by the target user.
func (f *fixture) exceptionID() uint {
	f.t.Helper()
	if f.extra["exception"] == 0 {
		page, _ := f.store.Findings(context.Background(), models.FindingFilter{Scope: models.TeamScope{All: true}})
		if len(page.Items) < 2 {
			f.findingID()
			page, _ = f.store.Findings(context.Background(), models.FindingFilter{Scope: models.TeamScope{All: true}})
		}
		ex, err := f.store.RequestException(context.Background(), models.Actor{UserID: f.target.ID}, page.Items[len(page.Items)-1].ID,
			models.ExceptionInput{Justification: "Accepted while the vendor ships OAuth support.", ExpiresAt: f.clock.Now().Add(72 * time.Hour)})
		if err != nil {
			f.t.Fatal(err)
		}
		f.extra["exception"] = ex.ID
	}
	return f.extra["exception"]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// rotationTaskID returns an open rotation task of the fixture's team: a
// scheduled credential whose rotation fell due.
func (f *fixture) rotationTaskID() uint {
	f.t.Helper()
	if f.extra["rotation"] == 0 {
		ctx := context.Background()
		last := f.clock.Now().Add(-30 * 24 * time.Hour)
		c, err := f.store.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: "rotating key",
			TeamID: f.team.ID, EnvironmentID: f.server.EnvironmentID, KeyType: models.KeyStaticAPIKey,
			LastRotatedAt: &last, RotationSpec: "0 9 * * 1", RotationTZ: "UTC"})
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.store.RunRotationDueCheck(ctx); err != nil {
			f.t.Fatal(err)
		}
		page, err := f.store.RotationTasks(ctx, models.RotationTaskFilter{Scope: models.AllTeams, State: "", CredentialID: c.ID})
		if err != nil || len(page.Items) == 0 {
			f.t.Fatalf("no rotation task (%v)", err)
		}
		f.extra["rotation"] = page.Items[0].ID
	}
	return f.extra["rotation"]
}
