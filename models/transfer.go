package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// InventoryFormat names the export document.
const InventoryFormat = "countersign-inventory"

// InventoryDocument is the whole inventory in a form that moves between
// databases (SQLite ↔ PostgreSQL, desktop ↔ shared): objects are named by
// natural keys (slugs, names, emails), never by database ids; lists are
// sorted, so the same inventory always exports to the same bytes. It holds
// no secret: there are none to move.
type InventoryDocument struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// FingerprintKeyID identifies the fingerprint key of the source (an
	// HMAC of a constant, not the key): fingerprints only mean something
	// where the same key is configured.
	FingerprintKeyID string           `json:"fingerprint_key_id"`
	Environments     []ExpEnvironment `json:"environments"`
	Teams            []ExpTeam        `json:"teams"`
	Servers          []ExpServer      `json:"servers"`
	Tools            []ExpTool        `json:"tools"`
	KeyPolicies      []ExpKeyPolicy   `json:"key_policies"`
	Credentials      []ExpCredential  `json:"credentials"`
	Findings         []ExpFinding     `json:"findings"`
	Exceptions       []ExpException   `json:"exceptions"`
	ReviewRules      []ExpReviewRule  `json:"review_rules"`
}

// ExpReviewRule is a review rule in an export. Ref is team/name (with #n for
// rules of one team that share a name); Position keeps the evaluation order.
type ExpReviewRule struct {
	Ref               string `json:"ref"`
	Team              string `json:"team"`
	Position          int    `json:"position"`
	Name              string `json:"name"`
	Server            string `json:"server,omitempty"`
	ServerPattern     string `json:"server_pattern"`
	ToolPattern       string `json:"tool_pattern"`
	Environment       string `json:"environment,omitempty"`
	MinRisk           string `json:"min_risk"`
	DataClass         string `json:"data_class"`
	SubjectPattern    string `json:"subject_pattern"`
	Outcome           string `json:"outcome"`
	ApprovalsNeeded   int    `json:"approvals_needed"`
	ApproverRole      string `json:"approver_role"`
	RequestTTLSeconds int    `json:"request_ttl_seconds"`
	GrantTTLSeconds   int    `json:"grant_ttl_seconds"`
	GrantMaxUses      int    `json:"grant_max_uses"`
	Enabled           bool   `json:"enabled"`
}

// ExpEnvironment is an environment in an export.
type ExpEnvironment struct {
	Name        string `json:"name"`
	Sensitive   bool   `json:"sensitive"`
	Description string `json:"description"`
}

// ExpTeam is a team in an export.
type ExpTeam struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ExpServer is a server in an export.
type ExpServer struct {
	Slug           string `json:"slug"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Team           string `json:"team"`
	Environment    string `json:"environment"`
	Transport      string `json:"transport"`
	Endpoint       string `json:"endpoint"`
	Hosting        string `json:"hosting"`
	VendorName     string `json:"vendor_name"`
	Owner          string `json:"owner"`
	Status         string `json:"status"`
	ProductionData bool   `json:"production_data"`
	WriteActions   bool   `json:"write_actions"`
	MultiTenant    bool   `json:"multi_tenant"`
	ChainsTools    bool   `json:"chains_tools"`
	DataClasses    string `json:"data_classes"`
}

// ExpTool is a tool in an export.
type ExpTool struct {
	Server          string `json:"server"`
	Name            string `json:"name"`
	Title           string `json:"title"`
	Description     string `json:"description"`
	ReadOnlyHint    *bool  `json:"read_only_hint"`
	DestructiveHint *bool  `json:"destructive_hint"`
	IdempotentHint  *bool  `json:"idempotent_hint"`
	OpenWorldHint   *bool  `json:"open_world_hint"`
	InputSchema     string `json:"input_schema"`
	DefinitionHash  string `json:"definition_hash"`
	ReviewedHash    string `json:"reviewed_hash"`
	RiskOverride    string `json:"risk_override"`
	OverrideReason  string `json:"override_reason"`
}

// ExpKeyPolicy is an allowed key type of a server or an environment.
type ExpKeyPolicy struct {
	Server          string `json:"server,omitempty"`
	Environment     string `json:"environment,omitempty"`
	KeyType         string `json:"key_type"`
	MaxLifetimeDays int    `json:"max_lifetime_days"`
	RotationSpec    string `json:"rotation_spec"`
	RotationTZ      string `json:"rotation_tz"`
	RequiredScopes  string `json:"required_scopes"`
	Rationale       string `json:"rationale"`
}

// ExpCredential is a credential record in an export (never a secret).
type ExpCredential struct {
	// Ref is team/name, with #n appended to tell apart credentials of one
	// team that share a name.
	Ref           string     `json:"ref"`
	Team          string     `json:"team"`
	Name          string     `json:"name"`
	Environment   string     `json:"environment"`
	KeyType       string     `json:"key_type"`
	Scopes        string     `json:"scopes"`
	Owner         string     `json:"owner"`
	Issuer        string     `json:"issuer"`
	IssuedAt      *time.Time `json:"issued_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
	LastRotatedAt *time.Time `json:"last_rotated_at"`
	RotationSpec  string     `json:"rotation_spec"`
	RotationTZ    string     `json:"rotation_tz"`
	NextDueAt     *time.Time `json:"next_due_at"`
	Status        string     `json:"status"`
	Fingerprint   string     `json:"fingerprint"`
	Last4         string     `json:"last4"`
	Source        string     `json:"source"`
	ExposedIn     string     `json:"exposed_in"`
	Notes         string     `json:"notes"`
	Servers       []string   `json:"servers"`
}

