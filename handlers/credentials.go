package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Credentials is the credential inventory: records of credentials, never
// their secrets.
type Credentials struct {
	*Base
	Store *models.Store
}

// List shows credentials the user may see, with filters, or exports them.
func (h *Credentials) List(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, InventoryRead)
	if err != nil {
		return err
	}
	f := models.CredentialFilter{ListParams: ListParams(c), Scope: scope, KeyType: models.KeyType(c.QueryParam("key_type")),
		Status: models.CredentialStatus(c.QueryParam("status")), Reused: c.QueryParam("reused") == "1",
		Overdue: c.QueryParam("overdue") == "1", OnSensitive: c.QueryParam("sensitive") == "1"}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	f.ServerID, _ = optionalID(c.QueryParam("server"))
	if f.KeyType != "" && !f.KeyType.Valid() {
		f.KeyType = ""
	}
	fetch := func(p models.ListParams) (models.Page[models.CredentialRow], error) {
		g := f
		g.ListParams = p
		return h.Store.Credentials(ctx, g)
	}
	if format := c.QueryParam("format"); format != "" {
		cols := []string{"id", "name", "team", "environment", "key_type", "servers", "scopes", "owner", "issuer", "issued_at",
			"expires_at", "last_rotated_at", "rotation_spec", "rotation_tz", "next_due_at", "status", "fingerprint_prefix", "last4",
			"shared_with", "source", "exposed_in"}
		return Export(c, format, "credentials", cols, func(r models.CredentialRow) []string {
			fp := r.Fingerprint
			if len(fp) > 12 {
				fp = fp[:12]
			}
			return []string{fmt.Sprint(r.ID), r.Name, r.TeamName, r.EnvironmentName, string(r.KeyType), strings.Join(r.ServerSlugs, " "),
				r.Scopes, r.OwnerEmail, r.Issuer, timeCell(r.IssuedAt), timeCell(r.ExpiresAt), timeCell(r.LastRotatedAt),
				r.RotationSpec, r.RotationTZ, timeCell(r.NextDueAt), string(r.Status), fp, r.Last4, fmt.Sprint(r.SharedWith),
				r.Source, r.ExposedIn}
		}, fetch, f.ListParams)
	}
	page, err := fetch(f.ListParams)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	writeScope, err := h.Scope(c, InventoryWrite)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Credentials(views.CredentialsProps{Layout: h.Layout(c, "Credentials"), Page: page,
		Pager: PagerFor(c, page), Now: h.Store.Now(), CanWrite: writeScope.All || len(writeScope.IDs) > 0,
		Filter: views.CredentialFilterData{Search: f.Search, Team: c.QueryParam("team"), Environment: c.QueryParam("environment"),
			KeyType: string(f.KeyType), Status: string(f.Status), Server: c.QueryParam("server"), Reused: f.Reused, Overdue: f.Overdue, Sensitive: f.OnSensitive,
			Teams: teams, Environments: envs}}))
}

// New shows the form; ?server=ID preselects a server and its team.
func (h *Credentials) New(c echo.Context) error {
	form := views.CredentialForm{Status: "active", KeyType: string(models.KeyShortLivedToken)}
	if id, _ := optionalID(c.QueryParam("server")); id != 0 {
		if srv, err := h.Store.ServerByID(c.Request().Context(), id); err == nil {
			if ok, _ := h.Can(c, srv.TeamID, InventoryWrite); ok {
				form.Team, form.Environment = fmt.Sprint(srv.TeamID), fmt.Sprint(srv.EnvironmentID)
				form.Servers = []string{fmt.Sprint(srv.ID)}
			}
		}
	}
	return h.renderForm(c, http.StatusOK, 0, form)
}

