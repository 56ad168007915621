// Package web is the running application: the Echo server, its middleware,
// the route table with a permission per route, and the error handler.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/countersign/countersign/handlers"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/static"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/countersign/countersign/web/gateway"
	"github.com/countersign/countersign/web/scheduler"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Config is what the server needs beyond the store.
type Config struct {
	// Addr is the listen address, host:port.
	Addr string
	// TLSCert and TLSKey enable HTTPS (and HSTS) when both are set.
	TLSCert, TLSKey string
	// SecureCookies forces the Secure flag, e.g. behind a TLS proxy.
	SecureCookies bool
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// Desktop marks the local single-user mode in the header.
	Desktop bool
	// Version is shown in the footer.
	Version string
	// Sessions bounds session lifetimes.
	Sessions models.SessionPolicy
	// Now is the clock of the rate limiter (nil: time.Now).
	Now func() time.Time
	// Quit stops the desktop app (desktop mode only).
	Quit func()
}

// Server is the Countersign web application.
type Server struct {
	cfg    Config
	echo   *echo.Echo
	store  *models.Store
	authz  *authz.Authorizer
	log    *slog.Logger
	base   *handlers.Base
	routes []route
	sched  *scheduler.Scheduler
	// gateway is the MCP proxy (web/gateway).
	gateway *gateway.Gateway
	// navBadges are the navigation entries (by path) that show a count.
	navBadges map[string]navBadge
}

// navBadge counts what waits behind a navigation entry for the user (ok
// false: no badge for this user); poll is the URL htmx polls to refresh it.
type navBadge struct {
	count func(c echo.Context) (n int, ok bool, err error)
	poll  string
}

// New builds the server: authorisation, handlers, middleware and routes.
func New(ctx context.Context, cfg Config, store *models.Store, log *slog.Logger) (*Server, error) {
	if cfg.Sessions.Lifetime == 0 {
		cfg.Sessions = models.DefaultSessionPolicy
	}
	az, err := authz.New(ctx, store)
	if err != nil {
		return nil, err
	}
	assets, err := static.New()
	if err != nil {
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	refresher := models.NewFindingsRefresher(store)
	s := &Server{cfg: cfg, echo: echo.New(), store: store, authz: az, log: log,
		base: &handlers.Base{Assets: assets, Authz: az, Desktop: cfg.Desktop, Version: cfg.Version, Log: log,
			Findings: refresher},
		sched:   scheduler.New(store, log, scheduler.Options{Now: cfg.Now}),
		gateway: gateway.New(store, gateway.Options{Logger: log, Version: cfg.Version})}
	for _, j := range jobs(store) {
		if err := s.sched.Add(j); err != nil {
			return nil, err
		}
	}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	if cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	sessions := auth.NewManager(store, cfg.Sessions, cfg.SecureCookies || cfg.TLSCert != "")
	m := newMetrics(store.SQLDB(), store.DecisionLogBacklog)
	h := handlerSet{
		health:   &handlers.Health{Store: store},
		home:     &handlers.Home{Base: s.base, Store: store},
		sessions: &handlers.Sessions{Base: s.base, Store: store, Auth: sessions, Limiter: auth.NewLoginLimiter(cfg.Now), Log: log},
		users:    &handlers.Users{Base: s.base, Store: store},
		teams:    &handlers.Teams{Base: s.base, Store: store},
		audit:    &handlers.Audit{Base: s.base, Store: store},
		servers:  &handlers.Servers{Base: s.base, Store: store, Gateway: s.gateway},
		tools:    &handlers.Tools{Base: s.base, Store: store},
		findings: &handlers.Findings{Base: s.base, Store: store},
		keyTypes: &handlers.KeyTypes{Base: s.base, Store: store},
		envs:     &handlers.Environments{Base: s.base, Store: store},
		creds:    &handlers.Credentials{Base: s.base, Store: store},
		api:      &handlers.API{Base: s.base, Store: store},
		rviews:   &handlers.ReportViews{Base: s.base, Store: store},
		desktop:  &handlers.Desktop{Base: s.base, Store: store, Auth: sessions, Quit: cfg.Quit},
		imports:  &handlers.Import{Base: s.base, Store: store, Now: cfg.Now},
		access:   &handlers.Access{Store: store},
		reviews:  &handlers.ReviewAPI{Store: store},
		rots:     &handlers.Rotations{Base: s.base, Store: store},
		gateway:  &handlers.Gateway{Proxy: s.gateway},
		jobs:     &handlers.Jobs{Base: s.base, Store: store, Runner: s.sched},
		queue:    &handlers.Reviews{Base: s.base, Store: store},
		grants:   &handlers.Grants{Base: s.base, Store: store},
		rules:    &handlers.ReviewRules{Base: s.base, Store: store},
		clients:  &handlers.Clients{Base: s.base, Store: store},
		notify:   &handlers.Notifications{Base: s.base, Store: store},
		static:   echo.WrapHandler(assets),
		metrics:  m.handler(),
	}
	e.Use(s.recoverPanics, middleware.RequestID(), s.requestLogger, m.middleware, s.securityHeaders,
		bodyLimit("1M", false), bodyLimit("4M", true), sessions.Middleware(), s.csrf())
	s.routes = routeTable(h)
	// Navigation entries with a live count badge.
	s.navBadges = map[string]navBadge{"/reviews": {count: h.queue.NavBadge, poll: handlers.ReviewBadgeURL}}
	if err := s.register(); err != nil {
		return nil, err
	}
	return s, nil
}

// bodyLimit bounds request bodies: 1 MB everywhere, except the import of
// client configuration files, whose 1 MiB file plus multipart framing (or
// the signed preview) needs more; a file over 1 MiB there gets a 422 with
// the form, not a bare 413.
func bodyLimit(limit string, forImport bool) echo.MiddlewareFunc {
	return middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: limit, Skipper: func(c echo.Context) bool {
		return strings.HasPrefix(c.Request().URL.Path, "/import/") != forImport
	}})
}

