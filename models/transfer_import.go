package models

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// TransferCount counts what an import did to one kind of object.
type TransferCount struct {
	Created, Updated, Unchanged int
}

// ImportSummary says what ImportInventory changed.
type ImportSummary struct {
	Counts   map[string]*TransferCount
	Warnings []string
}

// Changed reports whether the import changed anything.
func (s ImportSummary) Changed() bool {
	for _, c := range s.Counts {
		if c.Created+c.Updated > 0 {
			return true
		}
	}
	return false
}

// Kinds lists the kinds of the summary in document order.
func (s ImportSummary) Kinds() []string {
	return []string{"environments", "teams", "servers", "tools", "key_policies", "credentials", "findings", "exceptions", "review_rules"}
}

func (s *ImportSummary) count(kind string, created, updated bool) {
	c := s.Counts[kind]
	switch {
	case created:
		c.Created++
	case updated:
		c.Updated++
	default:
		c.Unchanged++
	}
}

// importer holds the name → id maps of the target database.
type importer struct {
	tx                          *gorm.DB
	sum                         *ImportSummary
	teams, envs, users, servers map[string]uint
	creds, tools                map[string]uint
	keepFingerprints            bool
}

// ImportInventory merges a document into this database in one transaction:
// objects are matched by natural key and created or updated; nothing is
// deleted. Running it twice changes nothing the second time. Owners and
// exception authors are matched by email; people who do not exist here are
// left out, with a warning. Fingerprints are kept only when the document
// was made with the same fingerprint key.
func (s *Store) ImportInventory(ctx context.Context, actor Actor, doc InventoryDocument) (ImportSummary, error) {
	sum := ImportSummary{Counts: map[string]*TransferCount{}}
	for _, k := range sum.Kinds() {
		sum.Counts[k] = &TransferCount{}
	}
	if doc.Format != InventoryFormat || doc.Version != 1 {
		return sum, fmt.Errorf("%w: not a Countersign inventory export (format %q version %d)", ErrConflict, doc.Format, doc.Version)
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		im := &importer{tx: tx, sum: &sum, teams: map[string]uint{}, envs: map[string]uint{}, users: map[string]uint{},
			servers: map[string]uint{}, creds: map[string]uint{}, tools: map[string]uint{}}
		im.keepFingerprints = s.fp != nil && doc.FingerprintKeyID == s.fp.KeyID()
		if !im.keepFingerprints && anyFingerprint(doc) {
			sum.Warnings = append(sum.Warnings, "The export was made with another fingerprint key: fingerprints were left out (last four characters kept). Configure the same key to keep them.")
		}
		steps := []func(InventoryDocument) error{im.environments, im.teamsAndUsers, im.serversStep, im.toolsStep,
			im.policies, im.credentials, im.findings, im.exceptions, im.reviewRules}
		for _, step := range steps {
			if err := step(doc); err != nil {
				return err
			}
		}
		if !sum.Changed() {
			return nil
		}
		counts := map[string]any{}
		for k, c := range sum.Counts {
			counts[k] = map[string]int{"created": c.Created, "updated": c.Updated}
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "inventory.import", ObjectType: "inventory", After: counts})
	})
	return sum, err
}

func anyFingerprint(doc InventoryDocument) bool {
	for _, c := range doc.Credentials {
		if c.Fingerprint != "" {
			return true
		}
	}
	return false
}

func (im *importer) warn(format string, args ...any) {
	if len(im.sum.Warnings) < 50 {
		im.sum.Warnings = append(im.sum.Warnings, fmt.Sprintf(format, args...))
	}
}

