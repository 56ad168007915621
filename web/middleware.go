package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// contentSecurityPolicy allows no inline script or style and no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Header values shared by every response; the slices are never modified.
var (
	hdrCSP         = []string{contentSecurityPolicy}
	hdrDeny        = []string{"DENY"}
	hdrNoSniff     = []string{"nosniff"}
	hdrSameOrigin  = []string{"same-origin"}
	hdrPermissions = []string{"camera=(), microphone=(), geolocation=(), interest-cohort=()"}
	hdrNoStore     = []string{"no-store"}
	hdrHSTS        = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets the headers every answer carries (assigned directly:
// the keys are already canonical, and this runs on every request).
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["Content-Security-Policy"] = hdrCSP
		h["X-Frame-Options"] = hdrDeny
		h["X-Content-Type-Options"] = hdrNoSniff
		h["Referrer-Policy"] = hdrSameOrigin
		h["Cross-Origin-Opener-Policy"] = hdrSameOrigin
		h["Permissions-Policy"] = hdrPermissions
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			h["Cache-Control"] = hdrNoStore
		}
		if c.IsTLS() {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		return next(c)
	}
}

// csrfMessage is shown when a form arrives without a valid token.
const csrfMessage = "This form could not be accepted because its security token is missing or out of date. Reload the page and try again."

// csrf checks the token of every unsafe request made with a session cookie,
// from the _csrf form field or the X-CSRF-Token header (htmx). Requests with
// a bearer token skip it: the session middleware ignores the cookie of such
// a request, so it can act only as the token's API client, and a cross-site
// page cannot set an Authorization header without a CORS preflight (which
// Countersign never allows). The OAuth token endpoint and the rotation
// webhook callback skip it too: they authenticate the caller from the
// request itself (client secret, body signature) and never read a cookie,
// and so does the MCP gateway, which takes bearer tokens only (a request
// without one is a 401, never a session's).
func (s *Server) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper: func(c echo.Context) bool {
			path := c.Request().URL.Path
			return strings.HasPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ") ||
				strings.HasPrefix(path, "/static/") || path == "/oauth/token" || isRotationCallback(path) ||
				strings.HasPrefix(path, "/mcp/")
		},
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "cs_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.cfg.SecureCookies || s.cfg.TLSCert != "",
		CookieSameSite: http.SameSiteLaxMode,
		CookieMaxAge:   int((24 * time.Hour).Seconds()),
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, csrfMessage)
		},
		// Browsers that send Sec-Fetch-Site: same-origin pass without a token
		// (echo's default); cross-site posts are refused with our message and
		// same-site ones fall back to the token check.
		AllowSecFetchSiteFunc: func(c echo.Context) (bool, error) {
			if c.Request().Header.Get(echo.HeaderSecFetchSite) == "same-site" {
				return false, nil
			}
			return false, echo.NewHTTPError(http.StatusForbidden, csrfMessage)
		},
	})
}

// requestLogger logs one line per request with its request id.
func (s *Server) requestLogger(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		path := c.Request().URL.Path
		level := slog.LevelInfo
		if strings.HasPrefix(path, "/static/") || path == "/healthz" || path == "/readyz" || path == "/metrics" {
			level = slog.LevelDebug
		}
		if !s.log.Enabled(c.Request().Context(), level) {
			return err
		}
		status := c.Response().Status
		if err != nil {
			status = classify(err).status
		}
		s.log.Log(c.Request().Context(), level, "request",
			slog.String("request_id", auth.RequestID(c)), slog.String("method", c.Request().Method),
			slog.String("route", c.Path()), slog.Int("status", status),
			slog.Duration("duration", time.Since(start)), slog.String("ip", c.RealIP()))
		return err
	}
}

// recoverPanics turns a panic into a 500 with the stack in the log only.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic in handler", slog.Any("panic", r), slog.String("stack", string(debug.Stack())),
					slog.String("request_id", auth.RequestID(c)))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// isRotationCallback matches /api/v1/rotations/{id}/complete.
func isRotationCallback(path string) bool {
	rest, ok := strings.CutPrefix(path, "/api/v1/rotations/")
	return ok && strings.HasSuffix(rest, "/complete") && !strings.Contains(strings.TrimSuffix(rest, "/complete"), "/")
}
