package models

import "fmt"

// Risk is the risk level of a tool call.
type Risk string

// Risk levels.
const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

// Valid reports whether r is a known level.
func (r Risk) Valid() bool { return r == RiskLow || r == RiskMedium || r == RiskHigh }

// Rank orders levels: low 1, medium 2, high 3 (0 for unknown).
func (r Risk) Rank() int {
	switch r {
	case RiskLow:
		return 1
	case RiskMedium:
		return 2
	case RiskHigh:
		return 3
	}
	return 0
}

// DerivedRisk computes a tool's default risk from its annotations (PRODUCT.md):
// read-only and closed-world → low; read-only and open-world → medium; not
// read-only and not destructive → medium; destructive or no hints → high; a
// definition changed since its last review → high. It returns the reasons.
// Annotations are hints from the server, so missing ones count against it.
func DerivedRisk(t Tool) (Risk, []string) {
	if t.DefinitionChanged() {
		return RiskHigh, []string{"the tool's definition changed since it was last reviewed"}
	}
	if t.ReadOnlyHint == nil && t.DestructiveHint == nil && t.OpenWorldHint == nil {
		return RiskHigh, []string{"the tool declares no annotations"}
	}
	readOnly := t.ReadOnlyHint != nil && *t.ReadOnlyHint
	// MCP's default for destructiveHint and openWorldHint is true.
	destructive := t.DestructiveHint == nil || *t.DestructiveHint
	openWorld := t.OpenWorldHint == nil || *t.OpenWorldHint
	switch {
	case readOnly && !openWorld:
		return RiskLow, []string{"read-only and closed-world"}
	case readOnly:
		return RiskMedium, []string{"read-only but open-world (reaches outside systems)"}
	case !destructive:
		return RiskMedium, []string{"changes state but is not destructive"}
	default:
		return RiskHigh, []string{"may perform destructive updates"}
	}
}

// EffectiveRisk is the override when one is set, else the derived risk. A
// changed definition is high whatever the override says.
func EffectiveRisk(t Tool) (Risk, []string) {
	derived, reasons := DerivedRisk(t)
	if t.DefinitionChanged() || !t.RiskOverride.Valid() {
		return derived, reasons
	}
	return t.RiskOverride, []string{fmt.Sprintf("set to %s by the registry (%s); derived %s", t.RiskOverride, t.OverrideReason, derived)}
}

// DefinitionChanged reports whether the tool changed since its last review.
func (t Tool) DefinitionChanged() bool {
	return t.ReviewedHash != "" && t.ReviewedHash != t.DefinitionHash
}
