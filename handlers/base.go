// Package handlers turns HTTP requests into Store calls and templ pages. Each
// resource has one struct holding its dependencies; methods are actions.
// Handlers return errors; the error handler in web turns them into pages.
package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/static"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// NavKey is the context key under which web stores the navigation items the
// current user may see.
const NavKey = "handlers.nav"

// CanOpenKey is the context key of the current user's page check
// (func(path string) bool), set by web's route check.
const CanOpenKey = "handlers.canOpen"

// Base holds what every page handler needs to render the layout.
type Base struct {
	Assets  *static.Assets
	Authz   *authz.Authorizer
	Desktop bool
	Version string
	// Findings recomputes posture findings after inventory changes.
	Findings FindingsRefresher
	Log      *slog.Logger
}

// FindingsRefresher recomputes the stored findings from the inventory.
type FindingsRefresher interface {
	Refresh(ctx context.Context) error
}

// FindingsChanged recomputes findings after a change, so the next page shows
// them. A failure is logged, not returned: the change itself is saved, and
// the scheduled recompute will catch up.
func (b *Base) FindingsChanged(c echo.Context) {
	if b.Findings == nil {
		return
	}
	if err := b.Findings.Refresh(c.Request().Context()); err != nil && b.Log != nil {
		b.Log.Error("recompute findings", slog.Any("error", err), slog.String("request_id", auth.RequestID(c)))
	}
}

// Layout builds the shell data of a page for the current request.
func (b *Base) Layout(c echo.Context, title string) views.LayoutData {
	l := views.LayoutData{
		Title:   title,
		Desktop: b.Desktop,
		Version: b.Version,
		Assets: views.AssetURLs{
			CSS: b.Assets.URL("css/app.css"), HTMX: b.Assets.URL("js/htmx.min.js"),
			AppJS: b.Assets.URL("js/app.js"), Favicon: b.Assets.URL("img/favicon.svg"),
		},
		RequestID: auth.RequestID(c),
		Flashes:   takeFlashes(c),
	}
	if tok, ok := c.Get("csrf").(string); ok {
		l.CSRF = tok
	}
	if u, ok := auth.CurrentUser(c); ok {
		l.UserID, l.UserName, l.UserEmail = u.ID, u.Name, u.Email
	}
	if nav, ok := c.Get(NavKey).([]views.NavItem); ok {
		l.Nav = nav
	}
	if can, ok := c.Get(CanOpenKey).(func(string) bool); ok {
		l.Open = can
	}
	return l
}

// renderBuffers recycles page buffers; pages are a few to a few hundred KB.
var renderBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 16<<10)) }}

// Render writes a templ component with a status code. It renders into a
// buffer first, so a template error becomes an error, not half a page.
func Render(c echo.Context, status int, component templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			renderBuffers.Put(buf)
		}
	}()
	if err := component.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return HTML(c, status, buf.Bytes())
}

// HTML writes a complete page with its Content-Length, so that it goes out
// in one piece rather than chunked.
func HTML(c echo.Context, status int, page []byte) error {
	c.Response().Header()[echo.HeaderContentLength] = []string{strconv.Itoa(len(page))}
	return c.HTMLBlob(status, page)
}

// IsHTMX reports whether the request was made by htmx.
func IsHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// SeeOther redirects after a successful form post; htmx requests get an
// HX-Redirect instead so that the whole page changes.
func SeeOther(c echo.Context, to string) error {
	if IsHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

const flashCookie = "cs_flash"

// SetFlash stores a one-time message shown on the next page.
func SetFlash(c echo.Context, kind, message string) {
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: url.QueryEscape(kind + "|" + message), Path: "/",
		MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.IsTLS()})
}

// HasFlash reports whether a one-time message waits for this request.
func HasFlash(c echo.Context) bool {
	cookie, err := c.Cookie(flashCookie)
	return err == nil && cookie.Value != ""
}

func takeFlashes(c echo.Context) []views.Flash {
	cookie, err := c.Cookie(flashCookie)
	if err != nil || cookie.Value == "" {
		return nil
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	raw, err := url.QueryUnescape(cookie.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(raw, "|")
	switch {
	case !ok || len(msg) > 500:
		return nil
	case kind != "success" && kind != "error" && kind != "info" && kind != "warning":
		return nil
	}
	return []views.Flash{{Kind: kind, Message: msg}}
}

// ListParams reads page, per_page, q, sort and dir from the query string.
func ListParams(c echo.Context) models.ListParams {
	page, _ := strconv.Atoi(c.QueryParam("page"))
	per, _ := strconv.Atoi(c.QueryParam("per_page"))
	return models.ListParams{Page: page, PerPage: per, Search: c.QueryParam("q"),
		Sort: c.QueryParam("sort"), Desc: c.QueryParam("dir") == "desc"}.Normalize()
}

// PagerFor builds the pagination links of a list page.
func PagerFor[T any](c echo.Context, page models.Page[T]) views.Pager {
	return views.Pager{Path: c.Request().URL.Path, Query: c.QueryParams(), Page: page.Params.Page,
		Pages: page.Pages(), Total: page.Total, PerPage: page.Params.PerPage,
		Sort: page.Params.Sort, Desc: page.Params.Desc}
}

// IDParam parses a numeric path parameter; a bad one is a 404.
func IDParam(c echo.Context, name string) (uint, error) {
	n, err := strconv.ParseUint(c.Param(name), 10, 64)
	if err != nil || n == 0 {
		return 0, models.ErrNotFound
	}
	return uint(n), nil
}

// Errors returns the field messages of a validation error (nil otherwise).
func Errors(err error) map[string]string {
	if v, ok := models.AsValidation(err); ok {
		return v.Fields
	}
	return nil
}

// RoleLabels lists the user's roles as people read them: "governance in
// Payments", "admin in all teams".
func RoleLabels(ctx context.Context, store *models.Store, userID uint) ([]string, error) {
	assignments, err := store.RolesOfUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(assignments))
	for _, a := range assignments {
		where := "all teams"
		if a.Team != nil {
			where = a.Team.Name
		}
		out = append(out, string(a.Role)+" in "+where)
	}
	return out, nil
}
