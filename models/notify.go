package models

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ChannelKind is the payload format of a notification channel.
type ChannelKind string

// Channel kinds.
const (
	// ChannelWebhook posts generic JSON: {"id","event","subject","team_id","created_at","payload"}.
	ChannelWebhook ChannelKind = "webhook"
	// ChannelSlack posts a Slack-compatible incoming-webhook body: {"text": …}.
	ChannelSlack ChannelKind = "slack"
)

// NotificationChannel is a team's webhook for notifications (new review
// requests, decisions, and any other outbox event it subscribes to).
type NotificationChannel struct {
	ID     uint `gorm:"primaryKey"`
	TeamID uint
	Name   string
	Kind   ChannelKind
	URL    string
	// Events is a comma-separated list of event names; empty means all.
	Events    string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Wants reports whether the channel subscribes to an event.
func (c NotificationChannel) Wants(event string) bool {
	events := SplitList(c.Events)
	return len(events) == 0 || containsString(events, strings.ToLower(event))
}

// NotificationChannelInput is the form input of a channel.
type NotificationChannelInput struct {
	TeamID  uint
	Name    string
	Kind    ChannelKind
	URL     string
	Events  string
	Enabled bool
}

// Validate checks the input.
func (in *NotificationChannelInput) Validate() error {
	in.Name, in.URL, in.Events = strings.TrimSpace(in.Name), strings.TrimSpace(in.URL), JoinList([]string{in.Events})
	v := NewValidationError()
	if in.TeamID == 0 {
		v.Add("team", "Choose a team.")
	}
	v.checkName(in.Name, 120, "")
	if in.Kind != ChannelWebhook && in.Kind != ChannelSlack {
		v.Add("kind", "Choose webhook (generic JSON) or slack.")
	}
	if msg := validateWebhookURL(in.URL); msg != "" {
		v.Add("url", msg)
	}
	if len(in.Events) > 300 {
		v.Add("events", "Use at most 300 characters.")
	}
	return v.Err()
}

func channelSummary(c NotificationChannel) map[string]any {
	return map[string]any{"team": c.TeamID, "name": c.Name, "kind": c.Kind, "events": c.Events, "enabled": c.Enabled}
}

// CreateNotificationChannel adds a channel to a team.
func (s *Store) CreateNotificationChannel(ctx context.Context, actor Actor, in NotificationChannelInput) (NotificationChannel, error) {
	if err := in.Validate(); err != nil {
		return NotificationChannel{}, err
	}
	c := NotificationChannel{TeamID: in.TeamID, Name: in.Name, Kind: in.Kind, URL: in.URL, Events: in.Events, Enabled: in.Enabled}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if tx.First(&Team{}, in.TeamID).Error != nil {
			v := NewValidationError()
			v.Add("team", "Choose an existing team.")
			return v
		}
		if err := tx.Create(&c).Error; err != nil {
			return fmt.Errorf("create channel: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "channel.create", ObjectType: "notification_channel",
			ObjectID: fmt.Sprint(c.ID), After: channelSummary(c)})
	})
	return c, err
}

// UpdateNotificationChannel changes a channel (its team stays).
func (s *Store) UpdateNotificationChannel(ctx context.Context, actor Actor, id uint, in NotificationChannelInput) (NotificationChannel, error) {
	var c NotificationChannel
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&c, id).Error; err != nil {
			return mapError(err)
		}
		in.TeamID = c.TeamID
		if err := in.Validate(); err != nil {
			return err
		}
		before := channelSummary(c)
		c.Name, c.Kind, c.URL, c.Events, c.Enabled = in.Name, in.Kind, in.URL, in.Events, in.Enabled
		if err := tx.Save(&c).Error; err != nil {
			return fmt.Errorf("update channel: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "channel.update", ObjectType: "notification_channel",
			ObjectID: fmt.Sprint(c.ID), Before: before, After: channelSummary(c)})
	})
	return c, err
}

// DeleteNotificationChannel removes a channel.
func (s *Store) DeleteNotificationChannel(ctx context.Context, actor Actor, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var c NotificationChannel
		if err := tx.First(&c, id).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Delete(&c).Error; err != nil {
			return fmt.Errorf("delete channel: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "channel.delete", ObjectType: "notification_channel",
			ObjectID: fmt.Sprint(c.ID), Before: channelSummary(c)})
	})
}

// NotificationChannels lists the channels of the teams in scope.
func (s *Store) NotificationChannels(ctx context.Context, scope TeamScope) ([]NotificationChannel, error) {
	var out []NotificationChannel
	err := scope.apply(s.r(ctx), "team_id").Order("team_id, name, id").Find(&out).Error
	return out, err
}

// WebhookPoster posts a JSON body to a URL; a non-2xx answer is an error.
type WebhookPoster interface {
	Post(ctx context.Context, url string, body []byte) error
}

// HTTPPoster is the WebhookPoster of production: a plain HTTP client with a
// timeout, no redirects followed.
type HTTPPoster struct{ Client *http.Client }

// NewHTTPPoster returns an HTTPPoster with a 10 s timeout.
func NewHTTPPoster() HTTPPoster {
	return HTTPPoster{Client: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Post sends body as application/json.
func (p HTTPPoster) Post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "countersign-webhook")
	res, err := p.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s", res.Status)
	}
	return nil
}

// Delivery limits.
const (
	// MaxDeliveryAttempts is how often a message is tried before it fails.
	MaxDeliveryAttempts = 8
	// deliveryLease keeps a message claimed while it is being sent.
	deliveryLease = 5 * time.Minute
)

