package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/auth"
)

func parse(t *testing.T, rec *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.CookieName {
			return c
		}
	}
	return nil
}

func TestFirstRunExplainsHowToCreateAnAdmin(t *testing.T) {
	f := newFixtureEmpty(t)
	rec := f.do(http.MethodGet, "/login", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	cmd := parse(t, rec).Find(`[data-testid=first-run-command]`).Text()
	if !strings.Contains(cmd, "users create") || !strings.Contains(cmd, "--role admin") || !strings.Contains(cmd, "--password-stdin") {
		t.Errorf("first-run command = %q", cmd)
	}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	// Wrong password: 401, message, email kept.
	rec := f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"not the password"}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d", rec.Code)
	}
	doc := parse(t, rec)
	if msg := doc.Find(`[data-testid=login-error]`).Text(); !strings.Contains(msg, "not right") {
		t.Errorf("wrong password message = %q", msg)
	}
	if v, _ := doc.Find(`input[name=email]`).Attr("value"); v != "admin@example.com" {
		t.Errorf("email not kept: %q", v)
	}
	// Unknown user: same answer.
	rec = f.do(http.MethodPost, "/login", nil, url.Values{"email": {"ghost@example.com"}, "password": {"whatever password"}})
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("unknown user: status %d", rec.Code)
	}
	// Right password: a session cookie, HttpOnly, SameSite=Lax, and a redirect to next.
	rec = f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}, "next": {"/admin/users"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/users" {
		t.Fatalf("sign-in: status %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	c := sessionCookie(rec)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", c)
	}
	// A second sign-in issues a different token (renewed at login).
	rec2 := f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	if c2 := sessionCookie(rec2); c2 == nil || c2.Value == c.Value {
		t.Error("sign-in did not issue a new session token")
	}
	// The cookie works; an off-site next is ignored.
	if rec := f.do(http.MethodGet, "/admin/users", c, nil); rec.Code != http.StatusOK {
		t.Errorf("signed-in page: status %d", rec.Code)
	}
	rec = f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}, "next": {"//evil.example/x"}})
	if loc := rec.Header().Get("Location"); loc != "/" {
		t.Errorf("off-site next redirected to %q", loc)
	}
	// Sign out ends the session.
	if rec := f.do(http.MethodPost, "/logout", c, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("logout: status %d", rec.Code)
	}
	if rec := f.do(http.MethodGet, "/admin/users", c, nil); rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "expired=1") {
		t.Errorf("after logout: status %d to %q, want a redirect saying the session ended", rec.Code, rec.Header().Get("Location"))
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"guess number " + string(rune('a'+i))}})
	}
	rec := f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt: status %d, want 429", rec.Code)
	}
	if msg := parse(t, rec).Find(`[data-testid=login-error]`).Text(); !strings.Contains(msg, "Too many sign-in attempts") {
		t.Errorf("message = %q", msg)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
	// Another account from the same address is not locked by this one.
	rec = f.do(http.MethodPost, "/login", nil, url.Values{"email": {"auditor@example.com"}, "password": {"correct horse battery"}})
	if rec.Code != http.StatusSeeOther {
		t.Errorf("other account: status %d", rec.Code)
	}
	// After the window, the account may try again.
	f.clock.Advance(16 * time.Minute)
	rec = f.do(http.MethodPost, "/login", nil, url.Values{"email": {"admin@example.com"}, "password": {"correct horse battery"}})
	if rec.Code != http.StatusSeeOther {
		t.Errorf("after the window: status %d", rec.Code)
	}
}

func TestCSRFIsRequiredOnUnsafeRequests(t *testing.T) {
	f := newFixture(t)
	admin := f.session(f.users["admin"])
	form := url.Values{"slug": {"csrf-team"}, "name": {"CSRF"}}
	cases := map[string]func(r *http.Request){
		"no token": func(r *http.Request) {},
		"wrong token": func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "cs_csrf", Value: "a"})
			r.Header.Set("X-CSRF-Token", "b")
		},
		"cross-site": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
	}
	for name, prep := range cases {
		req := httptest.NewRequest(http.MethodPost, "/admin/teams", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(admin)
		prep(req)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "security token") {
			t.Errorf("%s: status %d, want 403 with a message", name, rec.Code)
		}
	}
	if _, err := f.store.TeamBySlug(t.Context(), "csrf-team"); err == nil {
		t.Error("a request without a valid CSRF token changed data")
	}
	// With the header htmx sends, it works.
	req := httptest.NewRequest(http.MethodPost, "/admin/teams", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", "tok")
	req.AddCookie(&http.Cookie{Name: "cs_csrf", Value: "tok"})
	req.AddCookie(admin)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Errorf("with header token: status %d", rec.Code)
	}
}

func TestManagerCannotOpenAdminPages(t *testing.T) {
	f := newFixture(t)
	rec := f.do(http.MethodGet, "/admin/users", f.session(f.users["manager"]), nil)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", rec.Code)
	}
	doc := parse(t, rec)
	if s, _ := doc.Find(`[data-testid=error-page]`).Attr("data-status"); s != "403" {
		t.Errorf("no 403 page rendered")
	}
	if doc.Find(`nav.nav a[href="/admin/users"]`).Length() != 0 {
		t.Error("the navigation offers a manager the users page")
	}
}