func (im *importer) environments(doc InventoryDocument) error {
	var have []Environment
	if err := im.tx.Find(&have).Error; err != nil {
		return err
	}
	byName := map[string]Environment{}
	for _, e := range have {
		byName[e.Name] = e
	}
	for _, x := range doc.Environments {
		e, ok := byName[x.Name]
		if ok && e.Sensitive == x.Sensitive && e.Description == x.Description {
			im.envs[x.Name] = e.ID
			im.sum.count("environments", false, false)
			continue
		}
		e.Name, e.Sensitive, e.Description = x.Name, x.Sensitive, x.Description
		if err := im.tx.Save(&e).Error; err != nil {
			return fmt.Errorf("import environment %s: %w", x.Name, err)
		}
		im.envs[x.Name] = e.ID
		im.sum.count("environments", !ok, ok)
	}
	for name, e := range byName {
		if _, ok := im.envs[name]; !ok {
			im.envs[name] = e.ID
		}
	}
	return nil
}

func (im *importer) teamsAndUsers(doc InventoryDocument) error {
	var have []Team
	if err := im.tx.Find(&have).Error; err != nil {
		return err
	}
	bySlug := map[string]Team{}
	for _, t := range have {
		bySlug[t.Slug] = t
		im.teams[t.Slug] = t.ID
	}
	for _, x := range doc.Teams {
		t, ok := bySlug[x.Slug]
		if ok && t.Name == x.Name && t.Description == x.Description {
			im.sum.count("teams", false, false)
			continue
		}
		t.Slug, t.Name, t.Description = x.Slug, x.Name, x.Description
		if err := im.tx.Save(&t).Error; err != nil {
			return fmt.Errorf("import team %s: %w", x.Slug, err)
		}
		im.teams[x.Slug] = t.ID
		im.sum.count("teams", !ok, ok)
	}
	var users []User
	if err := im.tx.Select("id, email").Find(&users).Error; err != nil {
		return err
	}
	for _, u := range users {
		im.users[u.Email] = u.ID
	}
	return nil
}

// owner resolves an owner email; unknown people are left out.
func (im *importer) owner(email, what string) *uint {
	if email == "" {
		return nil
	}
	id, ok := im.users[email]
	if !ok {
		im.warn("%s: owner %s does not exist here; left without owner.", what, email)
		return nil
	}
	return &id
}

func (im *importer) serversStep(doc InventoryDocument) error {
	var have []Server
	if err := im.tx.Find(&have).Error; err != nil {
		return err
	}
	bySlug := map[string]Server{}
	for _, v := range have {
		bySlug[v.Slug] = v
		im.servers[v.Slug] = v.ID
	}
	for _, x := range doc.Servers {
		v, ok := bySlug[x.Slug]
		team, env := im.teams[x.Team], im.envs[x.Environment]
		if team == 0 || env == 0 {
			return fmt.Errorf("import server %s: unknown team %q or environment %q", x.Slug, x.Team, x.Environment)
		}
		next := v
		next.Slug, next.Name, next.Description, next.TeamID, next.EnvironmentID = x.Slug, x.Name, x.Description, team, env
		next.Transport, next.Endpoint, next.Hosting, next.VendorName = Transport(x.Transport), x.Endpoint, Hosting(x.Hosting), x.VendorName
		next.OwnerID, next.Status = im.owner(x.Owner, "server "+x.Slug), ServerStatus(x.Status)
		next.ProductionData, next.WriteActions, next.MultiTenant, next.ChainsTools = x.ProductionData, x.WriteActions, x.MultiTenant, x.ChainsTools
		next.DataClasses = x.DataClasses
		if ok && sameServer(v, next) {
			im.sum.count("servers", false, false)
			continue
		}
		if err := im.tx.Omit("Team", "Environment", "Owner").Save(&next).Error; err != nil {
			return fmt.Errorf("import server %s: %w", x.Slug, err)
		}
		im.servers[x.Slug] = next.ID
		im.sum.count("servers", !ok, ok)
	}
	return nil
}

func sameServer(a, b Server) bool {
	a.CreatedAt, a.UpdatedAt = b.CreatedAt, b.UpdatedAt
	return reflect.DeepEqual(a, b)
}

