package models

import "time"

// Severity is how bad a finding is.
type Severity string

// Severities, worst first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// Severities lists the severities, worst first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// Rank orders severities: critical 4 … low 1.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

// Finding is a stored posture problem. Findings are recomputed from the
// inventory; Key identifies the same problem across recomputes, so a finding
// keeps its first-seen time and is marked resolved when it disappears.
type Finding struct {
	ID       uint `gorm:"primaryKey"`
	Key      string
	RuleID   string
	Severity Severity
	// SeverityRank is Severity.Rank(), stored to sort by.
	SeverityRank  int
	ObjectType    string // "server", "credential" or "tool"
	ObjectID      uint
	ObjectName    string
	TeamID        uint
	EnvironmentID *uint
	Detail        string
	FirstSeenAt   time.Time
	LastSeenAt    time.Time
	ResolvedAt    *time.Time
	// ExceptedUntil is the end of the approved exception covering the
	// finding, copied here when the exception is approved.
	ExceptedUntil *time.Time
}

// FindingResult is one finding produced by a rule, before it is stored.
type FindingResult struct {
	Key           string
	RuleID        string
	Severity      Severity
	ObjectType    string
	ObjectID      uint
	ObjectName    string
	TeamID        uint
	EnvironmentID *uint
	Detail        string
}

// InventorySnapshot is everything the posture rules look at, loaded in one
// read. The rules are pure functions of it.
type InventorySnapshot struct {
	Now          time.Time
	Environments map[uint]Environment
	// Servers excludes nothing; rules skip retired servers themselves.
	Servers []Server
	Tools   []Tool
	// Policies holds every AllowedKeyType, server-level and environment-level.
	Policies    []AllowedKeyType
	Credentials []Credential
	// CredentialServers maps a credential id to the ids of its servers.
	CredentialServers map[uint][]uint
	// ActiveUsers holds the ids of active users.
	ActiveUsers map[uint]bool
	// RotationGrace is how long past its due time a rotation becomes overdue.
	RotationGrace time.Duration
	// ReviewCovered reports whether a review rule covers a tool of a server;
	// nil means no review rules exist.
	ReviewCovered func(Server, Tool) bool
}
