package models

import (
	"sort"
	"strings"
	"time"
)

// KeyType is the kind of credential a server uses to reach a system.
type KeyType string

// The key types, from the weakest (long-lived, copyable) to the strongest.
const (
	KeyStaticAPIKey     KeyType = "static_api_key"
	KeyScopedAPIKey     KeyType = "scoped_api_key"
	KeyShortLivedToken  KeyType = "short_lived_token"
	KeyOAuthDelegated   KeyType = "oauth_delegated"
	KeyWorkloadIdentity KeyType = "workload_identity"
	KeyMTLSCertificate  KeyType = "mtls_certificate"
)

// KeyTypes lists every key type in display order.
var KeyTypes = []KeyType{KeyStaticAPIKey, KeyScopedAPIKey, KeyShortLivedToken, KeyOAuthDelegated, KeyWorkloadIdentity, KeyMTLSCertificate}

var keyTypeLabels = map[KeyType]string{
	KeyStaticAPIKey: "Static API key", KeyScopedAPIKey: "Scoped API key", KeyShortLivedToken: "Short-lived token",
	KeyOAuthDelegated: "OAuth (user-delegated)", KeyWorkloadIdentity: "Workload identity", KeyMTLSCertificate: "mTLS certificate",
}

// Label is the human name of a key type.
func (k KeyType) Label() string {
	if l, ok := keyTypeLabels[k]; ok {
		return l
	}
	return string(k)
}

// Valid reports whether k is a known key type.
func (k KeyType) Valid() bool { _, ok := keyTypeLabels[k]; return ok }

// LongLived reports whether the key type is a long-lived shared secret.
func (k KeyType) LongLived() bool { return k == KeyStaticAPIKey || k == KeyScopedAPIKey }

// Transport is how an MCP client talks to a server.
type Transport string

// MCP transports.
const (
	TransportStdio          Transport = "stdio"
	TransportStreamableHTTP Transport = "streamable-http"
	TransportSSE            Transport = "sse"
)

// Transports lists the valid transports.
var Transports = []Transport{TransportStdio, TransportStreamableHTTP, TransportSSE}

// Hosting says who runs a server.
type Hosting string

// Hosting values.
const (
	HostingSelf   Hosting = "self"
	HostingVendor Hosting = "vendor"
)

// ServerStatus is the lifecycle state of a server.
type ServerStatus string

// Server states.
const (
	ServerDraft   ServerStatus = "draft"
	ServerActive  ServerStatus = "active"
	ServerRetired ServerStatus = "retired"
)

// CredentialStatus is the lifecycle state of a credential.
type CredentialStatus string

// Credential states.
const (
	CredentialActive  CredentialStatus = "active"
	CredentialRevoked CredentialStatus = "revoked"
	CredentialExpired CredentialStatus = "expired"
)

// Environment is where servers run: dev, test, prod or a custom one.
type Environment struct {
	ID          uint `gorm:"primaryKey"`
	Name        string
	Sensitive   bool
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Server is a registered MCP server.
type Server struct {
	ID             uint `gorm:"primaryKey"`
	Slug           string
	Name           string
	Description    string
	TeamID         uint
	EnvironmentID  uint
	Transport      Transport
	Endpoint       string
	Hosting        Hosting
	VendorName     string
	OwnerID        *uint
	Status         ServerStatus
	ProductionData bool
	WriteActions   bool
	MultiTenant    bool
	ChainsTools    bool
	// DataClasses is a sorted, comma-separated list such as "financial,pii".
	DataClasses string
	CreatedAt   time.Time
	UpdatedAt   time.Time

	Team        Team        `gorm:"foreignKey:TeamID"`
	Environment Environment `gorm:"foreignKey:EnvironmentID"`
	Owner       *User       `gorm:"foreignKey:OwnerID"`
}

// SensitiveReach reports whether the server reaches production data,
// performs writes, or serves several tenants (the CS-001 condition).
func (s Server) SensitiveReach() bool { return s.ProductionData || s.WriteActions || s.MultiTenant }

// DataClassList splits DataClasses.
func (s Server) DataClassList() []string { return SplitList(s.DataClasses) }

// Tool is a tool a server exposes.
type Tool struct {
	ID          uint `gorm:"primaryKey"`
	ServerID    uint
	Name        string
	Title       string
	Description string
	// MCP annotations: hints only, never trusted for allowing anything.
	ReadOnlyHint    *bool
	DestructiveHint *bool
	IdempotentHint  *bool
	OpenWorldHint   *bool
	InputSchema     string
	// DefinitionHash is the SHA-256 of the tool's canonical definition;
	// ReviewedHash is the hash when a person last reviewed it.
	DefinitionHash string
	ReviewedHash   string
	RiskOverride   Risk
	OverrideReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Server Server `gorm:"foreignKey:ServerID"`
}

// AllowedKeyType is one entry of a key policy: a key type a server (or, as a
// default, every server of an environment) may use, and why.
type AllowedKeyType struct {
	ID            uint `gorm:"primaryKey"`
	ServerID      *uint
	EnvironmentID *uint
	KeyType       KeyType
	// MaxLifetimeDays bounds a credential's life; 0 means no limit.
	MaxLifetimeDays int
	RotationSpec    string
	RotationTZ      string
	RequiredScopes  string
	Rationale       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Credential is an inventory record of a credential. It never holds the
// secret: at most a keyed fingerprint and the last four characters.
type Credential struct {
	ID            uint `gorm:"primaryKey"`
	Name          string
	TeamID        uint
	EnvironmentID uint
	KeyType       KeyType
	Scopes        string
	OwnerID       *uint
	Issuer        string
	IssuedAt      *time.Time
	ExpiresAt     *time.Time
	LastRotatedAt *time.Time
	RotationSpec  string
	RotationTZ    string
	NextDueAt     *time.Time
	Status        CredentialStatus
	Fingerprint   string
	Last4         string
	Source        string
	// ExposedIn says where the secret was found in plain text (an imported
	// MCP client configuration file); it is cleared when the secret rotates.
	ExposedIn string
	Notes     string
	// RotationWebhookURL, when set, is called when a rotation falls due; the
	// external system rotates and calls back, signed.
	RotationWebhookURL string
	CreatedAt          time.Time
	UpdatedAt          time.Time

	Team        Team        `gorm:"foreignKey:TeamID"`
	Environment Environment `gorm:"foreignKey:EnvironmentID"`
	Owner       *User       `gorm:"foreignKey:OwnerID"`
	Servers     []Server    `gorm:"many2many:credential_servers"`
}

// SplitList splits a comma-separated list, trimming, lower-casing,
// de-duplicating and sorting its items.
func SplitList(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part != "" && !seen[part] {
			seen[part] = true
			out = append(out, part)
		}
	}
	sort.Strings(out)
	return out
}

// JoinList is the canonical form of a list for storage.
func JoinList(items []string) string { return strings.Join(SplitList(strings.Join(items, ",")), ",") }