func (h *Credentials) renderForm(c echo.Context, status int, id uint, form views.CredentialForm) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, InventoryWrite)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	teams[0].Label, envs[0].Label = "Choose a team", "Choose an environment"
	owners, err := OwnerOptions(c, h.Store)
	if err != nil {
		return err
	}
	servers, err := h.Store.AllServers(ctx, scope)
	if err != nil {
		return err
	}
	serverOpts := make([]views.ServerOption, 0, len(servers))
	for _, s := range servers {
		serverOpts = append(serverOpts, views.ServerOption{ID: fmt.Sprint(s.ID), Slug: s.Slug, Team: fmt.Sprint(s.TeamID)})
	}
	form.Secret = "" // never sent back
	title := "Record a credential"
	if id != 0 {
		title = "Edit credential"
	}
	return Render(c, status, views.CredentialFormPage(views.CredentialFormProps{Layout: h.Layout(c, title), CredentialID: id,
		Form: form, Teams: teams, Environments: envs, Owners: owners, Servers: serverOpts,
		HasFingerprinter: h.Store.Fingerprinter() != nil}))
}

// parseDate reads an optional yyyy-mm-dd date (UTC midnight).
func parseDate(value, field string, errs map[string]string) *time.Time {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	t, err := time.Parse("2006-01-02", value)
	if err != nil {
		errs[field] = "Enter a date like 2026-12-31."
		return nil
	}
	return &t
}

func credentialForm(c echo.Context) (views.CredentialForm, models.CredentialInput, map[string]string) {
	values, _ := c.FormParams()
	f := views.CredentialForm{Name: c.FormValue("name"), Team: c.FormValue("team"), Environment: c.FormValue("environment"),
		KeyType: c.FormValue("key_type"), Servers: values["servers"], Scopes: c.FormValue("scopes"), Owner: c.FormValue("owner"),
		Issuer: c.FormValue("issuer"), IssuedAt: c.FormValue("issued_at"), ExpiresAt: c.FormValue("expires_at"),
		LastRotatedAt: c.FormValue("last_rotated_at"), RotationSpec: c.FormValue("rotation_spec"), RotationTZ: c.FormValue("rotation_tz"),
		Status: c.FormValue("status"), Notes: c.FormValue("notes")}
	errs := map[string]string{}
	in := models.CredentialInput{Name: f.Name, KeyType: models.KeyType(f.KeyType), Scopes: f.Scopes, Issuer: f.Issuer,
		RotationSpec: f.RotationSpec, RotationTZ: f.RotationTZ, Status: models.CredentialStatus(f.Status), Notes: f.Notes,
		Secret: c.FormValue("secret")}
	in.TeamID, _ = optionalID(f.Team)
	in.EnvironmentID, _ = optionalID(f.Environment)
	in.OwnerID, _ = optionalID(f.Owner)
	for _, s := range f.Servers {
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			in.ServerIDs = append(in.ServerIDs, uint(id))
		}
	}
	in.IssuedAt = parseDate(f.IssuedAt, "issued_at", errs)
	in.ExpiresAt = parseDate(f.ExpiresAt, "expires_at", errs)
	in.LastRotatedAt = parseDate(f.LastRotatedAt, "last_rotated_at", errs)
	return f, in, errs
}

// mergeErrors adds the form's own errors to the store's.
func mergeErrors(a, b map[string]string) map[string]string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		out[k] = v
	}
	return out
}

