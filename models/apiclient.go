package models

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ScopeEvaluate is the scope of API clients that ask for runtime decisions
// (and report tasks done, and poll their reviews).
const ScopeEvaluate = "access:evaluate"

// ClientScopes lists the scopes an API client may hold.
var ClientScopes = []string{ScopeEvaluate}

// APITokenLifetime is how long a bearer token lives: minutes, not months.
// PRODUCT.md caps it at 15 minutes.
const APITokenLifetime = 10 * time.Minute

// APIClient is a machine (a gateway, an agent) that calls the decision API.
// Only the SHA-256 of its secret is kept: the secret is shown once, at
// creation or rotation. The secret is 32 random bytes, so a fast hash is
// enough (there is nothing to brute-force).
type APIClient struct {
	ID uint `gorm:"primaryKey"`
	// ClientID is the public identifier sent with the secret.
	ClientID   string
	Name       string
	TeamID     uint
	Scopes     string
	SecretHash string `json:"-"`
	// WebhookURL, when set, receives review.decided for this client's requests.
	WebhookURL  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	RotatedAt   *time.Time
	RevokedAt   *time.Time
	LastTokenAt *time.Time

	Team Team `gorm:"foreignKey:TeamID"`
}

// HasScope reports whether the client holds a scope.
func (c APIClient) HasScope(scope string) bool {
	for _, s := range SplitList(c.Scopes) {
		if s == scope {
			return true
		}
	}
	return false
}

// Active reports whether the client is not revoked.
func (c APIClient) Active() bool { return c.RevokedAt == nil }

// APIToken is a short-lived bearer token of an API client; only its hash is
// stored.
type APIToken struct {
	ID        uint `gorm:"primaryKey"`
	TokenHash string
	ClientID  uint
	Scopes    string
	ExpiresAt time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

// HasScope reports whether the token carries scope (Scopes is the
// comma-separated list SplitList normalises), without allocating: it is on
// every machine request's path.
func (t APIToken) HasScope(scope string) bool {
	for rest := t.Scopes; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		if strings.EqualFold(strings.TrimSpace(part), scope) {
			return true
		}
	}
	return false
}

// APIClientInput is the form and CLI input of an API client.
type APIClientInput struct {
	Name       string
	TeamID     uint
	Scopes     []string
	WebhookURL string
}

// Validate checks the input.
func (in *APIClientInput) Validate() error {
	in.Name = strings.TrimSpace(in.Name)
	in.WebhookURL = strings.TrimSpace(in.WebhookURL)
	v := NewValidationError()
	v.checkName(in.Name, 120, "")
	if in.TeamID == 0 {
		v.Add("team", "Choose the team whose servers the client may ask about.")
	}
	if len(in.Scopes) == 0 {
		v.Add("scopes", "Choose at least one scope (access:evaluate).")
	}
	for _, s := range in.Scopes {
		if !containsString(ClientScopes, s) {
			v.Add("scopes", fmt.Sprintf("Unknown scope %q: use %s.", s, strings.Join(ClientScopes, ", ")))
		}
	}
	if in.WebhookURL != "" {
		if msg := validateWebhookURL(in.WebhookURL); msg != "" {
			v.Add("webhook_url", msg)
		}
	}
	return v.Err()
}

func validateWebhookURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 500 {
		return "Enter an http(s) URL of at most 500 characters."
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func clientSummary(c APIClient) map[string]any {
	return map[string]any{"client_id": c.ClientID, "name": c.Name, "team": c.TeamID, "scopes": c.Scopes,
		"webhook": c.WebhookURL != ""}
}

// CreateAPIClient registers an API client and returns it with its secret,
// which is never stored and cannot be shown again.
func (s *Store) CreateAPIClient(ctx context.Context, actor Actor, in APIClientInput) (APIClient, string, error) {
	if err := in.Validate(); err != nil {
		return APIClient{}, "", err
	}
	secret := "css_" + RandomToken(32)
	c := APIClient{ClientID: "csc_" + RandomToken(12), Name: in.Name, TeamID: in.TeamID,
		Scopes: JoinList(in.Scopes), SecretHash: HashToken(secret), WebhookURL: in.WebhookURL}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&Team{}, in.TeamID).Error; err != nil {
			v := NewValidationError()
			v.Add("team", "Choose an existing team.")
			return v
		}
		if err := tx.Omit("Team").Create(&c).Error; err != nil {
			return fmt.Errorf("create API client: %w", mapError(err))
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "client.create", ObjectType: "api_client",
			ObjectID: fmt.Sprint(c.ID), After: clientSummary(c)})
	})
	if err != nil {
		return APIClient{}, "", err
	}
	return c, secret, nil
}

