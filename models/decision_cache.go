package models

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// The decision path reads the same few rows for every call: the bearer
// token with its client, the server with its environment, the tool and the
// team's review rules. decisionCache keeps them in memory so that an allow
// costs no query.
//
// Freshness. Every write to a table the decision reads bumps the store's
// policy generation (a GORM callback, so no write path can forget it); a
// write inside a transaction bumps it again after the commit, so a reader
// cannot cache the rows it read just before the commit under the new
// generation. An entry is used only under the generation it was read in, so
// a change made through this process (a revoked token, a new deny rule, a
// retired server) applies to the very next decision. Changes made by another
// process on the same database (the CLI, another replica) are seen when the
// entry's lifetime ends: Options.PolicyCacheTTL, one second by default. Token expiry is checked on every
// call against the cached expiry, so an expired token is refused at once.
type decisionCache struct {
	ttl     time.Duration
	gen     atomic.Uint64
	tokens  sync.Map // token hash → cachedToken
	calls   sync.Map // resource → cachedCall
	rules   sync.Map // team id → cachedRules
	servers sync.Map // slug → cachedServer
	entries atomic.Int64
}

// DefaultPolicyCacheTTL bounds how long a cached row is used without being
// read again: the delay before a change made by another process applies.
const DefaultPolicyCacheTTL = time.Second

// maxCacheEntries bounds the memory the cache may hold; past it, the cache
// is cleared (it refills from the database).
const maxCacheEntries = 100_000

// policyTables are the tables the decision path reads.
var policyTables = map[string]bool{"api_tokens": true, "api_clients": true, "servers": true, "tools": true,
	"environments": true, "review_rules": true, "teams": true}

type cacheStamp struct {
	gen    uint64
	loaded time.Time
}

func (c *decisionCache) stamp() cacheStamp { return cacheStamp{gen: c.gen.Load(), loaded: time.Now()} }

func (c *decisionCache) fresh(s cacheStamp) bool {
	return s.gen == c.gen.Load() && time.Since(s.loaded) < c.ttl
}

// invalidate starts a new generation and drops every entry.
func (c *decisionCache) invalidate() {
	c.gen.Add(1)
	c.clear()
}

func (c *decisionCache) clear() {
	c.tokens.Clear()
	c.calls.Clear()
	c.rules.Clear()
	c.servers.Clear()
	c.entries.Store(0)
}

func (c *decisionCache) stored() {
	if c.entries.Add(1) > maxCacheEntries {
		c.clear()
	}
}

type cachedToken struct {
	stamp  cacheStamp
	client APIClient
	token  APIToken
}

type cachedCall struct {
	stamp  cacheStamp
	server Server
	tool   Tool
	err    error
}

type cachedServer struct {
	stamp  cacheStamp
	server Server
}

type cachedRules struct {
	stamp cacheStamp
	rules []ReviewRule
}

// txMarkerKey marks the context of a transaction opened by Store.tx, so
// that the write callback can tell the transaction it touched policy rows.
type txMarkerKey struct{}

type txMarker struct {
	touched atomic.Bool
	// dashboard: the transaction wrote rows the dashboard reads
	// (dashboard_cache.go).
	dashboard atomic.Bool
}

// registerPolicyCallbacks makes every create, update, delete and raw
// statement on a policy table bump the generation (and mark the enclosing
// Store.tx transaction, which bumps it again after its commit).
func (s *Store) registerPolicyCallbacks(db *gorm.DB) error {
	bump := func(tx *gorm.DB) {
		if tx.Statement.Table != "" && !policyTables[tx.Statement.Table] {
			return
		}
		if m, ok := tx.Statement.Context.Value(txMarkerKey{}).(*txMarker); ok {
			m.touched.Store(true)
		}
		s.cache.invalidate()
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("countersign:policy_create", bump),
		cb.Update().After("gorm:update").Register("countersign:policy_update", bump),
		cb.Delete().After("gorm:delete").Register("countersign:policy_delete", bump),
		cb.Raw().After("gorm:raw").Register("countersign:policy_raw", bump),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a write transaction; if fn wrote policy rows, the decision
// cache starts a new generation after the commit.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	m := &txMarker{}
	err := s.w(context.WithValue(ctx, txMarkerKey{}, m)).Transaction(fn)
	if m.touched.Load() {
		s.cache.invalidate()
	}
	if m.dashboard.Load() {
		s.dash.invalidate()
	}
	return err
}

// cachedAPIToken returns the token row and its client, from the cache or
// the database.
func (s *Store) cachedAPIToken(ctx context.Context, hash string, load func() (APIClient, APIToken, error)) (APIClient, APIToken, error) {
	if v, ok := s.cache.tokens.Load(hash); ok {
		if e := v.(cachedToken); s.cache.fresh(e.stamp) {
			return e.client, e.token, nil
		}
	}
	st := s.cache.stamp()
	client, tok, err := load()
	if err == nil && tok.ID != 0 {
		s.cache.tokens.Store(hash, cachedToken{stamp: st, client: client, token: tok})
		s.cache.stored()
	}
	return client, tok, err
}

// cachedCall returns the server (with its environment) and tool of
// "slug/tool". Not-found answers are cached too; other errors are not.
func (s *Store) cachedCall(ctx context.Context, resource string) (Server, Tool, error) {
	if v, ok := s.cache.calls.Load(resource); ok {
		if e := v.(cachedCall); s.cache.fresh(e.stamp) {
			return e.server, e.tool, e.err
		}
	}
	st := s.cache.stamp()
	srv, tool, err := lookupCall(s.r(ctx), resource)
	if err == nil || errors.Is(err, ErrNotFound) {
		s.cache.calls.Store(resource, cachedCall{stamp: st, server: srv, tool: tool, err: err})
		s.cache.stored()
	}
	return srv, tool, err
}

// cachedRules returns the team's enabled review rules in evaluation order.
// The slice is shared: callers must not modify it.
func (s *Store) cachedRules(ctx context.Context, teamID uint) ([]ReviewRule, error) {
	if v, ok := s.cache.rules.Load(teamID); ok {
		if e := v.(cachedRules); s.cache.fresh(e.stamp) {
			return e.rules, nil
		}
	}
	st := s.cache.stamp()
	rules, err := enabledRules(s.r(ctx), teamID)
	if err == nil {
		s.cache.rules.Store(teamID, cachedRules{stamp: st, rules: rules})
		s.cache.stored()
	}
	return rules, err
}

// PolicyGeneration changes whenever a token, client, server, tool,
// environment, team or review rule changes through this store; callers
// that derive views from those rows (the MCP gateway's tool lists) rebuild
// them when it moves.
func (s *Store) PolicyGeneration() uint64 { return s.cache.gen.Load() }

// CachedServerBySlug is ServerBySlug through the decision cache (the MCP
// gateway reads it on every request): fresh under the same rules as the
// decision path.
func (s *Store) CachedServerBySlug(ctx context.Context, slug string) (Server, error) {
	if v, ok := s.cache.servers.Load(slug); ok {
		if e := v.(cachedServer); s.cache.fresh(e.stamp) {
			return e.server, nil
		}
	}
	st := s.cache.stamp()
	srv, err := s.ServerBySlug(ctx, slug)
	if err == nil {
		s.cache.servers.Store(slug, cachedServer{stamp: st, server: srv})
		s.cache.stored()
	}
	return srv, err
}