func (im *importer) toolsStep(doc InventoryDocument) error {
	var have []Tool
	if err := im.tx.Find(&have).Error; err != nil {
		return err
	}
	slugs := map[uint]string{}
	for slug, id := range im.servers {
		slugs[id] = slug
	}
	byKey := map[string]Tool{}
	for _, t := range have {
		key := slugs[t.ServerID] + "/" + t.Name
		byKey[key] = t
		im.tools[key] = t.ID
	}
	for _, x := range doc.Tools {
		key := x.Server + "/" + x.Name
		t, ok := byKey[key]
		sid := im.servers[x.Server]
		if sid == 0 {
			return fmt.Errorf("import tool %s: unknown server", key)
		}
		next := Tool{ID: t.ID, ServerID: sid, Name: x.Name, Title: x.Title, Description: x.Description, ReadOnlyHint: x.ReadOnlyHint,
			DestructiveHint: x.DestructiveHint, IdempotentHint: x.IdempotentHint, OpenWorldHint: x.OpenWorldHint,
			InputSchema: x.InputSchema, DefinitionHash: x.DefinitionHash, ReviewedHash: x.ReviewedHash,
			RiskOverride: Risk(x.RiskOverride), OverrideReason: x.OverrideReason, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
		if ok && reflect.DeepEqual(exportTool(t, x.Server), x) {
			im.sum.count("tools", false, false)
			continue
		}
		if err := im.tx.Omit("Server").Save(&next).Error; err != nil {
			return fmt.Errorf("import tool %s: %w", key, err)
		}
		im.tools[key] = next.ID
		im.sum.count("tools", !ok, ok)
	}
	return nil
}

func exportTool(t Tool, server string) ExpTool {
	return ExpTool{Server: server, Name: t.Name, Title: t.Title, Description: t.Description, ReadOnlyHint: t.ReadOnlyHint,
		DestructiveHint: t.DestructiveHint, IdempotentHint: t.IdempotentHint, OpenWorldHint: t.OpenWorldHint,
		InputSchema: t.InputSchema, DefinitionHash: t.DefinitionHash, ReviewedHash: t.ReviewedHash,
		RiskOverride: string(t.RiskOverride), OverrideReason: t.OverrideReason}
}

func (im *importer) policies(doc InventoryDocument) error {
	var have []AllowedKeyType
	if err := im.tx.Find(&have).Error; err != nil {
		return err
	}
	key := func(server, env *uint, kt KeyType) string {
		switch {
		case server != nil:
			return fmt.Sprintf("s%d|%s", *server, kt)
		case env != nil:
			return fmt.Sprintf("e%d|%s", *env, kt)
		}
		return ""
	}
	byKey := map[string]AllowedKeyType{}
	for _, p := range have {
		byKey[key(p.ServerID, p.EnvironmentID, p.KeyType)] = p
	}
	for _, x := range doc.KeyPolicies {
		var server, env *uint
		if x.Server != "" {
			id := im.servers[x.Server]
			server = &id
		} else {
			id := im.envs[x.Environment]
			env = &id
		}
		if (server != nil && *server == 0) || (env != nil && *env == 0) {
			return fmt.Errorf("import key policy %s: unknown server %q or environment %q", x.KeyType, x.Server, x.Environment)
		}
		p, ok := byKey[key(server, env, KeyType(x.KeyType))]
		if ok && p.MaxLifetimeDays == x.MaxLifetimeDays && p.RotationSpec == x.RotationSpec && p.RotationTZ == x.RotationTZ &&
			p.RequiredScopes == x.RequiredScopes && p.Rationale == x.Rationale {
			im.sum.count("key_policies", false, false)
			continue
		}
		p.ServerID, p.EnvironmentID, p.KeyType = server, env, KeyType(x.KeyType)
		p.MaxLifetimeDays, p.RotationSpec, p.RotationTZ, p.RequiredScopes, p.Rationale = x.MaxLifetimeDays, x.RotationSpec, x.RotationTZ, x.RequiredScopes, x.Rationale
		if err := im.tx.Save(&p).Error; err != nil {
			return fmt.Errorf("import key policy: %w", err)
		}
		im.sum.count("key_policies", !ok, ok)
	}
	return nil
}

func (im *importer) credentials(doc InventoryDocument) error {
	var have []Credential
	if err := im.tx.Order("id").Find(&have).Error; err != nil {
		return err
	}
	teamSlugs := map[uint]string{}
	for slug, id := range im.teams {
		teamSlugs[id] = slug
	}
	links := map[uint][]uint{}
	var rows []struct{ CredentialID, ServerID uint }
	if err := im.tx.Table("credential_servers").Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		links[r.CredentialID] = append(links[r.CredentialID], r.ServerID)
	}
	byRef := map[string]Credential{}
	seen := map[string]int{}
	for _, c := range have {
		ref := teamSlugs[c.TeamID] + "/" + c.Name
		seen[ref]++
		if n := seen[ref]; n > 1 {
			ref += "#" + strconv.Itoa(n)
		}
		byRef[ref] = c
		im.creds[ref] = c.ID
	}
	for _, x := range doc.Credentials {
		c, ok := byRef[x.Ref]
		team, env := im.teams[x.Team], im.envs[x.Environment]
		if team == 0 || env == 0 {
			return fmt.Errorf("import credential %s: unknown team %q or environment %q", x.Ref, x.Team, x.Environment)
		}
		next := c
		next.Name, next.TeamID, next.EnvironmentID, next.KeyType, next.Scopes = x.Name, team, env, KeyType(x.KeyType), x.Scopes
		next.OwnerID, next.Issuer = im.owner(x.Owner, "credential "+x.Ref), x.Issuer
		next.IssuedAt, next.ExpiresAt, next.LastRotatedAt, next.NextDueAt = utcPtr(x.IssuedAt), utcPtr(x.ExpiresAt), utcPtr(x.LastRotatedAt), utcPtr(x.NextDueAt)
		next.RotationSpec, next.RotationTZ, next.Status = x.RotationSpec, x.RotationTZ, CredentialStatus(x.Status)
		next.Last4, next.Source, next.ExposedIn, next.Notes = x.Last4, x.Source, x.ExposedIn, x.Notes
		if im.keepFingerprints {
			next.Fingerprint = x.Fingerprint
		} else if !ok {
			next.Fingerprint = ""
		}
		var servers []uint
		for _, slug := range x.Servers {
			if id := im.servers[slug]; id != 0 {
				servers = append(servers, id)
			}
		}
		sort.Slice(servers, func(i, j int) bool { return servers[i] < servers[j] })
		current := append([]uint(nil), links[c.ID]...)
		sort.Slice(current, func(i, j int) bool { return current[i] < current[j] })
		if ok && sameCredential(c, next) && reflect.DeepEqual(current, servers) {
			im.sum.count("credentials", false, false)
			continue
		}
		if err := im.tx.Omit("Team", "Environment", "Owner", "Servers").Save(&next).Error; err != nil {
			return fmt.Errorf("import credential %s: %w", x.Ref, err)
		}
		if err := im.tx.Exec("DELETE FROM credential_servers WHERE credential_id = ?", next.ID).Error; err != nil {
			return err
		}
		for _, sid := range servers {
			if err := im.tx.Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", next.ID, sid).Error; err != nil {
				return err
			}
		}
		im.creds[x.Ref] = next.ID
		im.sum.count("credentials", !ok, ok)
	}
	return nil
}

