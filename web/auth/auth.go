// Package auth signs people in and out with server-side sessions, and keeps
// the signed-in user on the request. Bearer tokens of API clients are
// handled elsewhere; a request that carries one never uses the cookie.
package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/labstack/echo/v4"
)

// CookieName is the session cookie.
const CookieName = "cs_session"

const (
	userKey    = "auth.user"
	sessionKey = "auth.session"
	expiredKey = "auth.expired"
)

// Manager issues and checks session cookies.
type Manager struct {
	store  *models.Store
	policy models.SessionPolicy
	// Secure forces the Secure cookie flag; it is also set on TLS requests.
	Secure bool
}

// NewManager returns a session manager.
func NewManager(store *models.Store, policy models.SessionPolicy, secure bool) *Manager {
	return &Manager{store: store, policy: policy, Secure: secure}
}

// Policy returns the session lifetime policy.
func (m *Manager) Policy() models.SessionPolicy { return m.policy }

// Middleware loads the signed-in user from the session cookie, if any. An
// expired or unknown cookie is cleared and remembered, so the sign-in page
// can say the session ended.
func (m *Manager) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if strings.HasPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ") {
				return next(c)
			}
			cookie, err := c.Cookie(CookieName)
			if err != nil || cookie.Value == "" {
				return next(c)
			}
			sess, user, err := m.store.SessionUser(c.Request().Context(), cookie.Value, m.policy)
			switch {
			case errors.Is(err, models.ErrUnauthenticated):
				m.clearCookie(c)
				c.Set(expiredKey, true)
			case err != nil:
				return err
			default:
				c.Set(userKey, user)
				c.Set(sessionKey, sess)
			}
			return next(c)
		}
	}
}

// SignIn starts a session and sets its cookie.
func (m *Manager) SignIn(c echo.Context, user models.User) error {
	actor := ActorFor(c, user)
	token, sess, err := m.store.CreateSession(c.Request().Context(), actor, user.ID, c.RealIP(), c.Request().UserAgent(), m.policy)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: m.secure(c), Expires: sess.ExpiresAt, MaxAge: int(m.policy.Lifetime.Seconds()),
	})
	c.Set(userKey, user)
	c.Set(sessionKey, sess)
	return nil
}

// SignOut ends the current session and clears the cookie.
func (m *Manager) SignOut(c echo.Context) error {
	user, ok := CurrentUser(c)
	sess, hasSession := CurrentSession(c)
	m.clearCookie(c)
	if !ok || !hasSession {
		return nil
	}
	err := m.store.EndSession(c.Request().Context(), ActorFor(c, user), user.ID, sess.ID)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	return err
}

func (m *Manager) clearCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: m.secure(c), MaxAge: -1})
}

func (m *Manager) secure(c echo.Context) bool {
	return m.Secure || c.IsTLS() || c.Scheme() == "https"
}

// CurrentUser returns the signed-in user of the request.
func CurrentUser(c echo.Context) (models.User, bool) {
	u, ok := c.Get(userKey).(models.User)
	return u, ok
}

// CurrentSession returns the session of the request.
func CurrentSession(c echo.Context) (models.Session, bool) {
	s, ok := c.Get(sessionKey).(models.Session)
	return s, ok
}

// SessionExpired reports whether the request carried a cookie of a session
// that has ended.
func SessionExpired(c echo.Context) bool {
	v, _ := c.Get(expiredKey).(bool)
	return v
}

// RequestID returns the request id set by the request-id middleware.
func RequestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

// ActorFor builds the audit actor for a user acting through this request.
func ActorFor(c echo.Context, u models.User) models.Actor {
	return models.Actor{UserID: u.ID, Label: u.Email, RequestID: RequestID(c)}
}

// Actor is the audit actor of the signed-in user.
func Actor(c echo.Context) models.Actor {
	u, _ := CurrentUser(c)
	return ActorFor(c, u)
}
