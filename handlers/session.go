package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Sessions signs people in and out and lists their sessions.
type Sessions struct {
	*Base
	Store   *models.Store
	Auth    *auth.Manager
	Limiter *auth.LoginLimiter
	Log     *slog.Logger

	// hasUsers caches that at least one user exists (users are never
	// deleted), so the sign-in page does not count users on every view.
	hasUsers atomic.Bool
	// plainLogin is the sign-in page without messages, rendered once and
	// split around its CSRF token: the only part that differs per request.
	plainLogin struct {
		once  sync.Once
		parts [][]byte // the page split at each place the token goes
		err   error
	}
}

// csrfPlaceholder marks where the CSRF token goes in the cached page; it is
// plain alphanumeric so that HTML and JSON escaping leave it unchanged.
const csrfPlaceholder = "CSRFxPLACEHOLDERx7Qz9"

// plainToken reports whether a token needs no escaping anywhere in the page.
func plainToken(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// renderPlainLogin serves the message-free sign-in page from a copy rendered
// once, inserting this request's CSRF token (the only part that differs).
func (h *Sessions) renderPlainLogin(c echo.Context) error {
	p := &h.plainLogin
	token, _ := c.Get("csrf").(string)
	p.once.Do(func() {
		tmpl := h.Layout(c, "Sign in")
		tmpl.CSRF, tmpl.RequestID = csrfPlaceholder, ""
		var buf bytes.Buffer
		if p.err = views.Login(views.LoginProps{Layout: tmpl}).Render(c.Request().Context(), &buf); p.err != nil {
			return
		}
		for _, part := range strings.Split(buf.String(), csrfPlaceholder) {
			p.parts = append(p.parts, []byte(part))
		}
	})
	if p.err != nil || !plainToken(token) {
		return Render(c, http.StatusOK, views.Login(views.LoginProps{Layout: h.Layout(c, "Sign in")}))
	}
	size := len(token) * (len(p.parts) - 1)
	for _, part := range p.parts {
		size += len(part)
	}
	w := c.Response()
	w.Header()[echo.HeaderContentType] = htmlContentType
	w.Header()[echo.HeaderContentLength] = []string{strconv.Itoa(size)}
	w.WriteHeader(http.StatusOK)
	for i, part := range p.parts {
		if i > 0 {
			if _, err := w.Write([]byte(token)); err != nil {
				return err
			}
		}
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// htmlContentType is shared by every page response; never modified.
var htmlContentType = []string{echo.MIMETextHTMLCharsetUTF8}

// LoginForm shows the sign-in form, or the first-run page when there are no
// users yet.
func (h *Sessions) LoginForm(c echo.Context) error {
	if _, ok := auth.CurrentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, SafeNext(c.QueryParam("next")))
	}
	if !h.hasUsers.Load() {
		n, err := h.Store.UserCount(c.Request().Context())
		if err != nil {
			return err
		}
		if n == 0 {
			return Render(c, http.StatusOK, views.FirstRun(h.Layout(c, "Sign in")))
		}
		h.hasUsers.Store(true)
	}
	next, expired := c.QueryParam("next"), auth.SessionExpired(c) || c.QueryParam("expired") == "1"
	if next == "" && !expired && !HasFlash(c) {
		return h.renderPlainLogin(c)
	}
	props := views.LoginProps{Layout: h.Layout(c, "Sign in"), Next: next, Expired: expired}
	return Render(c, http.StatusOK, views.Login(props))
}

// Login checks the credentials and starts a session.
func (h *Sessions) Login(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := c.FormValue("next")
	props := views.LoginProps{Layout: h.Layout(c, "Sign in"), Email: email, Next: next}
	if email == "" || password == "" {
		props.Error = "Enter your email and password."
		return Render(c, http.StatusUnprocessableEntity, views.Login(props))
	}
	if ok, wait := h.Limiter.Allow(email, c.RealIP()); !ok {
		minutes := int(math.Ceil(wait.Minutes()))
		h.Log.Warn("sign-in rate limited", "email", email, "ip", c.RealIP())
		props.Error = fmt.Sprintf("Too many sign-in attempts. Try again in %d minute%s.", minutes, plural(minutes))
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return Render(c, http.StatusTooManyRequests, views.Login(props))
	}
	user, err := h.Store.Authenticate(c.Request().Context(), email, password)
	if errors.Is(err, models.ErrUnauthenticated) {
		h.Limiter.Failed(email)
		h.Log.Warn("sign-in failed", "email", email, "ip", c.RealIP())
		props.Error = "The email or password is not right, or the account is deactivated."
		return Render(c, http.StatusUnauthorized, views.Login(props))
	}
	if err != nil {
		return err
	}
	h.Limiter.Succeeded(email, c.RealIP())
	if err := h.Auth.SignIn(c, user); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, SafeNext(next))
}

// Logout ends the current session.
func (h *Sessions) Logout(c echo.Context) error {
	if err := h.Auth.SignOut(c); err != nil {
		return err
	}
	SetFlash(c, "info", "You are signed out.")
	return SeeOther(c, "/login")
}

// List shows the user's sessions and roles.
func (h *Sessions) List(c echo.Context) error {
	user, _ := auth.CurrentUser(c)
	sess, _ := auth.CurrentSession(c)
	list, err := h.Store.SessionsOfUser(c.Request().Context(), user.ID)
	if err != nil {
		return err
	}
	roles, err := RoleLabels(c.Request().Context(), h.Store, user.ID)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Sessions(views.SessionsProps{Layout: h.Layout(c, "Your account"), Current: sess.ID,
		Sessions: list, Roles: roles}))
}

// End signs out one of the user's other sessions.
func (h *Sessions) End(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	user, _ := auth.CurrentUser(c)
	if err := h.Store.EndSession(c.Request().Context(), auth.Actor(c), user.ID, id); err != nil {
		return err
	}
	SetFlash(c, "success", "That session is signed out.")
	return SeeOther(c, "/account/sessions")
}

// EndAll signs the user out everywhere, this session included.
func (h *Sessions) EndAll(c echo.Context) error {
	user, _ := auth.CurrentUser(c)
	if _, err := h.Store.EndAllSessions(c.Request().Context(), auth.Actor(c), user.ID); err != nil {
		return err
	}
	_ = h.Auth.SignOut(c)
	SetFlash(c, "info", "You are signed out of every session.")
	return SeeOther(c, "/login")
}

// SafeNext keeps a post-login redirect on this site.
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
