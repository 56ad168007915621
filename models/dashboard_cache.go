package models

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// The compliance dashboard aggregates whole tables (100k credentials with
// the servers they sit on, the findings, a year of reviews). dashboardCache
// reuses a computed dashboard for the same filter and scope for a short
// time, under the same rule as the decision cache: every write to a table
// the dashboard reads starts a new generation (a GORM callback; inside a
// Store.tx transaction, again after the commit), and an entry is used only
// under the generation it was computed in. So a change made through this
// process shows on the next view; a change made by another process (a
// replica, the CLI) and the passing of time (a rotation falling due) show
// within the TTL. The page states the time its figures were computed.
type dashboardCache struct {
	ttl     time.Duration
	gen     atomic.Uint64
	mu      sync.Mutex
	entries map[string]cachedDashboard
}

// DefaultDashboardCacheTTL is how long a computed dashboard may be reused.
const DefaultDashboardCacheTTL = time.Minute

// dashboardTables are the tables the dashboard reads.
var dashboardTables = map[string]bool{"credentials": true, "credential_servers": true, "servers": true, "environments": true,
	"users": true, "findings": true, "review_requests": true, "teams": true}

type cachedDashboard struct {
	gen    uint64
	loaded time.Time
	d      Dashboard
}

func newDashboardCache(ttl time.Duration) *dashboardCache {
	if ttl == 0 {
		ttl = DefaultDashboardCacheTTL
	}
	return &dashboardCache{ttl: ttl, entries: map[string]cachedDashboard{}}
}

func dashboardKey(f DashboardFilter) string {
	return fmt.Sprintf("%t|%v|%d|%d|%d", f.Scope.All, f.Scope.IDs, f.TeamID, f.EnvironmentID, f.Days)
}

// get returns the cached dashboard of the filter if it is of the current
// generation and neither the wall clock nor the store's clock moved more
// than the TTL since it was computed.
func (c *dashboardCache) get(f DashboardFilter, now time.Time) (Dashboard, bool) {
	if c.ttl < 0 {
		return Dashboard{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[dashboardKey(f)]
	c.mu.Unlock()
	age := now.Sub(e.d.At)
	if !ok || e.gen != c.gen.Load() || time.Since(e.loaded) >= c.ttl || age < 0 || age >= c.ttl {
		return Dashboard{}, false
	}
	return e.d, true
}

// put stores a dashboard computed under generation gen (read before the
// computation started, so that a write during it makes the entry unusable).
func (c *dashboardCache) put(f DashboardFilter, gen uint64, d Dashboard) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= 1000 {
		clear(c.entries)
	}
	c.entries[dashboardKey(f)] = cachedDashboard{gen: gen, loaded: time.Now(), d: d}
}

func (c *dashboardCache) invalidate() {
	c.gen.Add(1)
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// registerDashboardCallbacks makes every create, update, delete and raw
// statement on a table the dashboard reads start a new dashboard
// generation (and mark the enclosing Store.tx transaction).
func (s *Store) registerDashboardCallbacks(db *gorm.DB) error {
	bump := func(tx *gorm.DB) {
		if tx.Statement.Table != "" && !dashboardTables[tx.Statement.Table] {
			return
		}
		if m, ok := tx.Statement.Context.Value(txMarkerKey{}).(*txMarker); ok {
			m.dashboard.Store(true)
		}
		s.dash.invalidate()
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("countersign:dashboard_create", bump),
		cb.Update().After("gorm:update").Register("countersign:dashboard_update", bump),
		cb.Delete().After("gorm:delete").Register("countersign:dashboard_delete", bump),
		cb.Raw().After("gorm:raw").Register("countersign:dashboard_raw", bump),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
