package models

import (
	"fmt"
	"sort"
	"strings"
)

// EvaluateFindings runs every posture rule (CS-001 … CS-011) over the
// inventory and returns the findings, sorted by key. It is a pure function of
// the snapshot and runs in time linear in its size. Retired servers and
// credentials that are not active are out of scope: they hold no live access.
func EvaluateFindings(s InventorySnapshot) []FindingResult {
	e := newEvaluation(s)
	e.serverRules()
	e.credentialRules()
	e.reuseRules()
	e.toolRules()
	sort.Slice(e.out, func(i, j int) bool { return e.out[i].Key < e.out[j].Key })
	return e.out
}

// evaluation holds the indexes the rules share.
type evaluation struct {
	s       InventorySnapshot
	cat     *Catalog
	servers map[uint]*Server
	// policies holds each server's effective key policy, computed once.
	policies map[uint]EffectivePolicy
	envPols  map[uint][]AllowedKeyType
	srvPols  map[uint][]AllowedKeyType
	out      []FindingResult
}

func newEvaluation(s InventorySnapshot) *evaluation {
	e := &evaluation{s: s, cat: RuleCatalog(), servers: make(map[uint]*Server, len(s.Servers)),
		policies: map[uint]EffectivePolicy{}, envPols: map[uint][]AllowedKeyType{}, srvPols: map[uint][]AllowedKeyType{}}
	for i := range s.Servers {
		if s.Servers[i].Status != ServerRetired {
			e.servers[s.Servers[i].ID] = &s.Servers[i]
		}
	}
	for _, p := range s.Policies {
		switch {
		case p.ServerID != nil:
			e.srvPols[*p.ServerID] = append(e.srvPols[*p.ServerID], p)
		case p.EnvironmentID != nil:
			e.envPols[*p.EnvironmentID] = append(e.envPols[*p.EnvironmentID], p)
		}
	}
	return e
}

// policyOf returns the effective key policy of a server.
func (e *evaluation) policyOf(srv *Server) EffectivePolicy {
	if p, ok := e.policies[srv.ID]; ok {
		return p
	}
	own := e.srvPols[srv.ID]
	p := EffectivePolicy{Entries: own}
	if len(own) == 0 {
		p = EffectivePolicy{Entries: e.envPols[srv.EnvironmentID], Inherited: true}
	}
	e.policies[srv.ID] = p
	return p
}

func (e *evaluation) add(rule, key, objType string, objID uint, name string, team uint, env uint, detail string) {
	r, _ := e.cat.Rule(rule)
	var envID *uint
	if env != 0 {
		envID = &env
	}
	e.out = append(e.out, FindingResult{Key: rule + "|" + key, RuleID: rule, Severity: r.Severity, ObjectType: objType,
		ObjectID: objID, ObjectName: name, TeamID: team, EnvironmentID: envID, Detail: detail})
}

func (e *evaluation) envName(id uint) string {
	if env, ok := e.s.Environments[id]; ok {
		return env.Name
	}
	return fmt.Sprintf("environment %d", id)
}

func (e *evaluation) activeOwner(id *uint) bool { return id != nil && e.s.ActiveUsers[*id] }

// serverRules: CS-007 (server without an active owner).
func (e *evaluation) serverRules() {
	for i := range e.s.Servers {
		srv := &e.s.Servers[i]
		if srv.Status == ServerRetired || e.activeOwner(srv.OwnerID) {
			continue
		}
		detail := "The server has no owner."
		if srv.OwnerID != nil {
			detail = "The server's owner is deactivated."
		}
		e.add("CS-007", fmt.Sprintf("server:%d", srv.ID), "server", srv.ID, srv.Slug, srv.TeamID, srv.EnvironmentID, detail)
	}
}

// credentialRules: CS-001, CS-004, CS-005, CS-006, CS-007, CS-008, CS-010.
func (e *evaluation) credentialRules() {
	for i := range e.s.Credentials {
		c := &e.s.Credentials[i] // a Credential is large: no copies
		if c.Status != CredentialActive {
			continue
		}
		credKey := fmt.Sprintf("credential:%d", c.ID)
		for _, sid := range e.s.CredentialServers[c.ID] {
			srv, ok := e.servers[sid]
			if !ok {
				continue
			}
			pairKey := fmt.Sprintf("%s|server:%d", credKey, sid)
			if c.KeyType == KeyStaticAPIKey && srv.SensitiveReach() {
				e.add("CS-001", pairKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID,
					fmt.Sprintf("Static API key on %s, which %s.", srv.Slug, reachText(*srv)))
			}
			pol := e.policyOf(srv)
			if _, allowed := pol.Allows(c.KeyType); !allowed {
				detail := fmt.Sprintf("%s is not allowed on %s (allowed: %s).", c.KeyType.Label(), srv.Slug, allowedText(pol))
				if !pol.Documented() {
					detail = fmt.Sprintf("%s has no documented key policy, so no key type is allowed on it yet.", srv.Slug)
				}
				e.add("CS-006", pairKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID, detail)
			}
			if c.KeyType == KeyStaticAPIKey && srv.Hosting == HostingVendor {
				e.add("CS-008", fmt.Sprintf("server:%d|%s", sid, credKey), "server", srv.ID, srv.Slug, srv.TeamID, srv.EnvironmentID,
					fmt.Sprintf("Vendor-hosted (%s) and uses the static API key %s.", srv.VendorName, c.Name))
			}
		}
		if c.KeyType.LongLived() && c.ExpiresAt == nil {
			e.add("CS-004", credKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID,
				fmt.Sprintf("%s with no expiry date.", c.KeyType.Label()))
		}
		if c.NextDueAt != nil && !e.s.Now.Before(c.NextDueAt.Add(e.s.RotationGrace)) { // as the overdue task
			e.add("CS-005", credKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID,
				fmt.Sprintf("Rotation was due %s UTC.", c.NextDueAt.UTC().Format("2006-01-02 15:04")))
		}
		if !e.activeOwner(c.OwnerID) {
			detail := "The credential has no owner."
			if c.OwnerID != nil {
				detail = "The credential's owner is deactivated."
			}
			e.add("CS-007", credKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID, detail)
		}
		if c.ExposedIn != "" {
			e.add("CS-010", credKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID,
				fmt.Sprintf("Found in plain text in %s.", c.ExposedIn))
		}
	}
}

