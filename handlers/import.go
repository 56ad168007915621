package handlers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// Import turns MCP client configuration files (Claude Desktop, Cursor, VS
// Code) into draft servers and credential records, in two steps: preview,
// then apply.
//
// Between the two steps the preview travels through the browser as a
// hidden field: it holds no secret (fingerprints, last four characters and
// redacted endpoints only), and it is signed with a key derived from the
// fingerprint key, bound to the user, the team, the environment and a
// 30-minute expiry, so it cannot be altered or replayed by someone else.
// The configuration itself (and its secrets) is never sent back.
type Import struct {
	*Base
	Store *models.Store
	// Now is the clock of preview expiry (nil: time.Now).
	Now func() time.Time
}

const (
	importPurpose = "mcp-config-import"
	importTTL     = 30 * time.Minute
	// notKept is added to errors: the pasted text is not shown again.
	notKept = " The pasted text was not kept, for safety (it may hold secrets): paste or choose the file again."
)

// importEnvelope is the signed payload of the confirm step.
type importEnvelope struct {
	UserID        uint                 `json:"user"`
	TeamID        uint                 `json:"team"`
	EnvironmentID uint                 `json:"environment"`
	Source        string               `json:"source"`
	Expires       int64                `json:"expires"`
	Preview       models.ImportPreview `json:"preview"`
}

func (h *Import) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Form shows the upload-or-paste form.
func (h *Import) Form(c echo.Context) error {
	return h.renderForm(c, http.StatusOK, views.ImportForm{})
}

func (h *Import) renderForm(c echo.Context, status int, form views.ImportForm) error {
	scope, err := h.Scope(c, InventoryWrite)
	if err != nil {
		return err
	}
	teams, envs, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	teams[0].Label, envs[0].Label = "Choose a team", "Choose an environment"
	if form.Team == "" && len(teams) == 2 {
		form.Team = teams[1].Value
	}
	return Render(c, status, views.ImportFormPage(views.ImportFormProps{Layout: h.Layout(c, "Import"), Form: form,
		Teams: teams, Environments: envs}))
}

// target checks the chosen team (inventory:write held there) and environment.
func (h *Import) target(c echo.Context, form views.ImportForm, errs map[string]string) (models.Team, models.Environment, error) {
	ctx := c.Request().Context()
	var team models.Team
	var env models.Environment
	teamID, _ := strconv.ParseUint(form.Team, 10, 64)
	if teamID == 0 {
		errs["team"] = "Choose the team that will own the imported servers."
	} else if ok, err := h.Can(c, uint(teamID), InventoryWrite); err != nil {
		return team, env, err
	} else if t, terr := h.Store.TeamByID(ctx, uint(teamID)); !ok || terr != nil {
		errs["team"] = "You can import only into teams where you hold the governance role."
	} else {
		team = t
	}
	envID, _ := strconv.ParseUint(form.Environment, 10, 64)
	if e, err := h.Store.EnvironmentByID(ctx, uint(envID)); envID == 0 || err != nil {
		errs["environment"] = "Choose an environment."
	} else {
		env = e
	}
	return team, env, nil
}

// readConfig returns the uploaded file, or else the pasted text, and the
// name of its source ("" for a paste).
func readConfig(c echo.Context) (data []byte, source string, pasted bool, err error) {
	if fh, ferr := c.FormFile("file"); ferr == nil && fh.Size > 0 {
		if fh.Size > models.MaxImportSize {
			return nil, fh.Filename, false, models.ErrImportTooLarge
		}
		f, err := fh.Open()
		if err != nil {
			return nil, fh.Filename, false, fmt.Errorf("read upload: %w", err)
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, models.MaxImportSize+1))
		return data, fh.Filename, false, err
	}
	return []byte(c.FormValue("config")), "", true, nil
}