// RotateAPIClientSecret replaces a client's secret and returns the new one
// (shown once). Tokens already issued stay valid until they expire (at most
// APITokenLifetime); revoke the client to end them at once.
func (s *Store) RotateAPIClientSecret(ctx context.Context, actor Actor, id uint) (APIClient, string, error) {
	secret := "css_" + RandomToken(32)
	var c APIClient
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&c, id).Error; err != nil {
			return mapError(err)
		}
		if c.RevokedAt != nil {
			return fmt.Errorf("%w: the client is revoked", ErrInvalidTransition)
		}
		now := s.Now()
		c.SecretHash, c.RotatedAt = HashToken(secret), &now
		if err := tx.Model(&c).Updates(map[string]any{"secret_hash": c.SecretHash, "rotated_at": now}).Error; err != nil {
			return fmt.Errorf("rotate client secret: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "client.rotate", ObjectType: "api_client", ObjectID: fmt.Sprint(c.ID)})
	})
	if err != nil {
		return APIClient{}, "", err
	}
	return c, secret, nil
}

// RevokeAPIClient revokes a client and every token it holds, at once.
func (s *Store) RevokeAPIClient(ctx context.Context, actor Actor, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var c APIClient
		if err := tx.First(&c, id).Error; err != nil {
			return mapError(err)
		}
		if c.RevokedAt != nil {
			return fmt.Errorf("%w: the client is already revoked", ErrInvalidTransition)
		}
		now := s.Now()
		if err := tx.Model(&c).Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("revoke client: %w", err)
		}
		if err := tx.Model(&APIToken{}).Where("client_id = ? AND revoked_at IS NULL", c.ID).Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("revoke client tokens: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "client.revoke", ObjectType: "api_client", ObjectID: fmt.Sprint(c.ID),
			Before: clientSummary(c)})
	})
}

// SetAPIClientWebhook sets (or, with "", clears) the client's webhook URL.
func (s *Store) SetAPIClientWebhook(ctx context.Context, actor Actor, id uint, webhookURL string) error {
	webhookURL = strings.TrimSpace(webhookURL)
	if webhookURL != "" {
		if msg := validateWebhookURL(webhookURL); msg != "" {
			v := NewValidationError()
			v.Add("webhook_url", msg)
			return v
		}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&APIClient{}).Where("id = ?", id).Update("webhook_url", webhookURL)
		if res.Error != nil {
			return fmt.Errorf("set client webhook: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "client.webhook", ObjectType: "api_client", ObjectID: fmt.Sprint(id),
			After: map[string]any{"webhook": webhookURL != ""}})
	})
}

// APIClients lists the clients of the teams in scope, by name.
func (s *Store) APIClients(ctx context.Context, scope TeamScope) ([]APIClient, error) {
	var out []APIClient
	err := scope.apply(s.r(ctx).Preload("Team"), "team_id").Order("name, id").Find(&out).Error
	return out, err
}

// APIClientByID returns one client with its team.
func (s *Store) APIClientByID(ctx context.Context, id uint) (APIClient, error) {
	var c APIClient
	return c, mapError(s.r(ctx).Preload("Team").First(&c, id).Error)
}

