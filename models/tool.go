package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gorm.io/gorm"
)

// ToolDefinition is a tool as an MCP server describes it in tools/list.
type ToolDefinition struct {
	Name        string          `json:"name"`
	Title       string          `json:"title,omitempty"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
	Annotations *ToolHints      `json:"annotations,omitempty"`
}

// ToolHints are the MCP tool annotations. They are hints: Countersign uses
// them to derive a default risk, never to trust a tool.
type ToolHints struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    *bool  `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool  `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

var toolNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.\-/]{1,128}$`)

// Validate checks a tool definition.
func (d *ToolDefinition) Validate() error {
	d.Name = strings.TrimSpace(d.Name)
	d.Title = strings.TrimSpace(d.Title)
	v := NewValidationError()
	if !toolNamePattern.MatchString(d.Name) {
		v.Add("name", "Use 1–128 letters, digits, underscores, dashes, dots or slashes, as in the server's tools/list.")
	}
	if len(d.Title) > 200 {
		v.Add("title", "Use at most 200 characters.")
	}
	if len(d.Description) > 20000 {
		v.Add("description", "Use at most 20,000 characters.")
	}
	if len(d.InputSchema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(d.InputSchema, &schema); err != nil {
			v.Add("input_schema", "The input schema must be a JSON object.")
		} else if len(d.InputSchema) > 100000 {
			v.Add("input_schema", "The input schema is larger than 100 KB.")
		}
	}
	return v.Err()
}

// Hash returns the SHA-256 of the definition's canonical JSON (object keys
// sorted, insignificant white space removed), so the same definition always
// hashes the same, whatever the server's formatting.
func (d ToolDefinition) Hash() string {
	var schema any
	if len(d.InputSchema) > 0 {
		_ = json.Unmarshal(d.InputSchema, &schema)
	}
	hints := ToolHints{}
	if d.Annotations != nil {
		hints = *d.Annotations
	}
	canon, _ := json.Marshal(map[string]any{"name": d.Name, "title": d.Title, "description": d.Description,
		"inputSchema": schema, "annotations": hints})
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

func (d ToolDefinition) apply(t *Tool) {
	t.Name, t.Title, t.Description = d.Name, d.Title, d.Description
	t.InputSchema = ""
	if len(d.InputSchema) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, d.InputSchema) == nil {
			t.InputSchema = buf.String()
		}
	}
	t.ReadOnlyHint, t.DestructiveHint, t.IdempotentHint, t.OpenWorldHint = nil, nil, nil, nil
	if h := d.Annotations; h != nil {
		t.ReadOnlyHint, t.DestructiveHint, t.IdempotentHint, t.OpenWorldHint = h.ReadOnlyHint, h.DestructiveHint, h.IdempotentHint, h.OpenWorldHint
		if t.Title == "" {
			t.Title = h.Title
		}
	}
	t.DefinitionHash = d.Hash()
}

// Definition rebuilds the tool's definition from its stored fields.
func (t Tool) Definition() ToolDefinition {
	d := ToolDefinition{Name: t.Name, Title: t.Title, Description: t.Description}
	if t.InputSchema != "" {
		d.InputSchema = json.RawMessage(t.InputSchema)
	}
	if t.ReadOnlyHint != nil || t.DestructiveHint != nil || t.IdempotentHint != nil || t.OpenWorldHint != nil {
		d.Annotations = &ToolHints{ReadOnlyHint: t.ReadOnlyHint, DestructiveHint: t.DestructiveHint,
			IdempotentHint: t.IdempotentHint, OpenWorldHint: t.OpenWorldHint}
	}
	return d
}

func toolSummary(t Tool) map[string]any {
	risk, _ := EffectiveRisk(t)
	return map[string]any{"server": t.ServerID, "name": t.Name, "hash": t.DefinitionHash, "risk": risk,
		"read_only": t.ReadOnlyHint, "destructive": t.DestructiveHint, "open_world": t.OpenWorldHint}
}