// ExpFinding is a finding in an export; its key names objects naturally.
type ExpFinding struct {
	Key           string     `json:"key"`
	RuleID        string     `json:"rule"`
	Severity      string     `json:"severity"`
	ObjectName    string     `json:"object_name"`
	Detail        string     `json:"detail"`
	FirstSeenAt   time.Time  `json:"first_seen_at"`
	LastSeenAt    time.Time  `json:"last_seen_at"`
	ResolvedAt    *time.Time `json:"resolved_at"`
	ExceptedUntil *time.Time `json:"excepted_until"`
}

// ExpException is a risk exception in an export.
type ExpException struct {
	Finding       string     `json:"finding"`
	RuleID        string     `json:"rule"`
	Justification string     `json:"justification"`
	RequestedBy   string     `json:"requested_by"`
	DecidedBy     string     `json:"decided_by"`
	Status        string     `json:"status"`
	ExpiresAt     time.Time  `json:"expires_at"`
	CreatedAt     time.Time  `json:"created_at"`
	DecidedAt     *time.Time `json:"decided_at"`
}

// FingerprintKeyID returns a public identifier of the fingerprint key.
func (f *Fingerprinter) KeyID() string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte("countersign fingerprint key id"))
	return hex.EncodeToString(m.Sum(nil))[:16]
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// exportIndex maps database ids to natural keys.
type exportIndex struct {
	teams, envs, users, servers, creds map[uint]string
	tools                              map[uint]string
}

// ExportInventory reads the whole inventory into a document.
func (s *Store) ExportInventory(ctx context.Context) (InventoryDocument, error) {
	doc := InventoryDocument{Format: InventoryFormat, Version: 1}
	if s.fp != nil {
		doc.FingerprintKeyID = s.fp.KeyID()
	}
	db := s.r(ctx)
	ix := exportIndex{teams: map[uint]string{}, envs: map[uint]string{}, users: map[uint]string{}, servers: map[uint]string{},
		creds: map[uint]string{}, tools: map[uint]string{}}
	var envs []Environment
	var teams []Team
	var users []User
	if err := db.Find(&envs).Error; err != nil {
		return doc, err
	}
	if err := db.Find(&teams).Error; err != nil {
		return doc, err
	}
	if err := db.Select("id, email").Find(&users).Error; err != nil {
		return doc, err
	}
	for _, e := range envs {
		ix.envs[e.ID] = e.Name
		doc.Environments = append(doc.Environments, ExpEnvironment{Name: e.Name, Sensitive: e.Sensitive, Description: e.Description})
	}
	for _, t := range teams {
		ix.teams[t.ID] = t.Slug
		doc.Teams = append(doc.Teams, ExpTeam{Slug: t.Slug, Name: t.Name, Description: t.Description})
	}
	for _, u := range users {
		ix.users[u.ID] = u.Email
	}
	owner := func(id *uint) string {
		if id == nil {
			return ""
		}
		return ix.users[*id]
	}
	var servers []Server
	if err := db.Find(&servers).Error; err != nil {
		return doc, err
	}
	for _, v := range servers {
		ix.servers[v.ID] = v.Slug
		doc.Servers = append(doc.Servers, ExpServer{Slug: v.Slug, Name: v.Name, Description: v.Description, Team: ix.teams[v.TeamID],
			Environment: ix.envs[v.EnvironmentID], Transport: string(v.Transport), Endpoint: v.Endpoint, Hosting: string(v.Hosting),
			VendorName: v.VendorName, Owner: owner(v.OwnerID), Status: string(v.Status), ProductionData: v.ProductionData,
			WriteActions: v.WriteActions, MultiTenant: v.MultiTenant, ChainsTools: v.ChainsTools, DataClasses: v.DataClasses})
	}
	var tools []Tool
	if err := db.Find(&tools).Error; err != nil {
		return doc, err
	}
	for _, t := range tools {
		ix.tools[t.ID] = ix.servers[t.ServerID] + "/" + t.Name
		doc.Tools = append(doc.Tools, ExpTool{Server: ix.servers[t.ServerID], Name: t.Name, Title: t.Title, Description: t.Description,
			ReadOnlyHint: t.ReadOnlyHint, DestructiveHint: t.DestructiveHint, IdempotentHint: t.IdempotentHint, OpenWorldHint: t.OpenWorldHint,
			InputSchema: t.InputSchema, DefinitionHash: t.DefinitionHash, ReviewedHash: t.ReviewedHash, RiskOverride: string(t.RiskOverride),
			OverrideReason: t.OverrideReason})
	}
	var policies []AllowedKeyType
	if err := db.Find(&policies).Error; err != nil {
		return doc, err
	}
	for _, p := range policies {
		e := ExpKeyPolicy{KeyType: string(p.KeyType), MaxLifetimeDays: p.MaxLifetimeDays, RotationSpec: p.RotationSpec,
			RotationTZ: p.RotationTZ, RequiredScopes: p.RequiredScopes, Rationale: p.Rationale}
		if p.ServerID != nil {
			e.Server = ix.servers[*p.ServerID]
		} else if p.EnvironmentID != nil {
			e.Environment = ix.envs[*p.EnvironmentID]
		}
		doc.KeyPolicies = append(doc.KeyPolicies, e)
	}
	if err := s.exportCredentials(ctx, &doc, &ix, owner); err != nil {
		return doc, err
	}
	if err := s.exportFindings(ctx, &doc, &ix); err != nil {
		return doc, err
	}
	var rules []ReviewRule
	if err := db.Order("team_id, position, id").Find(&rules).Error; err != nil {
		return doc, err
	}
	for _, r := range reviewRuleRefs(rules, ix.teams) {
		doc.ReviewRules = append(doc.ReviewRules, exportReviewRule(r.rule, r.ref, &ix))
	}
	doc.sort()
	return doc, nil
}

