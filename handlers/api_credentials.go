package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// APICredential is a credential record as the API shows and accepts it.
// Secret is write-only: it is fingerprinted and dropped, never returned.
type APICredential struct {
	ID                uint       `json:"id,omitempty"`
	Name              string     `json:"name"`
	TeamID            uint       `json:"team_id"`
	EnvironmentID     uint       `json:"environment_id"`
	KeyType           string     `json:"key_type"`
	ServerIDs         []uint     `json:"server_ids"`
	Scopes            string     `json:"scopes"`
	OwnerID           uint       `json:"owner_id,omitempty"`
	Issuer            string     `json:"issuer"`
	IssuedAt          *time.Time `json:"issued_at,omitempty"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	LastRotatedAt     *time.Time `json:"last_rotated_at,omitempty"`
	RotationSpec      string     `json:"rotation_spec"`
	RotationTZ        string     `json:"rotation_tz"`
	NextDueAt         *time.Time `json:"next_due_at,omitempty"`
	Status            string     `json:"status"`
	Notes             string     `json:"notes"`
	Secret            string     `json:"secret,omitempty"`
	FingerprintPrefix string     `json:"fingerprint_prefix,omitempty"`
	Last4             string     `json:"last4,omitempty"`
	SharedWith        int64      `json:"shared_with"`
	ExposedIn         string     `json:"exposed_in,omitempty"`
	Source            string     `json:"source,omitempty"`
}

func apiCredential(c models.Credential, servers []uint, shared int64) APICredential {
	fp := c.Fingerprint
	if len(fp) > 12 {
		fp = fp[:12]
	}
	out := APICredential{ID: c.ID, Name: c.Name, TeamID: c.TeamID, EnvironmentID: c.EnvironmentID, KeyType: string(c.KeyType),
		ServerIDs: servers, Scopes: c.Scopes, Issuer: c.Issuer, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
		LastRotatedAt: c.LastRotatedAt, RotationSpec: c.RotationSpec, RotationTZ: c.RotationTZ, NextDueAt: c.NextDueAt,
		Status: string(c.Status), Notes: c.Notes, FingerprintPrefix: fp, Last4: c.Last4, SharedWith: shared,
		ExposedIn: c.ExposedIn, Source: c.Source}
	if out.ServerIDs == nil {
		out.ServerIDs = []uint{}
	}
	if c.OwnerID != nil {
		out.OwnerID = *c.OwnerID
	}
	return out
}

func (a APICredential) input() models.CredentialInput {
	return models.CredentialInput{Name: a.Name, TeamID: a.TeamID, EnvironmentID: a.EnvironmentID, KeyType: models.KeyType(a.KeyType),
		ServerIDs: a.ServerIDs, Scopes: a.Scopes, OwnerID: a.OwnerID, Issuer: a.Issuer, IssuedAt: a.IssuedAt, ExpiresAt: a.ExpiresAt,
		LastRotatedAt: a.LastRotatedAt, RotationSpec: a.RotationSpec, RotationTZ: a.RotationTZ,
		Status: models.CredentialStatus(a.Status), Notes: a.Notes, Secret: a.Secret}
}

// ListCredentials answers GET /api/v1/credentials with the filters of the
// page (team, environment, server, key_type, status, reused, overdue, q).
func (h *API) ListCredentials(c echo.Context) error {
	scope, err := h.Scope(c, InventoryRead)
	if err != nil {
		return err
	}
	f := models.CredentialFilter{ListParams: ListParams(c), Scope: scope, KeyType: models.KeyType(c.QueryParam("key_type")),
		Status: models.CredentialStatus(c.QueryParam("status")), Reused: c.QueryParam("reused") == "1" || c.QueryParam("reused") == "true",
		Overdue:     c.QueryParam("overdue") == "1" || c.QueryParam("overdue") == "true",
		OnSensitive: c.QueryParam("sensitive") == "1" || c.QueryParam("sensitive") == "true"}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	f.ServerID, _ = optionalID(c.QueryParam("server"))
	page, err := h.Store.Credentials(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(page, func(r models.CredentialRow) APICredential {
		return apiCredential(r.Credential, r.ServerIDs, r.SharedWith)
	}))
}

func (h *API) credentialOut(c echo.Context, cred models.Credential) (APICredential, error) {
	full, err := h.Store.CredentialByID(c.Request().Context(), cred.ID)
	if err != nil {
		return APICredential{}, err
	}
	same, err := h.Store.SameSecret(c.Request().Context(), full)
	if err != nil {
		return APICredential{}, err
	}
	ids := make([]uint, 0, len(full.Servers))
	for _, s := range full.Servers {
		ids = append(ids, s.ID)
	}
	return apiCredential(full, ids, int64(len(same))), nil
}

func (h *API) readableCredential(c echo.Context) (models.Credential, error) {
	return ReadableCredential(c, h.Base, h.Store)
}

// GetCredential answers GET /api/v1/credentials/:id.
func (h *API) GetCredential(c echo.Context) error {
	cred, err := h.readableCredential(c)
	if err != nil {
		return err
	}
	out, err := h.credentialOut(c, cred)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// CreateCredential answers POST /api/v1/credentials.
func (h *API) CreateCredential(c echo.Context) error {
	var in APICredential
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := h.Require(c, in.TeamID, InventoryWrite); err != nil {
		return err
	}
	cred, err := h.Store.CreateCredential(c.Request().Context(), auth.Actor(c), in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	out, err := h.credentialOut(c, cred)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/credentials/%d", cred.ID))
	return c.JSON(http.StatusCreated, out)
}

// UpdateCredential answers PUT /api/v1/credentials/:id.
func (h *API) UpdateCredential(c echo.Context) error {
	cred, err := h.readableCredential(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, cred.TeamID, InventoryWrite); err != nil {
		return err
	}
	var in APICredential
	if err := DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.TeamID != cred.TeamID {
		if err := h.Require(c, in.TeamID, InventoryWrite); err != nil {
			return err
		}
	}
	saved, err := h.Store.UpdateCredential(c.Request().Context(), auth.Actor(c), cred.ID, in.input())
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	out, err := h.credentialOut(c, saved)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// DeleteCredential answers DELETE /api/v1/credentials/:id.
func (h *API) DeleteCredential(c echo.Context) error {
	cred, err := h.readableCredential(c)
	if err != nil {
		return err
	}
	if err := h.Require(c, cred.TeamID, InventoryWrite); err != nil {
		return err
	}
	if err := h.Store.DeleteCredential(c.Request().Context(), auth.Actor(c), cred.ID); err != nil {
		return err
	}
	h.FindingsChanged(c)
	return c.NoContent(http.StatusNoContent)
}