func sameCredential(a, b Credential) bool {
	a.CreatedAt, a.UpdatedAt = b.CreatedAt, b.UpdatedAt
	a.IssuedAt, a.ExpiresAt, a.LastRotatedAt, a.NextDueAt = utcPtr(a.IssuedAt), utcPtr(a.ExpiresAt), utcPtr(a.LastRotatedAt), utcPtr(a.NextDueAt)
	return reflect.DeepEqual(a, b)
}

// localFindingKey turns a natural finding key back into this database's ids
// and returns the object it is about.
func (im *importer) localFindingKey(natural string) (key, objType string, objID uint, ok bool) {
	parts := strings.Split(natural, "|")
	for i, p := range parts[1:] {
		typ, name, found := strings.Cut(p, ":")
		if !found {
			return "", "", 0, false
		}
		var id uint
		switch typ {
		case "server":
			id = im.servers[name]
		case "credential":
			id = im.creds[name]
		case "tool":
			id = im.tools[name]
		}
		if id == 0 {
			return "", "", 0, false
		}
		if i == 0 {
			objType, objID = typ, id
		}
		parts[i+1] = typ + ":" + strconv.FormatUint(uint64(id), 10)
	}
	return strings.Join(parts, "|"), objType, objID, len(parts) > 1
}

