package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Permissions of the notifications admin.
var (
	NotificationsRead  = authz.Permission{Object: authz.ObjNotifications, Action: authz.ActRead}
	NotificationsWrite = authz.Permission{Object: authz.ObjNotifications, Action: authz.ActWrite}
)

// Notifications is the admin page of the teams' webhook channels and of
// the outbox deliveries that are waiting or failed.
type Notifications struct {
	*Base
	Store *models.Store
}

// outboxStatuses are the outbox filter values ("" is pending and failed).
var outboxStatuses = map[string]bool{"": true, "pending": true, "failed": true, "sent": true}

// List shows the channels and a page of outbox deliveries.
func (h *Notifications) List(c echo.Context) error {
	ctx := c.Request().Context()
	scope, err := h.Scope(c, NotificationsRead)
	if err != nil {
		return err
	}
	channels, err := h.Store.NotificationChannels(ctx, scope)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if !outboxStatuses[status] {
		status = ""
	}
	page, err := h.Store.OutboxPage(ctx, models.OutboxFilter{ListParams: ListParams(c), Scope: scope, Status: models.OutboxStatus(status)})
	if err != nil {
		return err
	}
	writeScope, err := h.Scope(c, NotificationsWrite)
	if err != nil {
		return err
	}
	teams, err := h.Store.AllTeams(ctx)
	if err != nil {
		return err
	}
	names := map[uint]string{}
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	links, err := h.RuntimeLinks(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.NotificationsPage(views.NotificationsProps{Layout: h.Layout(c, "Notifications"), Links: links,
		Channels: channels, Outbox: page, Pager: PagerFor(c, page), Status: status, Search: page.Params.Search,
		TeamNames: names, WriteScope: writeScope, Now: h.Store.Now()}))
}

// New shows the form of a new channel.
func (h *Notifications) New(c echo.Context) error {
	return h.renderForm(c, http.StatusOK, 0, views.ChannelForm{Kind: string(models.ChannelWebhook), Enabled: true,
		Team: c.QueryParam("team")})
}

func (h *Notifications) renderForm(c echo.Context, status int, id uint, form views.ChannelForm) error {
	scope, err := h.Scope(c, NotificationsWrite)
	if err != nil {
		return err
	}
	teams, _, err := FilterOptions(c, h.Store, scope)
	if err != nil {
		return err
	}
	teams[0].Label = "Choose a team"
	title := "New notification channel"
	if id != 0 {
		title = "Edit notification channel"
	}
	return Render(c, status, views.ChannelFormPage(views.ChannelFormProps{Layout: h.Layout(c, title), ID: id, Form: form, Teams: teams}))
}

func channelForm(c echo.Context) (views.ChannelForm, models.NotificationChannelInput) {
	f := views.ChannelForm{Team: c.FormValue("team"), Name: c.FormValue("name"), Kind: c.FormValue("kind"),
		URL: c.FormValue("url"), Events: c.FormValue("events"), Enabled: c.FormValue("enabled") == "on"}
	in := models.NotificationChannelInput{Name: f.Name, Kind: models.ChannelKind(f.Kind), URL: f.URL, Events: f.Events, Enabled: f.Enabled}
	in.TeamID, _ = optionalID(f.Team)
	return f, in
}

// Create adds a channel to a team.
func (h *Notifications) Create(c echo.Context) error {
	form, in := channelForm(c)
	if in.TeamID != 0 {
		if err := h.Require(c, in.TeamID, NotificationsWrite); err != nil {
			return err
		}
	}
	ch, err := h.Store.CreateNotificationChannel(c.Request().Context(), auth.Actor(c), in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, 0, form)
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Channel %q added: new review requests and decisions of the team are posted to it.", ch.Name))
	return SeeOther(c, "/admin/notifications")
}

// writableChannel loads the channel of :id and checks the user may change it.
func (h *Notifications) writableChannel(c echo.Context) (models.NotificationChannel, error) {
	id, err := IDParam(c, "id")
	if err != nil {
		return models.NotificationChannel{}, err
	}
	ch, err := h.Store.NotificationChannelByID(c.Request().Context(), id)
	if err != nil {
		return ch, err
	}
	if ok, err := h.Can(c, ch.TeamID, NotificationsRead); err != nil {
		return ch, err
	} else if !ok {
		return ch, models.ErrNotFound
	}
	return ch, h.Require(c, ch.TeamID, NotificationsWrite)
}

// Edit shows the form of a channel.
func (h *Notifications) Edit(c echo.Context) error {
	ch, err := h.writableChannel(c)
	if err != nil {
		return err
	}
	return h.renderForm(c, http.StatusOK, ch.ID, views.ChannelForm{Team: fmt.Sprint(ch.TeamID), Name: ch.Name,
		Kind: string(ch.Kind), URL: ch.URL, Events: ch.Events, Enabled: ch.Enabled})
}

// Update saves a channel; its team stays.
func (h *Notifications) Update(c echo.Context) error {
	ch, err := h.writableChannel(c)
	if err != nil {
		return err
	}
	form, in := channelForm(c)
	form.Team = fmt.Sprint(ch.TeamID)
	_, err = h.Store.UpdateNotificationChannel(c.Request().Context(), auth.Actor(c), ch.ID, in)
	if fields := Errors(err); fields != nil {
		form.Errors = fields
		return h.renderForm(c, http.StatusUnprocessableEntity, ch.ID, form)
	}
	if err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Channel %q saved.", in.Name))
	return SeeOther(c, "/admin/notifications")
}

// Delete removes a channel.
func (h *Notifications) Delete(c echo.Context) error {
	ch, err := h.writableChannel(c)
	if err != nil {
		return err
	}
	if err := h.Store.DeleteNotificationChannel(c.Request().Context(), auth.Actor(c), ch.ID); err != nil {
		return err
	}
	SetFlash(c, "success", fmt.Sprintf("Channel %q deleted.", ch.Name))
	return SeeOther(c, "/admin/notifications")
}

// Retry puts a failed delivery back in the queue; the next delivery run
// sends it.
func (h *Notifications) Retry(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := h.Store.OutboxMessageByID(ctx, id)
	if err != nil {
		return err
	}
	// A message without a team is an org-wide one: only org-wide roles see it.
	var team uint
	if m.TeamID != nil {
		team = *m.TeamID
	}
	readScope, err := h.Scope(c, NotificationsRead)
	if err != nil {
		return err
	}
	writeScope, err := h.Scope(c, NotificationsWrite)
	if err != nil {
		return err
	}
	if !readScope.All && (team == 0 || !readScope.Includes(team)) {
		return models.ErrNotFound
	}
	if !writeScope.All && (team == 0 || !writeScope.Includes(team)) {
		return fmt.Errorf("%w: your roles do not allow this in that team", models.ErrForbidden)
	}
	err = h.Store.RetryOutboxMessage(ctx, auth.Actor(c), m.ID)
	switch {
	case errors.Is(err, models.ErrInvalidTransition):
		SetFlash(c, "error", userMessage(err))
	case err != nil:
		return err
	default:
		SetFlash(c, "success", "Delivery queued again: the next delivery run (within a minute) sends it.")
	}
	return SeeOther(c, "/admin/notifications?status=failed")
}
