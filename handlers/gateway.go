package handlers

import (
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/gateway"
	"github.com/labstack/echo/v4"
)

// Gateway mounts the MCP gateway (web/gateway) and publishes its OAuth
// metadata: RFC 9728 protected resource metadata per server and RFC 8414
// authorization server metadata for the client-credentials token endpoint.
type Gateway struct {
	Proxy *gateway.Gateway
}

// BaseURL is Countersign's public base URL as the request reached it.
func BaseURL(c echo.Context) string { return c.Scheme() + "://" + c.Request().Host }

// Serve proxies one MCP request of an authenticated API client.
func (h *Gateway) Serve(c echo.Context) error {
	client, ok := auth.CurrentClient(c)
	if !ok {
		return NewAPIError(http.StatusUnauthorized, "invalid_token", "Send a bearer token of an API client.")
	}
	h.Proxy.ServeHTTP(c.Response(), c.Request(), gateway.Call{Client: client, Slug: c.Param("slug"), Base: BaseURL(c)})
	return nil
}

// ResourceMetadata is the RFC 9728 protected resource metadata of a
// server's proxy. It is served for any slug, so that it does not tell
// which servers exist.
func (h *Gateway) ResourceMetadata(c echo.Context) error {
	base, slug := BaseURL(c), c.Param("slug")
	return c.JSON(http.StatusOK, map[string]any{
		"resource":                 base + gateway.ResourcePath(slug),
		"authorization_servers":    []string{base},
		"bearer_methods_supported": []string{"header"},
		"scopes_supported":         []string{models.ScopeEvaluate},
		"resource_name":            "Countersign MCP gateway: " + slug,
		"resource_documentation":   "https://github.com/countersign/countersign/blob/main/docs/gateway.md",
	})
}

// AuthorizationServer is the RFC 8414 metadata of Countersign's token
// endpoint (client credentials only).
func (h *Gateway) AuthorizationServer(c echo.Context) error {
	base := BaseURL(c)
	return c.JSON(http.StatusOK, map[string]any{
		"issuer":                                base,
		"token_endpoint":                        base + "/oauth/token",
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{models.ScopeEvaluate},
		"response_types_supported":              []string{},
	})
}