// AddTool adds a tool by hand. A person entering it has reviewed it.
func (s *Store) AddTool(ctx context.Context, actor Actor, serverID uint, d ToolDefinition) (Tool, error) {
	if err := d.Validate(); err != nil {
		return Tool{}, err
	}
	t := Tool{ServerID: serverID}
	d.apply(&t)
	t.ReviewedHash = t.DefinitionHash
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&Server{}, serverID).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Omit("Server").Create(&t).Error; err != nil {
			if errors.Is(mapError(err), ErrConflict) {
				v := NewValidationError()
				v.Add("name", "This server already has a tool with this name.")
				return v
			}
			return fmt.Errorf("add tool: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "tool.create", ObjectType: "tool", ObjectID: fmt.Sprint(t.ID), After: toolSummary(t)})
	})
	return t, err
}

// ToolSyncResult counts what a tools/list import or sync changed.
type ToolSyncResult struct {
	Added, Changed, Unchanged int
	ChangedNames              []string
}

// SyncTools records a server's tools/list: new tools are added (reviewed
// when a person imports them, unreviewed when the gateway discovers them),
// changed definitions are updated but keep their last reviewed hash, so
// they stand out (CS-011) until someone reviews them again.
func (s *Store) SyncTools(ctx context.Context, actor Actor, serverID uint, defs []ToolDefinition, reviewedByActor bool) (ToolSyncResult, error) {
	var res ToolSyncResult
	v := NewValidationError()
	seen := map[string]bool{}
	for i := range defs {
		if err := defs[i].Validate(); err != nil {
			ve, _ := AsValidation(err)
			for f, msg := range ve.Fields {
				v.Add(fmt.Sprintf("tools[%d].%s", i, f), msg)
			}
		}
		if seen[defs[i].Name] {
			v.Add(fmt.Sprintf("tools[%d].name", i), fmt.Sprintf("Tool %q appears twice.", defs[i].Name))
		}
		seen[defs[i].Name] = true
	}
	if err := v.Err(); err != nil {
		return res, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&Server{}, serverID).Error; err != nil {
			return mapError(err)
		}
		var existing []Tool
		if err := tx.Where("server_id = ?", serverID).Find(&existing).Error; err != nil {
			return err
		}
		byName := map[string]Tool{}
		for _, t := range existing {
			byName[t.Name] = t
		}
		for _, d := range defs {
			t, ok := byName[d.Name]
			switch {
			case !ok:
				t = Tool{ServerID: serverID}
				d.apply(&t)
				if reviewedByActor {
					t.ReviewedHash = t.DefinitionHash
				}
				if err := tx.Omit("Server").Create(&t).Error; err != nil {
					return fmt.Errorf("add tool %s: %w", d.Name, err)
				}
				res.Added++
			case t.DefinitionHash == d.Hash():
				res.Unchanged++
				continue
			default:
				if t.ReviewedHash == "" {
					t.ReviewedHash = t.DefinitionHash
				}
				d.apply(&t)
				if err := tx.Omit("Server").Save(&t).Error; err != nil {
					return fmt.Errorf("update tool %s: %w", d.Name, err)
				}
				res.Changed++
				res.ChangedNames = append(res.ChangedNames, t.Name)
			}
		}
		if res.Added+res.Changed == 0 {
			return nil
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "tool.sync", ObjectType: "server", ObjectID: fmt.Sprint(serverID),
			After: map[string]any{"added": res.Added, "changed": res.ChangedNames, "unchanged": res.Unchanged}})
	})
	return res, err
}