// RetryBackoff is the wait after the n-th failed attempt: 30 s doubling up
// to one hour.
func RetryBackoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	if d > time.Hour {
		d = time.Hour
	}
	return d
}

// DeliveryResult counts one run of DeliverOutbox.
type DeliveryResult struct {
	Sent, Retried, Failed int
}

// DeliverOutbox sends due outbox messages: a message for an API client goes
// to that client's webhook; the others go to every enabled channel of their
// team that wants the event (none: the message is done). A failure is
// retried with RetryBackoff, and after MaxDeliveryAttempts the message is
// marked failed (admins list them with OutboxMessages(ctx, OutboxFailed,
// n)). Delivery is at least once: a retry may resend to a channel that
// already got it. Each message is claimed with a conditional update first,
// so two runs never send it at the same time.
func (s *Store) DeliverOutbox(ctx context.Context, poster WebhookPoster, limit int) (DeliveryResult, error) {
	var res DeliveryResult
	var due []OutboxMessage
	now := s.Now()
	if err := s.r(ctx).Where("status = ? AND next_attempt_at <= ?", OutboxPending, now).Order("id").Limit(limit).Find(&due).Error; err != nil {
		return res, fmt.Errorf("find due notifications: %w", err)
	}
	for _, m := range due {
		claim := s.w(ctx).Model(&OutboxMessage{}).Where("id = ? AND status = ? AND next_attempt_at = ?", m.ID, OutboxPending, m.NextAttemptAt).
			Update("next_attempt_at", now.Add(deliveryLease))
		if claim.Error != nil {
			return res, fmt.Errorf("claim notification: %w", claim.Error)
		}
		if claim.RowsAffected == 0 {
			continue
		}
		sendErr := s.deliverOne(ctx, poster, m)
		update := map[string]any{"attempts": m.Attempts + 1}
		switch {
		case sendErr == nil:
			update["status"], update["sent_at"], update["last_error"] = OutboxSent, s.Now(), ""
			res.Sent++
		case m.Attempts+1 >= MaxDeliveryAttempts:
			update["status"], update["last_error"] = OutboxFailed, truncate(sendErr.Error(), 1000)
			res.Failed++
		default:
			update["next_attempt_at"], update["last_error"] = s.Now().Add(RetryBackoff(m.Attempts+1)), truncate(sendErr.Error(), 1000)
			res.Retried++
		}
		if err := s.w(ctx).Model(&OutboxMessage{}).Where("id = ?", m.ID).Updates(update).Error; err != nil {
			return res, fmt.Errorf("record delivery: %w", err)
		}
	}
	return res, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// deliverOne posts one message to its targets; the first error stops it.
func (s *Store) deliverOne(ctx context.Context, poster WebhookPoster, m OutboxMessage) error {
	generic, _ := json.Marshal(map[string]any{"id": m.ID, "event": m.Event, "subject": m.Subject, "team_id": m.TeamID,
		"created_at": m.CreatedAt, "payload": json.RawMessage(m.Payload)})
	if m.ClientID != nil {
		var c APIClient
		if err := s.r(ctx).First(&c, *m.ClientID).Error; err != nil || c.WebhookURL == "" || c.RevokedAt != nil {
			return nil // nothing to deliver to any more
		}
		return poster.Post(ctx, c.WebhookURL, generic)
	}
	if m.CredentialID != nil {
		var c Credential
		if err := s.r(ctx).First(&c, *m.CredentialID).Error; err != nil || c.RotationWebhookURL == "" {
			return nil // nothing to deliver to any more
		}
		return poster.Post(ctx, c.RotationWebhookURL, generic)
	}
	if m.TeamID == nil {
		return nil
	}
	var channels []NotificationChannel
	if err := s.r(ctx).Where("team_id = ? AND enabled = ?", *m.TeamID, true).Order("id").Find(&channels).Error; err != nil {
		return fmt.Errorf("load channels: %w", err)
	}
	for _, ch := range channels {
		if !ch.Wants(m.Event) {
			continue
		}
		body := generic
		if ch.Kind == ChannelSlack {
			body, _ = json.Marshal(map[string]string{"text": slackText(m)})
		}
		if err := poster.Post(ctx, ch.URL, body); err != nil {
			return fmt.Errorf("channel %q: %w", ch.Name, err)
		}
	}
	return nil
}

// slackText renders a message as Slack mrkdwn: the subject in bold, then
// the payload's fields one per line.
func slackText(m OutboxMessage) string {
	var b strings.Builder
	b.WriteString("*" + m.Subject + "*")
	var fields map[string]any
	if json.Unmarshal([]byte(m.Payload), &fields) == nil {
		for _, k := range []string{"review_id", "status", "server", "tool", "subject", "on_behalf_of", "risk", "justification", "deadline"} {
			if v, ok := fields[k]; ok && v != nil && v != "" {
				fmt.Fprintf(&b, "\n%s: %v", k, v)
			}
		}
	}
	return b.String()
}

// RetryOutboxMessage puts a failed message back in the queue (from the
// admin page), audited.
func (s *Store) RetryOutboxMessage(ctx context.Context, actor Actor, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&OutboxMessage{}).Where("id = ? AND status = ?", id, OutboxFailed).
			Updates(map[string]any{"status": OutboxPending, "attempts": 0, "next_attempt_at": s.Now()})
		if res.Error != nil {
			return fmt.Errorf("retry notification: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: only failed notifications can be retried", ErrInvalidTransition)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "notification.retry", ObjectType: "outbox_message", ObjectID: fmt.Sprint(id)})
	})
}