func (im *importer) findings(doc InventoryDocument) error {
	var have []Finding
	if err := im.tx.Find(&have).Error; err != nil {
		return err
	}
	byKey := map[string]Finding{}
	for _, f := range have {
		byKey[f.Key] = f
	}
	for _, x := range doc.Findings {
		key, objType, objID, ok := im.localFindingKey(x.Key)
		if !ok {
			im.warn("finding %s: its object is not in the export; skipped.", x.Key)
			continue
		}
		team, env, err := im.objectScope(objType, objID)
		if err != nil {
			return err
		}
		f, exists := byKey[key]
		next := f
		next.Key, next.RuleID, next.Severity, next.SeverityRank = key, x.RuleID, Severity(x.Severity), Severity(x.Severity).Rank()
		next.ObjectType, next.ObjectID, next.ObjectName, next.TeamID, next.EnvironmentID = objType, objID, x.ObjectName, team, env
		next.Detail, next.FirstSeenAt, next.LastSeenAt = x.Detail, utc(x.FirstSeenAt), utc(x.LastSeenAt)
		next.ResolvedAt, next.ExceptedUntil = utcPtr(x.ResolvedAt), utcPtr(x.ExceptedUntil)
		if exists {
			f.FirstSeenAt, f.LastSeenAt = utc(f.FirstSeenAt), utc(f.LastSeenAt)
			f.ResolvedAt, f.ExceptedUntil = utcPtr(f.ResolvedAt), utcPtr(f.ExceptedUntil)
			if reflect.DeepEqual(f, next) {
				im.sum.count("findings", false, false)
				continue
			}
		}
		if err := im.tx.Save(&next).Error; err != nil {
			return fmt.Errorf("import finding %s: %w", x.Key, err)
		}
		im.sum.count("findings", !exists, exists)
	}
	return nil
}

func (im *importer) objectScope(objType string, id uint) (uint, *uint, error) {
	switch objType {
	case "server":
		var v Server
		err := im.tx.Select("team_id, environment_id").First(&v, id).Error
		return v.TeamID, &v.EnvironmentID, err
	case "credential":
		var c Credential
		err := im.tx.Select("team_id, environment_id").First(&c, id).Error
		return c.TeamID, &c.EnvironmentID, err
	case "tool":
		var t Tool
		if err := im.tx.Select("server_id").First(&t, id).Error; err != nil {
			return 0, nil, err
		}
		return im.objectScope("server", t.ServerID)
	}
	return 0, nil, fmt.Errorf("unknown object type %q", objType)
}