// ParseToolsList reads a tools/list result: either {"tools":[…]} or a whole
// JSON-RPC response {"result":{"tools":[…]}}.
func ParseToolsList(data []byte) ([]ToolDefinition, error) {
	var doc struct {
		Tools  []ToolDefinition `json:"tools"`
		Result *struct {
			Tools []ToolDefinition `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		v := NewValidationError()
		v.Add("tools_json", "This is not valid JSON: "+jsonErrorPosition(data, err))
		return nil, v
	}
	tools := doc.Tools
	if doc.Result != nil {
		tools = doc.Result.Tools
	}
	if len(tools) == 0 {
		v := NewValidationError()
		v.Add("tools_json", `Paste the result of tools/list: {"tools": [ … ]} with at least one tool.`)
		return nil, v
	}
	return tools, nil
}

// jsonErrorPosition describes a JSON error with its line and column.
func jsonErrorPosition(data []byte, err error) string {
	var offset int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		offset = se.Offset
	case errors.As(err, &te):
		offset = te.Offset
		if te.Field != "" {
			return fmt.Sprintf("field %s should be %s (line %d)", te.Field, te.Type, lineOf(data, offset))
		}
	}
	if offset < 0 {
		return err.Error()
	}
	line, col := 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

func lineOf(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// SetToolRisk overrides (or, with an empty risk, clears the override of) a
// tool's derived risk, with a reason.
func (s *Store) SetToolRisk(ctx context.Context, actor Actor, toolID uint, risk Risk, reason string) (Tool, error) {
	reason = strings.TrimSpace(reason)
	v := NewValidationError()
	if risk != "" && !risk.Valid() {
		v.Add("risk", "Choose low, medium or high, or derive it from the annotations.")
	}
	if risk != "" && (reason == "" || len(reason) > 500) {
		v.Add("reason", "Explain the override in at most 500 characters.")
	}
	if err := v.Err(); err != nil {
		return Tool{}, err
	}
	var t Tool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&t, toolID).Error; err != nil {
			return mapError(err)
		}
		before := map[string]any{"risk_override": t.RiskOverride, "reason": t.OverrideReason}
		t.RiskOverride, t.OverrideReason = risk, reason
		if risk == "" {
			t.OverrideReason = ""
		}
		if err := tx.Omit("Server").Save(&t).Error; err != nil {
			return fmt.Errorf("override risk: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "tool.risk_override", ObjectType: "tool", ObjectID: fmt.Sprint(t.ID),
			Before: before, After: map[string]any{"risk_override": t.RiskOverride, "reason": t.OverrideReason}})
	})
	return t, err
}

// MarkToolReviewed accepts a tool's current definition as reviewed.
func (s *Store) MarkToolReviewed(ctx context.Context, actor Actor, toolID uint) (Tool, error) {
	var t Tool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.First(&t, toolID).Error; err != nil {
			return mapError(err)
		}
		if t.ReviewedHash == t.DefinitionHash {
			return fmt.Errorf("%w: the current definition is already reviewed", ErrInvalidTransition)
		}
		before := t.ReviewedHash
		t.ReviewedHash = t.DefinitionHash
		if err := tx.Omit("Server").Save(&t).Error; err != nil {
			return fmt.Errorf("mark reviewed: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "tool.review", ObjectType: "tool", ObjectID: fmt.Sprint(t.ID),
			Before: map[string]any{"reviewed_hash": before}, After: map[string]any{"reviewed_hash": t.ReviewedHash}})
	})
	return t, err
}

// DeleteTool removes a tool from a server.
func (s *Store) DeleteTool(ctx context.Context, actor Actor, toolID uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var t Tool
		if err := tx.First(&t, toolID).Error; err != nil {
			return mapError(err)
		}
		if err := tx.Delete(&t).Error; err != nil {
			return fmt.Errorf("delete tool: %w", err)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "tool.delete", ObjectType: "tool", ObjectID: fmt.Sprint(t.ID), Before: toolSummary(t)})
	})
}

// ToolsOfServer lists a server's tools by name.
func (s *Store) ToolsOfServer(ctx context.Context, serverID uint) ([]Tool, error) {
	var out []Tool
	err := s.r(ctx).Where("server_id = ?", serverID).Order("name").Find(&out).Error
	return out, err
}

// ToolByID returns one tool with its server.
func (s *Store) ToolByID(ctx context.Context, id uint) (Tool, error) {
	var t Tool
	return t, mapError(s.r(ctx).Preload("Server").First(&t, id).Error)
}
