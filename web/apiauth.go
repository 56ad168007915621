package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/countersign/countersign/handlers"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/gateway"
	"github.com/labstack/echo/v4"
)

// authorizeClient lets a request through only with a live bearer token of
// an API client holding scope. Sessions never pass: a person's cookie is
// not an API client. Unknown, expired and revoked tokens are refused at once
// (the token is checked in the database on every request).
func (s *Server) authorizeClient(c echo.Context, scope string, next echo.HandlerFunc) error {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="countersign"`+resourceMetadata(c))
		return handlers.NewAPIError(http.StatusUnauthorized, "invalid_token",
			"Send a bearer token of an API client (POST /oauth/token with the client credentials grant).")
	}
	client, tok, err := s.store.CheckAPIToken(c.Request().Context(), strings.TrimSpace(token))
	if errors.Is(err, models.ErrUnauthenticated) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="countersign", error="invalid_token"`+resourceMetadata(c))
		return handlers.NewAPIError(http.StatusUnauthorized, "invalid_token", "The bearer token is unknown, expired or revoked.")
	}
	if err != nil {
		return err
	}
	if !tok.HasScope(scope) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="countersign", error="insufficient_scope", scope="`+scope+`"`)
		return handlers.NewAPIError(http.StatusForbidden, "insufficient_scope", "The token does not carry the scope "+scope+".")
	}
	auth.SetClient(c, client)
	return next(c)
}

// resourceMetadata points MCP clients of the gateway to the RFC 9728
// protected resource metadata of the server they called.
func resourceMetadata(c echo.Context) string {
	slug, ok := strings.CutPrefix(c.Request().URL.Path, "/mcp/")
	if !ok || slug == "" || strings.TrimLeft(slug, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return "" // not a slug: nothing user-made goes into the header
	}
	return `, resource_metadata="` + handlers.BaseURL(c) + gateway.MetadataPath(slug) + `"`
}
