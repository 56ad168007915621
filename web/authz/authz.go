// Package authz decides who may do what, with Casbin. The model and the
// role→permission policy are embedded (and code-reviewed); the user→role
// assignments per team come from the database. Errors are returned, never
// swallowed: a caller that gets an error must deny.
package authz

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"
	"github.com/casbin/casbin/v2/util"
	"github.com/countersign/countersign/models"
)

//go:embed model.conf
var modelText string

//go:embed policy.csv
var policyText string

// Objects of the policy.
const (
	ObjUsers         = "users"
	ObjTeams         = "teams"
	ObjAudit         = "audit"
	ObjInventory     = "inventory"
	ObjFindings      = "findings"
	ObjExceptions    = "exceptions"
	ObjReviews       = "reviews"
	ObjReviewRules   = "review_rules"
	ObjGrants        = "grants"
	ObjClients       = "clients"
	ObjRotations     = "rotations"
	ObjJobs          = "jobs"
	ObjNotifications = "notifications"
	ObjReports       = "reports"
)

// Actions of the policy.
const (
	ActRead   = "read"
	ActWrite  = "write"
	ActDecide = "decide"
	ActRevoke = "revoke"
	ActRun    = "run"
	ActExport = "export"
)

// Permission is what a route or an action requires.
type Permission struct {
	Object string
	Action string
}

// Special permissions of routes that need no policy entry.
var (
	// Public routes need no sign-in (sign-in page, health, static files).
	Public = Permission{Object: "@public"}
	// SignedIn routes need a signed-in user and nothing else (own sessions).
	SignedIn = Permission{Object: "@signed-in"}
)

// ObjClient is the object of permissions held by API clients (machines),
// not by people: a route with ClientScope(s) needs a bearer token of an API
// client holding scope s, and a signed-in session never passes it.
const ObjClient = "@client"

// ClientScope is the permission of a bearer-token route needing scope.
func ClientScope(scope string) Permission { return Permission{Object: ObjClient, Action: scope} }

// String renders the permission as "object:action".
func (p Permission) String() string {
	if p.Action == "" {
		return p.Object
	}
	return p.Object + ":" + p.Action
}

// RoleSource provides the role assignments held in the database.
type RoleSource interface {
	RoleAssignments(ctx context.Context) ([]models.RoleAssignment, error)
	RolesVersion(ctx context.Context) (string, error)
}

// Authorizer wraps a Casbin enforcer. Reload swaps in a freshly built
// enforcer, so a check never sees a half-loaded policy.
type Authorizer struct {
	source RoleSource
	policy string

	mu       sync.RWMutex
	enforcer *casbin.SyncedEnforcer
	domains  map[uint][]string
	version  string
	// decisions caches answers until the next reload; the policy and the
	// assignments are fixed between reloads, so the cache is exact.
	decisions *sync.Map
}

// New builds an Authorizer with the embedded policy and loads assignments.
func New(ctx context.Context, source RoleSource) (*Authorizer, error) {
	return NewWithPolicy(ctx, source, policyText)
}

// NewWithPolicy is New with another role→permission policy (for tests).
func NewWithPolicy(ctx context.Context, source RoleSource, policy string) (*Authorizer, error) {
	a := &Authorizer{source: source, policy: policy}
	if err := a.Reload(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// PolicyText returns the embedded role→permission policy.
func PolicyText() string { return policyText }

// Reload rebuilds the enforcer from the policy and the current assignments.
func (a *Authorizer) Reload(ctx context.Context) error {
	version, err := a.source.RolesVersion(ctx)
	if err != nil {
		return fmt.Errorf("authz: read roles version: %w", err)
	}
	assignments, err := a.source.RoleAssignments(ctx)
	if err != nil {
		return fmt.Errorf("authz: load role assignments: %w", err)
	}
	var b strings.Builder
	b.WriteString(a.policy)
	b.WriteString("\n")
	domains := map[uint][]string{}
	for _, ra := range assignments {
		fmt.Fprintf(&b, "g, %s, role:%s, %s\n", subject(ra.UserID), ra.Role, ra.Scope)
		domains[ra.UserID] = append(domains[ra.UserID], ra.Scope)
	}
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return fmt.Errorf("authz: parse model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m, stringadapter.NewAdapter(b.String()))
	if err != nil {
		return fmt.Errorf("authz: build enforcer: %w", err)
	}
	e.AddNamedDomainMatchingFunc("g", "KeyMatch", util.KeyMatch)
	if err := e.BuildRoleLinks(); err != nil {
		return fmt.Errorf("authz: build role links: %w", err)
	}
	for id := range domains {
		sort.Strings(domains[id])
	}
	a.mu.Lock()
	a.enforcer, a.domains, a.version, a.decisions = e, domains, version, &sync.Map{}
	a.mu.Unlock()
	return nil
}

// ReloadIfChanged reloads when the assignments changed since the last load
// (possibly on another replica).
func (a *Authorizer) ReloadIfChanged(ctx context.Context) error {
	version, err := a.source.RolesVersion(ctx)
	if err != nil {
		return fmt.Errorf("authz: read roles version: %w", err)
	}
	a.mu.RLock()
	same := version == a.version
	a.mu.RUnlock()
	if same {
		return nil
	}
	return a.Reload(ctx)
}

type decisionKey struct {
	user   uint
	domain string
	perm   Permission
}

func subject(userID uint) string { return fmt.Sprintf("user:%d", userID) }

// Can reports whether the user may perform p in the domain (a team domain
// from models.TeamDomain, or "*" for org-wide objects).
func (a *Authorizer) Can(userID uint, domain string, p Permission) (bool, error) {
	if p.Object == "" || p.Action == "" || strings.HasPrefix(p.Object, "@") {
		return false, fmt.Errorf("authz: %q is not a policy permission", p)
	}
	a.mu.RLock()
	e, cache := a.enforcer, a.decisions
	a.mu.RUnlock()
	if e == nil {
		return false, errors.New("authz: no policy loaded")
	}
	key := decisionKey{userID, domain, p}
	if v, ok := cache.Load(key); ok {
		return v.(bool), nil
	}
	ok, err := e.Enforce(subject(userID), domain, p.Object, p.Action)
	if err != nil {
		return false, fmt.Errorf("authz: enforce %s in %s: %w", p, domain, err)
	}
	cache.Store(key, ok)
	return ok, nil
}

// DomainsWith lists the domains in which the user may perform p; "*" in the
// result means every team.
func (a *Authorizer) DomainsWith(userID uint, p Permission) ([]string, error) {
	a.mu.RLock()
	held := a.domains[userID]
	a.mu.RUnlock()
	var out []string
	for _, d := range held {
		ok, err := a.Can(userID, d, p)
		if err != nil {
			return nil, err
		}
		if ok && (len(out) == 0 || out[len(out)-1] != d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// CanAnywhere reports whether the user may perform p in at least one team
// (or org-wide). Routes check this; handlers then check the object's team.
func (a *Authorizer) CanAnywhere(userID uint, p Permission) (bool, error) {
	d, err := a.DomainsWith(userID, p)
	return len(d) > 0, err
}