// reuseRules: CS-002 (one secret in several environments) and CS-003 (one
// secret on several servers), one finding per credential of the group.
func (e *evaluation) reuseRules() {
	groups := map[string][]int{}
	for i := range e.s.Credentials {
		if c := &e.s.Credentials[i]; c.Status == CredentialActive && c.Fingerprint != "" {
			groups[c.Fingerprint] = append(groups[c.Fingerprint], i)
		}
	}
	for _, idx := range groups {
		envs := map[uint]bool{}
		servers := map[uint]bool{}
		var names []string
		if len(idx) == 1 && len(e.s.CredentialServers[e.s.Credentials[idx[0]].ID]) < 2 {
			continue // a secret used once, on at most one server
		}
		for _, i := range idx {
			c := &e.s.Credentials[i]
			envs[c.EnvironmentID] = true
			names = append(names, c.Name)
			for _, sid := range e.s.CredentialServers[c.ID] {
				if _, live := e.servers[sid]; live {
					servers[sid] = true
				}
			}
		}
		sort.Strings(names)
		for _, i := range idx {
			c := &e.s.Credentials[i]
			credKey := fmt.Sprintf("credential:%d", c.ID)
			if len(envs) > 1 {
				e.add("CS-002", credKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID,
					fmt.Sprintf("The same secret is used in %s (credentials: %s).", e.envList(envs), strings.Join(names, ", ")))
			}
			if len(servers) > 1 {
				e.add("CS-003", credKey, "credential", c.ID, c.Name, c.TeamID, c.EnvironmentID,
					fmt.Sprintf("The same secret is attached to %d servers: %s.", len(servers), e.serverList(servers)))
			}
		}
	}
}

// toolRules: CS-009 (high-risk tools without a review rule, per server) and
// CS-011 (a tool changed since its review).
func (e *evaluation) toolRules() {
	uncovered := map[uint][]string{}
	for i := range e.s.Tools {
		t := &e.s.Tools[i]
		srv, ok := e.servers[t.ServerID]
		if !ok {
			continue
		}
		if t.DefinitionChanged() {
			e.add("CS-011", fmt.Sprintf("tool:%d", t.ID), "tool", t.ID, srv.Slug+"/"+t.Name, srv.TeamID, srv.EnvironmentID,
				"The definition changed since it was last reviewed.")
		}
		if risk, _ := EffectiveRisk(*t); risk == RiskHigh && (e.s.ReviewCovered == nil || !e.s.ReviewCovered(*srv, *t)) {
			uncovered[srv.ID] = append(uncovered[srv.ID], t.Name)
		}
	}
	for sid, names := range uncovered {
		srv := e.servers[sid]
		sort.Strings(names)
		e.add("CS-009", fmt.Sprintf("server:%d", sid), "server", sid, srv.Slug, srv.TeamID, srv.EnvironmentID,
			fmt.Sprintf("High-risk tools with no review rule: %s.", strings.Join(names, ", ")))
	}
}

func (e *evaluation) envList(ids map[uint]bool) string {
	names := make([]string, 0, len(ids))
	for id := range ids {
		names = append(names, e.envName(id))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (e *evaluation) serverList(ids map[uint]bool) string {
	names := make([]string, 0, len(ids))
	for id := range ids {
		names = append(names, e.servers[id].Slug)
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("and %d more", len(names)-10))
	}
	return strings.Join(names, ", ")
}

// reachText says why a server is sensitive.
func reachText(s Server) string {
	var parts []string
	if s.ProductionData {
		parts = append(parts, "reaches production data")
	}
	if s.WriteActions {
		parts = append(parts, "performs writes")
	}
	if s.MultiTenant {
		parts = append(parts, "is multi-tenant")
	}
	return strings.Join(parts, ", ")
}

func allowedText(p EffectivePolicy) string {
	names := make([]string, 0, len(p.Entries))
	for _, e := range p.Entries {
		names = append(names, e.KeyType.Label())
	}
	return strings.Join(names, ", ")
}
