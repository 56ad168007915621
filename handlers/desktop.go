package handlers

import (
	"errors"
	"net"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Desktop serves what only the local desktop app has: the one-time sign-in
// link and the Quit action. In web mode both answer 404.
type Desktop struct {
	*Base
	Store *models.Store
	Auth  *auth.Manager
	// Quit stops the desktop app cleanly; nil in web mode.
	Quit func()
}

// SignIn follows a one-time sign-in link: it accepts only loopback clients,
// uses the link once and starts a session.
func (h *Desktop) SignIn(c echo.Context) error {
	if !h.Desktop {
		return models.ErrNotFound
	}
	if ip := net.ParseIP(c.RealIP()); ip == nil || !ip.IsLoopback() {
		return echo.NewHTTPError(http.StatusForbidden, "Sign-in links work only from this computer.")
	}
	user, err := h.Store.ConsumeLoginLink(c.Request().Context(), c.QueryParam("token"))
	if errors.Is(err, models.ErrUnauthenticated) {
		return Render(c, http.StatusUnauthorized, views.ErrorPage(views.ErrorProps{Layout: h.Layout(c, "Sign-in link used"),
			Status: http.StatusUnauthorized, Title: "This sign-in link cannot be used again",
			Message: "Sign-in links work once and for five minutes. Start `countersign desktop` again for a new one, or sign in with your password."}))
	}
	if err != nil {
		return err
	}
	if err := h.Auth.SignIn(c, user); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

// QuitApp stops the desktop app after answering.
func (h *Desktop) QuitApp(c echo.Context) error {
	if !h.Desktop || h.Quit == nil {
		return models.ErrNotFound
	}
	err := Render(c, http.StatusOK, views.QuitPage(views.QuitProps{Layout: h.Layout(c, "Countersign stopped")}))
	c.Response().Flush()
	go h.Quit()
	return err
}