func (im *importer) exceptions(doc InventoryDocument) error {
	for _, x := range doc.Exceptions {
		key, _, _, ok := im.localFindingKey(x.Finding)
		if !ok {
			continue
		}
		requester, found := im.users[x.RequestedBy]
		if !found {
			im.warn("exception of %s: its requester %s does not exist here; skipped.", x.Finding, x.RequestedBy)
			continue
		}
		var ex RiskException
		err := im.tx.Where("finding_key = ? AND created_at = ?", key, utc(x.CreatedAt)).First(&ex).Error
		exists := err == nil
		next := RiskException{ID: ex.ID, FindingKey: key, RuleID: x.RuleID, Justification: x.Justification, RequestedByID: requester,
			Status: ExceptionStatus(x.Status), ExpiresAt: utc(x.ExpiresAt), CreatedAt: utc(x.CreatedAt), DecidedAt: utcPtr(x.DecidedAt)}
		if id, ok := im.users[x.DecidedBy]; ok {
			next.DecidedByID = &id
		}
		if exists {
			ex.ExpiresAt, ex.CreatedAt, ex.DecidedAt = utc(ex.ExpiresAt), utc(ex.CreatedAt), utcPtr(ex.DecidedAt)
			if reflect.DeepEqual(ex, next) {
				im.sum.count("exceptions", false, false)
				continue
			}
		}
		if err := im.tx.Omit("RequestedBy", "DecidedBy").Save(&next).Error; err != nil {
			return fmt.Errorf("import exception of %s: %w", x.Finding, err)
		}
		im.sum.count("exceptions", !exists, exists)
	}
	return nil
}

func (im *importer) reviewRules(doc InventoryDocument) error {
	var have []ReviewRule
	if err := im.tx.Order("team_id, position, id").Find(&have).Error; err != nil {
		return err
	}
	teamSlugs := map[uint]string{}
	for slug, id := range im.teams {
		teamSlugs[id] = slug
	}
	byRef := map[string]ReviewRule{}
	for _, r := range reviewRuleRefs(have, teamSlugs) {
		byRef[r.ref] = r.rule
	}
	ix := &exportIndex{teams: teamSlugs, envs: map[uint]string{}, servers: map[uint]string{}}
	for name, id := range im.envs {
		ix.envs[id] = name
	}
	for slug, id := range im.servers {
		ix.servers[id] = slug
	}
	for _, x := range doc.ReviewRules {
		team := im.teams[x.Team]
		if team == 0 {
			return fmt.Errorf("import review rule %s: unknown team %q", x.Ref, x.Team)
		}
		r, ok := byRef[x.Ref]
		if ok && exportReviewRule(r, x.Ref, ix) == x {
			im.sum.count("review_rules", false, false)
			continue
		}
		next := r
		next.TeamID, next.Position, next.Name, next.ServerPattern, next.ToolPattern = team, x.Position, x.Name, x.ServerPattern, x.ToolPattern
		next.ServerID, next.EnvironmentID = nil, nil
		if x.Server != "" {
			id, found := im.servers[x.Server]
			if !found {
				return fmt.Errorf("import review rule %s: unknown server %q", x.Ref, x.Server)
			}
			next.ServerID = &id
		}
		if x.Environment != "" {
			id, found := im.envs[x.Environment]
			if !found {
				return fmt.Errorf("import review rule %s: unknown environment %q", x.Ref, x.Environment)
			}
			next.EnvironmentID = &id
		}
		next.MinRisk, next.DataClass, next.SubjectPattern, next.Outcome = Risk(x.MinRisk), x.DataClass, x.SubjectPattern, RuleOutcome(x.Outcome)
		next.ApprovalsNeeded, next.ApproverRole = x.ApprovalsNeeded, Role(x.ApproverRole)
		next.RequestTTLSeconds, next.GrantTTLSeconds, next.GrantMaxUses, next.Enabled = x.RequestTTLSeconds, x.GrantTTLSeconds, x.GrantMaxUses, x.Enabled
		if err := im.tx.Omit("Server", "Environment").Save(&next).Error; err != nil {
			return fmt.Errorf("import review rule %s: %w", x.Ref, err)
		}
		im.sum.count("review_rules", !ok, ok)
	}
	return nil
}