// register adds every route with its authorisation check. A route without
// a permission is a programming error and stops the start.
func (s *Server) register() error {
	seen := map[string]bool{}
	for _, r := range s.routes {
		key := r.method + " " + r.path
		if seen[key] {
			return fmt.Errorf("route %s registered twice", key)
		}
		seen[key] = true
		if r.perm.Object == "" || (!strings.HasPrefix(r.perm.Object, "@") && r.perm.Action == "") {
			return fmt.Errorf("route %s declares no permission", key)
		}
		s.echo.Add(r.method, r.path, r.handler, s.authorize(r.perm))
	}
	return nil
}

// Routes lists the route table.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.routes))
	for _, r := range s.routes {
		out = append(out, RouteInfo{Method: r.method, Path: r.path, Permission: r.perm})
	}
	return out
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// Authorizer returns the server's authorizer.
func (s *Server) Authorizer() *authz.Authorizer { return s.authz }

// authorize enforces a route's permission: public routes pass; others need
// a signed-in user; policy routes need the permission in at least one team
// (handlers check the object's own team). Any Casbin error denies.
func (s *Server) authorize(p authz.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p == authz.Public {
				return next(c)
			}
			if p.Object == authz.ObjClient {
				return s.authorizeClient(c, p.Action, next)
			}
			user, ok := auth.CurrentUser(c)
			if !ok {
				return s.unauthenticated(c)
			}
			if p != authz.SignedIn {
				allowed, err := s.authz.CanAnywhere(user.ID, p)
				if err == nil && !allowed {
					// Roles may have changed on another replica or from the CLI
					// since the last reload: check once more before refusing.
					if err = s.authz.ReloadIfChanged(c.Request().Context()); err == nil {
						allowed, err = s.authz.CanAnywhere(user.ID, p)
					}
				}
				if err != nil {
					return fmt.Errorf("authorize %s: %w", p, err)
				}
				if !allowed {
					return echo.NewHTTPError(http.StatusForbidden, ForbiddenMessage)
				}
			}
			nav, err := s.navigation(c, user.ID)
			if err != nil {
				return err
			}
			c.Set(handlers.NavKey, nav)
			c.Set(handlers.CanOpenKey, func(path string) bool { return s.canOpen(user.ID, path) })
			return next(c)
		}
	}
}

// canOpen reports whether the user passes the route check of the page at
// path (the GET route it matches), so that views link only to pages the
// user may open. The page may still refuse a particular object.
func (s *Server) canOpen(userID uint, path string) bool {
	r, ok := s.pageRoute(pathSegments(path))
	if !ok {
		return false
	}
	allowed, err := s.userPasses(userID, r.perm)
	return err == nil && allowed
}

// userPasses reports whether a signed-in user passes a route's permission
// check (from the loaded policy; authorize also reloads it once before a
// refusal).
func (s *Server) userPasses(userID uint, p authz.Permission) (bool, error) {
	switch {
	case p == authz.Public || p == authz.SignedIn:
		return true, nil
	case p.Object == authz.ObjClient:
		return false, nil // API clients' routes, never a person's
	}
	return s.authz.CanAnywhere(userID, p)
}

// unauthenticated answers a request that needs a signed-in user.
func (s *Server) unauthenticated(c echo.Context) error {
	if wantsJSON(c) {
		return echo.NewHTTPError(http.StatusUnauthorized, "Sign in or send a bearer token.")
	}
	target := "/login?next=" + urlQueryEscape(c.Request().URL.RequestURI())
	if auth.SessionExpired(c) {
		target += "&expired=1"
	}
	if handlers.IsHTMX(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	if c.Request().Method != http.MethodGet {
		return echo.NewHTTPError(http.StatusUnauthorized, "Your session ended. Sign in again, then repeat the action.")
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// navigation lists the navigation entries the user may open.
func (s *Server) navigation(c echo.Context, userID uint) ([]views.NavItem, error) {
	path := c.Request().URL.Path
	var out []views.NavItem
	for _, r := range s.routes {
		if r.nav == "" {
			continue
		}
		ok, err := s.userPasses(userID, r.perm)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		active := path == r.path || (r.path != "/" && strings.HasPrefix(path, r.path+"/"))
		item := views.NavItem{Label: r.nav, URL: r.path, Active: active}
		if b, ok := s.navBadges[r.path]; ok && !handlers.IsHTMX(c) {
			n, ok, err := b.count(c)
			if err != nil {
				return nil, err
			}
			if ok {
				item.Count, item.CountURL = n, b.poll
			}
		}
		out = append(out, item)
	}
	return out, nil
}

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// waits up to 15 s for requests in flight, and returns.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 90 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go s.reloadRoles(bg)
	s.sched.Start()
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: waiting for requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	s.gateway.Close()
	s.log.Info("shutting down: waiting for running jobs")
	if err := s.sched.Stop(shutdownCtx); err != nil {
		return err
	}
	return nil
}

// Scheduler returns the job scheduler (for the Jobs page and tests).
func (s *Server) Scheduler() *scheduler.Scheduler { return s.sched }

// reloadRoles picks up role changes made on other replicas.
func (s *Server) reloadRoles(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.authz.ReloadIfChanged(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("reload role assignments", slog.Any("error", err))
			}
		}
	}
}
