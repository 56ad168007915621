package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/countersign/countersign/handlers"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// problem is what the error handler tells the user.
type problem struct {
	status  int
	title   string
	message string
	// code is the machine-readable error of JSON answers ("" → from status).
	code   string
	fields map[string]string
}

// classify maps an error to a status and a message safe to show. Only the
// package's sentinels and echo's HTTP errors keep their text; anything else
// is a 500 whose detail goes to the log, not to the user.
func classify(err error) problem {
	var he *echo.HTTPError
	var ae *handlers.APIError
	switch {
	case errors.As(err, &ae):
		return problem{status: ae.Status, title: http.StatusText(ae.Status), message: ae.Message, code: ae.Code}
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && s != "" {
			msg = s
		}
		p := problem{status: he.Code, title: http.StatusText(he.Code), message: msg}
		if he.Code == http.StatusNotFound {
			p.title, p.message = "Page not found", "There is nothing at this address. It may have moved, or the link is wrong."
		}
		return p
	case errors.Is(err, models.ErrNotFound):
		return problem{status: http.StatusNotFound, title: "Not found", message: "What you asked for does not exist, or you cannot see it."}
	case errors.Is(err, models.ErrUnauthenticated):
		return problem{status: http.StatusUnauthorized, title: "Sign in required", message: "Sign in to continue."}
	case errors.Is(err, models.ErrForbidden):
		return problem{status: http.StatusForbidden, title: "Not allowed", message: sentinelDetail(err, "You do not have permission to do this.")}
	case errors.Is(err, models.ErrInvalidTransition):
		return problem{status: http.StatusConflict, title: "Not possible now", message: sentinelDetail(err, "This change is not possible in the object's current state."),
			code: "invalid_transition"}
	case errors.Is(err, models.ErrConflict):
		return problem{status: http.StatusConflict, title: "Conflict", message: "This change conflicts with existing data."}
	}
	if v, ok := models.AsValidation(err); ok {
		return problem{status: http.StatusUnprocessableEntity, title: "Invalid input", message: v.Error(), code: "invalid_input", fields: v.Fields}
	}
	return problem{status: http.StatusInternalServerError, title: "Something went wrong",
		message: "Countersign could not complete the request. Nothing was changed. Try again; if it persists, tell your administrator the request id."}
}

// errorCode is the machine-readable error of a JSON answer.
func (p problem) errorCode() string {
	if p.code != "" {
		return p.code
	}
	switch p.status {
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUnprocessableEntity:
		return "invalid_input"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	}
	if p.status >= 500 {
		return "internal_error"
	}
	return strings.ToLower(strings.ReplaceAll(http.StatusText(p.status), " ", "_"))
}

// sentinelDetail returns the text a Store method wrapped around a sentinel
// ("forbidden: you cannot deactivate yourself" → "You cannot deactivate yourself.").
func sentinelDetail(err error, fallback string) string {
	_, detail, ok := strings.Cut(err.Error(), ": ")
	if !ok || detail == "" {
		return fallback
	}
	return strings.ToUpper(detail[:1]) + detail[1:] + "."
}

// ForbiddenMessage is the text of a 403 from the route check.
const ForbiddenMessage = "Your roles do not include this page or action. Ask an administrator if you need it."

// errorHandler renders every error: JSON for API clients, a fragment for
// htmx, a page otherwise. 5xx are logged as errors, 4xx as warnings.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := classify(err)
	attrs := []any{slog.String("request_id", auth.RequestID(c)), slog.String("method", c.Request().Method),
		slog.String("route", c.Path()), slog.Int("status", p.status)}
	if p.status >= 500 {
		s.log.Error("request failed", append(attrs, slog.Any("error", err))...)
	} else if p.status != http.StatusNotFound {
		s.log.Warn("request refused", append(attrs, slog.String("reason", p.message))...)
	}
	var werr error
	switch {
	case p.status == http.StatusMethodNotAllowed && c.Request().Method == http.MethodGet && !wantsJSON(c) && !handlers.IsHTMX(c):
		// A form's address opened as a page (a reload or a bookmark after
		// a refused submit): go to the page the form belongs to.
		werr = c.Redirect(http.StatusSeeOther, s.pageAbove(c.Request().URL.Path))
	case c.Request().Method == http.MethodHead:
		werr = c.NoContent(p.status)
	case wantsJSON(c):
		body := map[string]any{"error": p.errorCode(), "message": p.message, "status": p.status, "request_id": auth.RequestID(c)}
		if len(p.fields) > 0 {
			body["fields"] = p.fields
		}
		werr = c.JSON(p.status, body)
	default:
		props := views.ErrorProps{Layout: s.base.Layout(c, p.title), Status: p.status, Title: p.title, Message: p.message}
		if handlers.IsHTMX(c) {
			werr = handlers.Render(c, p.status, views.ErrorFragment(props))
		} else {
			werr = handlers.Render(c, p.status, views.ErrorPage(props))
		}
	}
	if werr != nil {
		s.log.Error("write error response", slog.Any("error", werr), slog.String("request_id", auth.RequestID(c)))
	}
}

// pageAbove is the nearest page (a GET route) above path: /reviews/7/deny →
// /reviews/7; "/" when there is none.
func (s *Server) pageAbove(path string) string {
	segments := pathSegments(path)
	for n := len(segments) - 1; n > 0; n-- {
		if _, ok := s.pageRoute(segments[:n]); ok {
			return "/" + strings.Join(segments[:n], "/")
		}
	}
	return "/"
}

// pathSegments splits a path (its query dropped) into segments.
func pathSegments(path string) []string {
	path, _, _ = strings.Cut(path, "?")
	return strings.Split(strings.Trim(path, "/"), "/")
}

// pageRoute is the GET route whose pattern matches the path segments.
func (s *Server) pageRoute(segments []string) (route, bool) {
	for _, r := range s.routes {
		if r.method == http.MethodGet && routeMatches(r.path, segments) {
			return r, true
		}
	}
	return route{}, false
}

// routeMatches reports whether an Echo route pattern ("/reviews/:id")
// matches the path segments.
func routeMatches(pattern string, segments []string) bool {
	parts := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(parts) != len(segments) {
		return false
	}
	for i, part := range parts {
		if segments[i] == "" || (!strings.HasPrefix(part, ":") && part != segments[i]) {
			return false
		}
	}
	return true
}

// wantsJSON reports whether the caller is a program rather than a browser.
func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/access/") || strings.HasPrefix(p, "/oauth/") ||
		strings.HasPrefix(p, "/.well-known/") {
		return true
	}
	accept := c.Request().Header.Get(echo.HeaderAccept)
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