// Create records a credential in a team where the user holds inventory:write.
func (h *Credentials) Create(c echo.Context) error {
	form, in, formErrs := credentialForm(c)
	if in.TeamID != 0 {
		if ok, err := h.Can(c, in.TeamID, InventoryWrite); err != nil {
			return err
		} else if !ok {
			form.Errors = map[string]string{"team": "You can record credentials only for teams where you hold the governance role."}
			return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
		}
	}
	if len(formErrs) > 0 {
		form.Errors = mergeErrors(formErrs, Errors(h.Store.CheckCredential(c.Request().Context(), in)))
		return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
	}
	cred, err := h.Store.CreateCredential(c.Request().Context(), auth.Actor(c), in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	h.flashPolicy(c, cred, "Credential recorded.")
	return SeeOther(c, fmt.Sprintf("/credentials/%d", cred.ID))
}

// flashPolicy says whether the key type is outside a server's policy
// (which raises CS-006) along with the success message.
func (h *Credentials) flashPolicy(c echo.Context, cred models.Credential, ok string) {
	full, err := h.Store.CredentialByID(c.Request().Context(), cred.ID)
	if err != nil {
		SetFlash(c, "success", ok)
		return
	}
	var outside []string
	for _, srv := range full.Servers {
		entries, err := h.Store.KeyPolicyEntries(c.Request().Context(), srv)
		if err != nil {
			continue
		}
		if _, allowed := models.EffectiveKeyPolicy(srv, entries).Allows(full.KeyType); !allowed {
			outside = append(outside, srv.Slug)
		}
	}
	if len(outside) > 0 && full.Status == models.CredentialActive {
		SetFlash(c, "warning", fmt.Sprintf("%s Its key type (%s) is not allowed on %s: finding CS-006 is raised until the key type is allowed or replaced.",
			ok, full.KeyType.Label(), strings.Join(outside, ", ")))
		return
	}
	SetFlash(c, "success", ok)
}

// Show renders a credential: its fields, its servers, the credentials that
// share its secret, its open findings and its history.
func (h *Credentials) Show(c echo.Context) error {
	cred, err := h.readable(c)
	if err != nil {
		return err
	}
	return renderCredentialPage(c, h.Base, h.Store, http.StatusOK, cred,
		views.RotationWebhookForm{URL: cred.RotationWebhookURL})
}

// renderCredentialPage renders a credential's page with the rotation
// webhook form as given (the saved URL, or a refused one with its message).
func renderCredentialPage(c echo.Context, b *Base, store *models.Store, status int, cred models.Credential, webhook views.RotationWebhookForm) error {
	ctx := c.Request().Context()
	canWrite, err := b.Can(c, cred.TeamID, InventoryWrite)
	if err != nil {
		return err
	}
	same, err := store.SameSecret(ctx, cred)
	if err != nil {
		return err
	}
	findings, err := store.OpenFindingsOf(ctx, map[string][]uint{"credential": {cred.ID}})
	if err != nil {
		return err
	}
	history, err := store.AuditOf(ctx, "credential", cred.ID, 10)
	if err != nil {
		return err
	}
	canRotate, err := b.Can(c, cred.TeamID, RotationsWrite)
	if err != nil {
		return err
	}
	var rotations []models.RotationTaskRow
	for _, state := range []models.RotationTaskState{"", models.TaskCompleted} {
		page, err := store.RotationTasks(ctx, models.RotationTaskFilter{ListParams: models.ListParams{PerPage: 3},
			Scope: models.AllTeams, State: state, CredentialID: cred.ID})
		if err != nil {
			return err
		}
		rotations = append(rotations, page.Items...)
	}
	return Render(c, status, views.CredentialDetail(views.CredentialDetailProps{Layout: b.Layout(c, cred.Name),
		Credential: cred, SameSecret: same, Findings: findings, Audit: history, CanWrite: canWrite, Now: store.Now(),
		Rotations: rotations, CanRotate: canRotate, Webhook: webhook}))
}

func (h *Credentials) readable(c echo.Context) (models.Credential, error) {
	return ReadableCredential(c, h.Base, h.Store)
}

// ReadableCredential loads the :id credential and checks inventory:read in
// its team; a credential of another team is not found.
func ReadableCredential(c echo.Context, b *Base, store *models.Store) (models.Credential, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.Credential{}, err
	}
	cred, err := store.CredentialByID(c.Request().Context(), id)
	if err != nil {
		return cred, err
	}
	if ok, err := b.Can(c, cred.TeamID, InventoryRead); err != nil {
		return cred, err
	} else if !ok {
		return cred, models.ErrNotFound
	}
	return cred, nil
}

