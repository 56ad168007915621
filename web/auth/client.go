package auth

import (
	"github.com/countersign/countersign/models"
	"github.com/labstack/echo/v4"
)

const clientKey = "auth.client"

// SetClient records the API client authenticated by a bearer token.
func SetClient(c echo.Context, client models.APIClient) { c.Set(clientKey, client) }

// CurrentClient returns the API client of a bearer-token request.
func CurrentClient(c echo.Context) (models.APIClient, bool) {
	v, ok := c.Get(clientKey).(models.APIClient)
	return v, ok
}

// ClientActor is the audit actor of the request's API client.
func ClientActor(c echo.Context) models.Actor {
	client, _ := CurrentClient(c)
	return models.Actor{Label: "client:" + client.ClientID, RequestID: RequestID(c)}
}
