package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web"
	"github.com/countersign/countersign/web/auth"
)

// fixture is a server on a fresh store with one user per role.
type fixture struct {
	t      *testing.T
	srv    *web.Server
	store  *models.Store
	clock  *modeltest.Clock
	team   models.Team
	users  map[string]models.User // by role name; "none" holds no role
	target models.User            // a user admin routes act on
	server models.Server          // a server of the team, for inventory routes
	tool   models.Tool            // a tool of that server
	// keyType is a key policy entry of that server, made on first use by
	// keyTypeID.
	keyType models.AllowedKeyType
	// extra holds ids of objects made on first use (credential, finding,
	// exception).
	extra map[string]uint
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := modeltest.NewClock()
	store := modeltest.OpenSQLite(t, clock)
	return newFixtureOn(t, store, clock)
}

// newFixtureEmpty is a server on a store with no users at all.
func newFixtureEmpty(t *testing.T) *fixture {
	t.Helper()
	clock := modeltest.NewClock()
	f := &fixture{t: t, store: modeltest.OpenSQLite(t, clock), clock: clock}
	f.srv = f.newServer()
	return f
}

func (f *fixture) newServer() *web.Server {
	srv, err := web.New(context.Background(), web.Config{Version: "test", Now: f.clock.Now}, f.store,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.t.Fatal(err)
	}
	return srv
}

func itoa(n uint) string { return fmt.Sprint(n) }

func newFixtureOn(t *testing.T, store *models.Store, clock *modeltest.Clock) *fixture {
	t.Helper()
	f := &fixture{t: t, store: store, clock: clock, users: map[string]models.User{}, extra: map[string]uint{}}
	f.team = modeltest.MustTeam(t, store, "payments")
	for _, r := range models.Roles {
		team := f.team.ID
		if r.MayBeOrgWide() {
			team = 0
		}
		f.users[string(r)] = modeltest.MustUser(t, store, string(r)+"@example.com", r, team)
	}
	f.users["none"] = modeltest.MustUser(t, store, "none@example.com", "", 0)
	f.target = modeltest.MustUser(t, store, "target@example.com", models.RoleManager, f.team.ID)
	prod, err := store.EnvironmentByName(context.Background(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	f.server, err = store.CreateServer(context.Background(), modeltest.Admin, models.ServerInput{Slug: "billing-prod", Name: "Billing",
		TeamID: f.team.ID, EnvironmentID: prod.ID, Transport: models.TransportStreamableHTTP, Endpoint: "https://billing.example.com/mcp",
		Status: models.ServerActive, WriteActions: true})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	f.tool, err = store.AddTool(context.Background(), modeltest.Admin, f.server.ID, models.ToolDefinition{Name: "refund_payment",
		Annotations: &models.ToolHints{DestructiveHint: &yes}})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = f.newServer()
	return f
}

// session signs the user in directly in the store and returns the cookie.
func (f *fixture) session(u models.User) *http.Cookie {
	f.t.Helper()
	token, _, err := f.store.CreateSession(context.Background(), modeltest.Admin, u.ID, "127.0.0.1", "test", models.DefaultSessionPolicy)
	if err != nil {
		f.t.Fatal(err)
	}
	return &http.Cookie{Name: auth.CookieName, Value: token}
}

// do sends a request. Unsafe requests carry a valid CSRF cookie and token
// unless the form already has a _csrf field.
func (f *fixture) do(method, path string, cookie *http.Cookie, form url.Values) *httptest.ResponseRecorder {
	f.t.Helper()
	var body io.Reader
	if form == nil {
		form = url.Values{}
	}
	if method != http.MethodGet {
		if _, ok := form["_csrf"]; !ok {
			form.Set("_csrf", "test-csrf-token")
		}
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "cs_csrf", Value: "test-csrf-token"})
		if method != http.MethodPost && method != http.MethodPut && form.Get("_csrf") == "test-csrf-token" {
			// Go reads form bodies of POST and PUT only: others send the header.
			req.Header.Set("X-CSRF-Token", "test-csrf-token")
		}
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// A form's address opened as a page (a reload after a refused submit) goes
// to the page the form belongs to, not to a bare 405; programs still get
// the 405.
func TestFormAddressOpenedAsPageGoesToItsPage(t *testing.T) {
	f := newFixture(t)
	cookie := f.session(f.users["admin"])
	for path, want := range map[string]string{
		"/servers/1/key-types":    "/servers/1",
		"/reviews/rv_abc/deny":    "/reviews/rv_abc",
		"/admin/users/3/password": "/admin/users/3",
	} {
		res := f.do(http.MethodGet, path, cookie, nil)
		if res.Code != http.StatusSeeOther || res.Header().Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, res.Code, res.Header().Get("Location"), want)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/servers/1/key-types", nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("JSON GET of a form address: %d, want 405", rec.Code)
	}
}