func (h *Credentials) writable(c echo.Context) (models.Credential, error) {
	cred, err := h.readable(c)
	if err != nil {
		return cred, err
	}
	return cred, h.Require(c, cred.TeamID, InventoryWrite)
}

func dateValue(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// Edit shows the edit form.
func (h *Credentials) Edit(c echo.Context) error {
	cred, err := h.writable(c)
	if err != nil {
		return err
	}
	form := views.CredentialForm{Name: cred.Name, Team: fmt.Sprint(cred.TeamID), Environment: fmt.Sprint(cred.EnvironmentID),
		KeyType: string(cred.KeyType), Scopes: cred.Scopes, Issuer: cred.Issuer, IssuedAt: dateValue(cred.IssuedAt),
		ExpiresAt: dateValue(cred.ExpiresAt), LastRotatedAt: dateValue(cred.LastRotatedAt), RotationSpec: cred.RotationSpec,
		RotationTZ: cred.RotationTZ, Status: string(cred.Status), Notes: cred.Notes, HasFingerprint: cred.Fingerprint != "",
		Last4: cred.Last4}
	if cred.OwnerID != nil {
		form.Owner = fmt.Sprint(*cred.OwnerID)
	}
	for _, s := range cred.Servers {
		form.Servers = append(form.Servers, fmt.Sprint(s.ID))
	}
	return h.renderForm(c, http.StatusOK, cred.ID, form)
}

// Update saves a credential.
func (h *Credentials) Update(c echo.Context) error {
	cred, err := h.writable(c)
	if err != nil {
		return err
	}
	form, in, formErrs := credentialForm(c)
	form.HasFingerprint, form.Last4 = cred.Fingerprint != "", cred.Last4
	if in.TeamID != cred.TeamID && in.TeamID != 0 {
		if ok, err := h.Can(c, in.TeamID, InventoryWrite); err != nil {
			return err
		} else if !ok {
			form.Errors = map[string]string{"team": "You can move credentials only to teams where you hold the governance role."}
			return h.renderForm(c, http.StatusUnprocessableEntity, cred.ID, form)
		}
	}
	if len(formErrs) > 0 {
		form.Errors = mergeErrors(formErrs, Errors(h.Store.CheckCredential(c.Request().Context(), in)))
		return h.renderForm(c, http.StatusUnprocessableEntity, cred.ID, form)
	}
	saved, err := h.Store.UpdateCredential(c.Request().Context(), auth.Actor(c), cred.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, cred.ID, form)
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	h.flashPolicy(c, saved, "Credential saved.")
	return SeeOther(c, fmt.Sprintf("/credentials/%d", cred.ID))
}

// Revoke marks a credential revoked.
func (h *Credentials) Revoke(c echo.Context) error {
	cred, err := h.writable(c)
	if err != nil {
		return err
	}
	if _, err := h.Store.RevokeCredential(c.Request().Context(), auth.Actor(c), cred.ID); err != nil {
		if msg := userMessage(err); err != nil && strings.Contains(err.Error(), "already") {
			SetFlash(c, "info", msg)
			return SeeOther(c, fmt.Sprintf("/credentials/%d", cred.ID))
		}
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", "Credential revoked. Revoke it at its issuer too: Countersign only records it.")
	return SeeOther(c, fmt.Sprintf("/credentials/%d", cred.ID))
}

// Delete removes a credential record.
func (h *Credentials) Delete(c echo.Context) error {
	cred, err := h.writable(c)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteCredential(c.Request().Context(), auth.Actor(c), cred.ID); err != nil {
		return err
	}
	h.FindingsChanged(c)
	SetFlash(c, "success", fmt.Sprintf("Credential %s deleted.", cred.Name))
	return SeeOther(c, "/credentials")
}