func TestInvalidFormKeepsInputWith422(t *testing.T) {
	f := newFixture(t)
	admin := f.session(f.users["admin"])
	rec := f.do(http.MethodPost, "/admin/users", admin, url.Values{"email": {"not-an-email"}, "name": {"Zed"}, "password": {"short"}, "role": {"approver"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", rec.Code)
	}
	doc := parse(t, rec)
	if v, _ := doc.Find(`input[name=name]`).Attr("value"); v != "Zed" {
		t.Errorf("name not kept: %q", v)
	}
	for _, field := range []string{"email", "password", "role"} {
		if doc.Find(`#`+field+`-error`).Length() == 0 {
			t.Errorf("no message for %s", field)
		}
	}
	// Duplicate team slug.
	rec = f.do(http.MethodPost, "/admin/teams", admin, url.Values{"slug": {"payments"}, "name": {"Again"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(parse(t, rec).Find(`#slug-error`).Text(), "already exists") {
		t.Errorf("duplicate slug: status %d", rec.Code)
	}
}

func TestDeactivatedUserIsSignedOutAtOnce(t *testing.T) {
	f := newFixture(t)
	victim := f.session(f.target)
	if rec := f.do(http.MethodGet, "/", victim, nil); rec.Code != http.StatusOK {
		t.Fatalf("before: status %d", rec.Code)
	}
	rec := f.do(http.MethodPost, "/admin/users/"+itoa(f.target.ID)+"/deactivate", f.session(f.users["admin"]), nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("deactivate: status %d", rec.Code)
	}
	if rec := f.do(http.MethodGet, "/", victim, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("deactivated user's session still works: status %d", rec.Code)
	}
	res, err := f.store.VerifyAudit(t.Context())
	if err != nil || !res.OK {
		t.Fatalf("audit chain after changes: %+v %v", res, err)
	}
	page, _ := f.store.AuditEvents(t.Context(), models.AuditFilter{Action: "user.deactivate"})
	if page.Total != 1 {
		t.Errorf("deactivation audit events = %d, want 1", page.Total)
	}
}

func TestSecurityHeadersAndErrorPages(t *testing.T) {
	f := newFixture(t)
	rec := f.do(http.MethodGet, "/login", nil, nil)
	h := rec.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("frame/sniff headers missing: %v", h)
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain HTTP")
	}
	if doc := parse(t, rec); doc.Find("script:not([src])").Length() > 0 || doc.Find("[style]").Length() > 0 {
		t.Error("inline script or style attribute in the page")
	}
	rec = f.do(http.MethodGet, "/no/such/page", f.session(f.users["admin"]), nil)
	if rec.Code != http.StatusNotFound || parse(t, rec).Find(`[data-testid=error-page]`).Length() == 0 {
		t.Errorf("404: status %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodGet, "/admin/users", nil)
	req.Header.Set("HX-Request", "true")
	req.AddCookie(f.session(f.users["manager"]))
	rr := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rr, req)
	if rr.Code != http.StatusForbidden || strings.Contains(rr.Body.String(), "<html") || !strings.Contains(rr.Body.String(), "alert") {
		t.Errorf("htmx 403 should be a fragment: %d %q", rr.Code, rr.Body.String())
	}
	req = httptest.NewRequest(http.MethodGet, "/static/css/app.css", nil)
	rr = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rr, req)
	if rr.Code != http.StatusOK || rr.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("plain asset: %d %q", rr.Code, rr.Header().Get("Cache-Control"))
	}
	link, _ := parse(t, f.do(http.MethodGet, "/login", nil, nil)).Find(`link[rel=stylesheet]`).Attr("href")
	req = httptest.NewRequest(http.MethodGet, link, nil)
	rr = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rr, req)
	if rr.Code != http.StatusOK || !strings.Contains(rr.Header().Get("Cache-Control"), "immutable") || link == "/static/css/app.css" {
		t.Errorf("hashed asset %s: %d %q", link, rr.Code, rr.Header().Get("Cache-Control"))
	}
}

func TestOperationsEndpoints(t *testing.T) {
	f := newFixture(t)
	if rec := f.do(http.MethodGet, "/healthz", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("healthz: %d", rec.Code)
	}
	if rec := f.do(http.MethodGet, "/readyz", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("readyz: %d", rec.Code)
	}
	f.do(http.MethodGet, "/login", nil, nil)
	rec := f.do(http.MethodGet, "/metrics", nil, nil)
	body := rec.Body.String()
	for _, want := range []string{`countersign_http_requests_total{code="200",method="GET",route="/login"}`, "countersign_http_request_duration_seconds_bucket", "go_sql_max_open_connections",
		"countersign_decision_log_backlog 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	f.store.Close()
	if rec := f.do(http.MethodGet, "/readyz", nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed: %d, want 503", rec.Code)
	}
}

func TestRolesGrantedElsewhereApplyWithoutWaiting(t *testing.T) {
	f := newFixture(t)
	u := f.users["none"]
	if rec := f.do(http.MethodGet, "/audit", f.session(u), nil); rec.Code != http.StatusForbidden {
		t.Fatalf("before: %d", rec.Code)
	}
	// As if another replica or the CLI assigned the role: straight to the store.
	if _, err := f.store.AssignRole(t.Context(), modeltest.Admin, u.ID, models.RoleAuditor, 0); err != nil {
		t.Fatal(err)
	}
	if rec := f.do(http.MethodGet, "/audit", f.session(u), nil); rec.Code != http.StatusOK {
		t.Errorf("after the role was assigned elsewhere: %d, want 200", rec.Code)
	}
}

// A page number past the end of a list says so and links to the last page.
func TestPagePastTheEndSaysSo(t *testing.T) {
	f := newFixture(t)
	body := f.do(http.MethodGet, "/audit?page=999", f.session(f.users["auditor"]), nil).Body.String()
	if !strings.Contains(body, "Nothing on page 999") || !strings.Contains(body, "Last page") {
		t.Errorf("audit page 999: no past-the-end notice")
	}
}