func (s *Store) exportCredentials(ctx context.Context, doc *InventoryDocument, ix *exportIndex, owner func(*uint) string) error {
	var creds []Credential
	if err := s.r(ctx).Order("id").Find(&creds).Error; err != nil {
		return err
	}
	links, err := s.scanCredentialServers(ctx)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, c := range creds {
		ref := ix.teams[c.TeamID] + "/" + c.Name
		seen[ref]++
		if n := seen[ref]; n > 1 {
			ref += "#" + strconv.Itoa(n)
		}
		ix.creds[c.ID] = ref
		var servers []string
		for _, sid := range links[c.ID] {
			servers = append(servers, ix.servers[sid])
		}
		sort.Strings(servers)
		doc.Credentials = append(doc.Credentials, ExpCredential{Ref: ref, Team: ix.teams[c.TeamID], Name: c.Name,
			Environment: ix.envs[c.EnvironmentID], KeyType: string(c.KeyType), Scopes: c.Scopes, Owner: owner(c.OwnerID),
			Issuer: c.Issuer, IssuedAt: utcPtr(c.IssuedAt), ExpiresAt: utcPtr(c.ExpiresAt), LastRotatedAt: utcPtr(c.LastRotatedAt),
			RotationSpec: c.RotationSpec, RotationTZ: c.RotationTZ, NextDueAt: utcPtr(c.NextDueAt), Status: string(c.Status),
			Fingerprint: c.Fingerprint, Last4: c.Last4, Source: c.Source, ExposedIn: c.ExposedIn, Notes: c.Notes, Servers: servers})
	}
	return nil
}

func (s *Store) exportFindings(ctx context.Context, doc *InventoryDocument, ix *exportIndex) error {
	var findings []Finding
	if err := s.r(ctx).Find(&findings).Error; err != nil {
		return err
	}
	natural := map[string]string{}
	for _, f := range findings {
		key, ok := naturalFindingKey(f.Key, ix)
		if !ok {
			continue
		}
		natural[f.Key] = key
		doc.Findings = append(doc.Findings, ExpFinding{Key: key, RuleID: f.RuleID, Severity: string(f.Severity), ObjectName: f.ObjectName,
			Detail: f.Detail, FirstSeenAt: utc(f.FirstSeenAt), LastSeenAt: utc(f.LastSeenAt), ResolvedAt: utcPtr(f.ResolvedAt),
			ExceptedUntil: utcPtr(f.ExceptedUntil)})
	}
	var exceptions []RiskException
	if err := s.r(ctx).Preload("RequestedBy").Preload("DecidedBy").Find(&exceptions).Error; err != nil {
		return err
	}
	for _, e := range exceptions {
		key, ok := natural[e.FindingKey]
		if !ok {
			continue
		}
		x := ExpException{Finding: key, RuleID: e.RuleID, Justification: e.Justification, RequestedBy: e.RequestedBy.Email,
			Status: string(e.Status), ExpiresAt: utc(e.ExpiresAt), CreatedAt: utc(e.CreatedAt), DecidedAt: utcPtr(e.DecidedAt)}
		if e.DecidedBy != nil {
			x.DecidedBy = e.DecidedBy.Email
		}
		doc.Exceptions = append(doc.Exceptions, x)
	}
	return nil
}