// Preview parses the file and shows what would be created.
func (h *Import) Preview(c echo.Context) error {
	form := views.ImportForm{Team: c.FormValue("team"), Environment: c.FormValue("environment"), Errors: map[string]string{}}
	team, env, err := h.target(c, form, form.Errors)
	if err != nil {
		return err
	}
	data, source, pasted, err := readConfig(c)
	fp := h.Store.Fingerprinter()
	switch {
	case errors.Is(err, models.ErrImportTooLarge):
		form.Errors["config"] = "The file is larger than 1 MiB."
	case err != nil:
		return err
	case len(strings.TrimSpace(string(data))) == 0:
		form.Errors["config"] = "Choose a configuration file or paste its content."
	case fp == nil:
		form.Errors["config"] = "Import is unavailable: no fingerprint key is configured, so secrets could not be recorded safely."
	}
	if len(form.Errors) > 0 && form.Errors["config"] == "" && len(data) > 0 && pasted {
		form.Errors["config"] = strings.TrimSpace(notKept)
	}
	if len(form.Errors) > 0 {
		return h.renderForm(c, http.StatusUnprocessableEntity, form)
	}
	preview, err := models.ParseMCPConfig(data, fp)
	if err != nil {
		var ce *models.ConfigError
		switch {
		case errors.As(err, &ce):
			form.Errors["config"] = ce.Error() + "."
		case errors.Is(err, models.ErrImportTooLarge):
			form.Errors["config"] = "The file is larger than 1 MiB."
		default:
			return err
		}
		if pasted {
			form.Errors["config"] += notKept
		}
		return h.renderForm(c, http.StatusUnprocessableEntity, form)
	}
	u, _ := auth.CurrentUser(c)
	envelope := importEnvelope{UserID: u.ID, TeamID: team.ID, EnvironmentID: env.ID, Source: models.ImportSourceName(source),
		Expires: h.now().Add(importTTL).Unix(), Preview: preview}
	raw, err := json.Marshal(envelope)
	if err != nil {
		return fmt.Errorf("encode import preview: %w", err)
	}
	return Render(c, http.StatusOK, views.ImportPreviewPage(views.ImportPreviewProps{Layout: h.Layout(c, "Import preview"),
		Preview: preview, Source: envelope.Source, TeamName: team.Name, EnvironmentName: env.Name,
		Envelope: base64.RawURLEncoding.EncodeToString(raw), Signature: fp.Sign(importPurpose, raw)}))
}

// Apply creates what a signed preview lists.
func (h *Import) Apply(c echo.Context) error {
	fail := func(form views.ImportForm, msg string) error {
		form.Errors = map[string]string{"config": msg}
		return h.renderForm(c, http.StatusUnprocessableEntity, form)
	}
	fp := h.Store.Fingerprinter()
	raw, err := base64.RawURLEncoding.DecodeString(c.FormValue("envelope"))
	var envelope importEnvelope
	if fp == nil || err != nil || !fp.Verify(importPurpose, raw, c.FormValue("sig")) || json.Unmarshal(raw, &envelope) != nil {
		return fail(views.ImportForm{}, "This preview is not valid (it was changed or is incomplete). Choose the file again.")
	}
	form := views.ImportForm{Team: strconv.FormatUint(uint64(envelope.TeamID), 10), Environment: strconv.FormatUint(uint64(envelope.EnvironmentID), 10)}
	if u, _ := auth.CurrentUser(c); u.ID != envelope.UserID {
		return fail(views.ImportForm{}, "This preview was made by someone else. Choose the file again.")
	}
	if h.now().Unix() > envelope.Expires {
		return fail(form, "This preview is more than 30 minutes old. Choose the file again.")
	}
	if err := h.Require(c, envelope.TeamID, InventoryWrite); err != nil {
		return err
	}
	res, err := h.Store.ApplyImport(c.Request().Context(), auth.Actor(c), envelope.Preview, envelope.TeamID, envelope.EnvironmentID, envelope.Source)
	if errors.Is(err, models.ErrConflict) {
		return fail(form, "This preview was already imported. To import the file again, choose it again.")
	}
	if fields := Errors(err); fields != nil {
		msgs := make([]string, 0, len(fields))
		for _, m := range fields {
			msgs = append(msgs, m)
		}
		sort.Strings(msgs)
		return fail(form, "Nothing was imported: "+strings.Join(msgs, " "))
	}
	if err != nil {
		return err
	}
	h.FindingsChanged(c)
	msg := fmt.Sprintf("Imported %d draft server(s) from %s.", len(res.Servers), envelope.Source)
	if n := len(res.Credentials); n > 0 {
		msg += fmt.Sprintf(" %d secret(s) were found in plain text and recorded as exposed credentials: rotate them.", n)
	}
	if len(res.Renamed) > 0 {
		msg += fmt.Sprintf(" %d server(s) got a new slug because theirs was taken.", len(res.Renamed))
	}
	kind := "success"
	if len(res.Credentials) > 0 {
		kind = "warning"
	}
	SetFlash(c, kind, msg)
	return SeeOther(c, "/servers?status=draft")
}