// IssueAPIToken is the OAuth 2.0 client-credentials grant: it checks the
// client id and secret (in constant time) and returns a bearer token and its
// expiry. scopes, when not empty, narrows the token to a subset of the
// client's scopes. A wrong id or secret, or a revoked client, is
// ErrUnauthenticated; a scope the client does not hold is ErrForbidden.
func (s *Store) IssueAPIToken(ctx context.Context, clientID, secret string, scopes []string) (string, APIToken, APIClient, error) {
	var c APIClient
	err := s.r(ctx).Where("client_id = ?", clientID).First(&c).Error
	// Compare even when the client is unknown, so timing says nothing.
	want := c.SecretHash
	if want == "" {
		want = HashToken("no such client")
	}
	match := subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(want)) == 1
	if err != nil || !match || c.RevokedAt != nil {
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return "", APIToken{}, c, fmt.Errorf("look up client: %w", err)
		}
		return "", APIToken{}, c, ErrUnauthenticated
	}
	granted := SplitList(c.Scopes)
	if len(scopes) > 0 {
		for _, sc := range scopes {
			if !containsString(granted, sc) {
				return "", APIToken{}, c, fmt.Errorf("%w: the client does not hold scope %q", ErrForbidden, sc)
			}
		}
		granted = SplitList(strings.Join(scopes, ","))
	}
	token := "cst_" + RandomToken(32)
	now := s.Now()
	t := APIToken{TokenHash: HashToken(token), ClientID: c.ID, Scopes: strings.Join(granted, ","), ExpiresAt: now.Add(APITokenLifetime)}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&t).Error; err != nil {
			return fmt.Errorf("issue token: %w", err)
		}
		if err := tx.Model(&APIClient{}).Where("id = ?", c.ID).Update("last_token_at", now).Error; err != nil {
			return fmt.Errorf("issue token: %w", err)
		}
		return s.appendAudit(tx, Actor{Label: "client:" + c.ClientID}, AuditEntry{Action: "client.token", ObjectType: "api_client",
			ObjectID: fmt.Sprint(c.ID), After: map[string]any{"token": t.ID, "expires_at": t.ExpiresAt, "scopes": t.Scopes}})
	})
	if err != nil {
		return "", APIToken{}, c, err
	}
	return token, t, c, nil
}

// CheckAPIToken returns the client and token of a bearer token. A token
// that is unknown, expired or revoked, or whose client is revoked, is
// ErrUnauthenticated at once (there is no cache).
func (s *Store) CheckAPIToken(ctx context.Context, token string) (APIClient, APIToken, error) {
	if token == "" {
		return APIClient{}, APIToken{}, ErrUnauthenticated
	}
	// One query: the token and its client.
	var row struct {
		APIClient
		TokenID        uint
		TokenScopes    string
		TokenExpiresAt time.Time
		TokenRevokedAt *time.Time
	}
	hash := HashToken(token)
	client, t, err := s.cachedAPIToken(ctx, hash, func() (APIClient, APIToken, error) {
		err := s.r(ctx).Table("api_tokens").
			Select("api_clients.*, api_tokens.id AS token_id, api_tokens.scopes AS token_scopes, "+
				"api_tokens.expires_at AS token_expires_at, api_tokens.revoked_at AS token_revoked_at").
			Joins("JOIN api_clients ON api_clients.id = api_tokens.client_id").
			Where("api_tokens.token_hash = ?", hash).Limit(1).Scan(&row).Error
		t := APIToken{ID: row.TokenID, ClientID: row.APIClient.ID, Scopes: row.TokenScopes, ExpiresAt: row.TokenExpiresAt, RevokedAt: row.TokenRevokedAt}
		return row.APIClient, t, err
	})
	if err != nil {
		return APIClient{}, APIToken{}, fmt.Errorf("look up token: %w", err)
	}
	if t.ID == 0 || t.RevokedAt != nil || !s.Now().Before(t.ExpiresAt) || client.RevokedAt != nil {
		return APIClient{}, APIToken{}, ErrUnauthenticated
	}
	return client, t, nil
}

// RevokeAPIToken revokes one token (by its value), e.g. when a gateway
// shuts down. Unknown tokens are ignored.
func (s *Store) RevokeAPIToken(ctx context.Context, token string) error {
	return s.w(ctx).Model(&APIToken{}).Where("token_hash = ? AND revoked_at IS NULL", HashToken(token)).
		Update("revoked_at", s.Now()).Error
}

// APIClientByClientID returns a client by its public client id.
func (s *Store) APIClientByClientID(ctx context.Context, clientID string) (APIClient, error) {
	var c APIClient
	return c, mapError(s.r(ctx).Preload("Team").Where("client_id = ?", clientID).First(&c).Error)
}