// naturalFindingKey rewrites "CS-001|credential:12|server:7" with natural
// names: "CS-001|credential:payments/stripe|server:billing-prod".
func naturalFindingKey(key string, ix *exportIndex) (string, bool) {
	parts := strings.Split(key, "|")
	for i, p := range parts[1:] {
		typ, id, ok := strings.Cut(p, ":")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil {
			return "", false
		}
		var name string
		switch typ {
		case "server":
			name, ok = ix.servers[uint(n)]
		case "credential":
			name, ok = ix.creds[uint(n)]
		case "tool":
			name, ok = ix.tools[uint(n)]
		default:
			ok = false
		}
		if !ok {
			return "", false
		}
		parts[i+1] = typ + ":" + name
	}
	return strings.Join(parts, "|"), true
}

func (d *InventoryDocument) sort() {
	sort.Slice(d.Environments, func(i, j int) bool { return d.Environments[i].Name < d.Environments[j].Name })
	sort.Slice(d.Teams, func(i, j int) bool { return d.Teams[i].Slug < d.Teams[j].Slug })
	sort.Slice(d.Servers, func(i, j int) bool { return d.Servers[i].Slug < d.Servers[j].Slug })
	sort.Slice(d.Tools, func(i, j int) bool {
		return d.Tools[i].Server+"/"+d.Tools[i].Name < d.Tools[j].Server+"/"+d.Tools[j].Name
	})
	sort.Slice(d.KeyPolicies, func(i, j int) bool { return d.KeyPolicies[i].sortKey() < d.KeyPolicies[j].sortKey() })
	sort.Slice(d.Credentials, func(i, j int) bool { return d.Credentials[i].Ref < d.Credentials[j].Ref })
	sort.Slice(d.Findings, func(i, j int) bool { return d.Findings[i].Key < d.Findings[j].Key })
	sort.Slice(d.ReviewRules, func(i, j int) bool {
		a, b := d.ReviewRules[i], d.ReviewRules[j]
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		return a.Position < b.Position
	})
	sort.Slice(d.Exceptions, func(i, j int) bool {
		a, b := d.Exceptions[i], d.Exceptions[j]
		if a.Finding != b.Finding {
			return a.Finding < b.Finding
		}
		return a.CreatedAt.Before(b.CreatedAt)
	})
}

func (p ExpKeyPolicy) sortKey() string {
	return fmt.Sprintf("%s|%s|%s", p.Server, p.Environment, p.KeyType)
}

type refRule struct {
	ref  string
	rule ReviewRule
}

// reviewRuleRefs names rules team/name, numbering repeats in id order.
func reviewRuleRefs(rules []ReviewRule, teams map[uint]string) []refRule {
	byID := append([]ReviewRule(nil), rules...)
	sort.Slice(byID, func(i, j int) bool { return byID[i].ID < byID[j].ID })
	seen := map[string]int{}
	refs := map[uint]string{}
	for _, r := range byID {
		ref := teams[r.TeamID] + "/" + r.Name
		seen[ref]++
		if n := seen[ref]; n > 1 {
			ref += "#" + strconv.Itoa(n)
		}
		refs[r.ID] = ref
	}
	out := make([]refRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, refRule{ref: refs[r.ID], rule: r})
	}
	return out
}

func exportReviewRule(r ReviewRule, ref string, ix *exportIndex) ExpReviewRule {
	x := ExpReviewRule{Ref: ref, Team: ix.teams[r.TeamID], Position: r.Position, Name: r.Name, ServerPattern: r.ServerPattern,
		ToolPattern: r.ToolPattern, MinRisk: string(r.MinRisk), DataClass: r.DataClass, SubjectPattern: r.SubjectPattern,
		Outcome: string(r.Outcome), ApprovalsNeeded: r.ApprovalsNeeded, ApproverRole: string(r.ApproverRole),
		RequestTTLSeconds: r.RequestTTLSeconds, GrantTTLSeconds: r.GrantTTLSeconds, GrantMaxUses: r.GrantMaxUses, Enabled: r.Enabled}
	if r.ServerID != nil {
		x.Server = ix.servers[*r.ServerID]
	}
	if r.EnvironmentID != nil {
		x.Environment = ix.envs[*r.EnvironmentID]
	}
	return x
}
