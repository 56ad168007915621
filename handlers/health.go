package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/labstack/echo/v4"
)

// Health answers liveness and readiness probes.
type Health struct {
	Store *models.Store
}

// Live answers 200 while the process is up.
func (h *Health) Live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// Ready answers 200 when the database answers within 2 s, 503 otherwise.
func (h *Health) Ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.Store.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "database": string(h.Store.Dialect())})
}
