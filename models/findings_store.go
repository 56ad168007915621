package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DefaultRotationGrace is how long after its due time a rotation becomes
// overdue (CS-005).
const DefaultRotationGrace = 72 * time.Hour

// LoadSnapshot reads the whole inventory the posture rules look at. The two
// large tables (credentials, tools) are scanned by hand: at 100k rows the
// reflection of a generic scan costs more than the query.
func (s *Store) LoadSnapshot(ctx context.Context) (InventorySnapshot, error) {
	snap := InventorySnapshot{Now: s.Now(), Environments: map[uint]Environment{}, CredentialServers: map[uint][]uint{},
		ActiveUsers: map[uint]bool{}, RotationGrace: DefaultRotationGrace}
	db := s.r(ctx)
	var envs []Environment
	if err := db.Find(&envs).Error; err != nil {
		return snap, fmt.Errorf("load environments: %w", err)
	}
	for _, e := range envs {
		snap.Environments[e.ID] = e
	}
	if err := db.Select("id, slug, team_id, environment_id, hosting, vendor_name, owner_id, status, production_data, write_actions, multi_tenant, chains_tools, data_classes").
		Find(&snap.Servers).Error; err != nil {
		return snap, fmt.Errorf("load servers: %w", err)
	}
	if err := db.Find(&snap.Policies).Error; err != nil {
		return snap, fmt.Errorf("load key policies: %w", err)
	}
	var users []uint
	if err := db.Model(&User{}).Where("active = ?", true).Pluck("id", &users).Error; err != nil {
		return snap, fmt.Errorf("load users: %w", err)
	}
	for _, id := range users {
		snap.ActiveUsers[id] = true
	}
	covered, err := s.ReviewCoverage(ctx)
	if err != nil {
		return snap, err
	}
	snap.ReviewCovered = covered
	// The three large reads run side by side on the reader pool.
	var wg sync.WaitGroup
	var toolsErr, credsErr, linksErr error
	wg.Add(3)
	go func() { defer wg.Done(); snap.Tools, toolsErr = s.scanTools(ctx) }()
	go func() { defer wg.Done(); snap.Credentials, credsErr = s.scanCredentials(ctx) }()
	go func() { defer wg.Done(); snap.CredentialServers, linksErr = s.scanCredentialServers(ctx) }()
	wg.Wait()
	return snap, errors.Join(toolsErr, credsErr, linksErr)
}

func (s *Store) scanCredentialServers(ctx context.Context) (map[uint][]uint, error) {
	rows, err := s.r(ctx).Raw("SELECT credential_id, server_id FROM credential_servers").Rows()
	if err != nil {
		return nil, fmt.Errorf("load credential servers: %w", err)
	}
	defer rows.Close()
	out := map[uint][]uint{}
	for rows.Next() {
		var c, sv uint
		if err := rows.Scan(&c, &sv); err != nil {
			return nil, fmt.Errorf("scan credential servers: %w", err)
		}
		out[c] = append(out[c], sv)
	}
	return out, rows.Err()
}

func (s *Store) scanTools(ctx context.Context) ([]Tool, error) {
	rows, err := s.r(ctx).Raw(`SELECT id, server_id, name, read_only_hint, destructive_hint, idempotent_hint, open_world_hint,
		definition_hash, reviewed_hash, risk_override FROM tools`).Rows()
	if err != nil {
		return nil, fmt.Errorf("load tools: %w", err)
	}
	defer rows.Close()
	var out []Tool
	for rows.Next() {
		var t Tool
		var ro, de, id, ow sql.NullBool
		var risk string
		if err := rows.Scan(&t.ID, &t.ServerID, &t.Name, &ro, &de, &id, &ow, &t.DefinitionHash, &t.ReviewedHash, &risk); err != nil {
			return nil, fmt.Errorf("scan tools: %w", err)
		}
		t.ReadOnlyHint, t.DestructiveHint, t.IdempotentHint, t.OpenWorldHint = nullBool(ro), nullBool(de), nullBool(id), nullBool(ow)
		t.RiskOverride = Risk(risk)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) scanCredentials(ctx context.Context) ([]Credential, error) {
	rows, err := s.r(ctx).Raw(`SELECT id, name, team_id, environment_id, key_type, owner_id, expires_at, next_due_at, status,
		fingerprint, exposed_in FROM credentials`).Rows()
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var c Credential
		var owner sql.NullInt64
		var expires, due sql.NullTime
		var kt, status string
		if err := rows.Scan(&c.ID, &c.Name, &c.TeamID, &c.EnvironmentID, &kt, &owner, &expires, &due, &status,
			&c.Fingerprint, &c.ExposedIn); err != nil {
			return nil, fmt.Errorf("scan credentials: %w", err)
		}
		c.KeyType, c.Status = KeyType(kt), CredentialStatus(status)
		if owner.Valid {
			o := uint(owner.Int64)
			c.OwnerID = &o
		}
		c.ExpiresAt, c.NextDueAt = nullTime(expires), nullTime(due)
		out = append(out, c)
	}
	return out, rows.Err()
}

func nullBool(b sql.NullBool) *bool {
	if !b.Valid {
		return nil
	}
	v := b.Bool
	return &v
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// storedFinding is what a recompute compares with a new result.
type storedFinding struct {
	ID         uint
	Key        string
	Severity   Severity
	Detail     string
	ObjectName string
	ResolvedAt *time.Time
}

// scanStoredFindings reads every stored finding's comparable fields. A
// concurrent recompute on another replica may change them meanwhile; the
// upsert and the resolve by id keep that safe.
func (s *Store) scanStoredFindings(ctx context.Context) ([]storedFinding, error) {
	rows, err := s.r(ctx).Raw("SELECT id, key, severity, detail, object_name, resolved_at FROM findings").Rows()
	if err != nil {
		return nil, fmt.Errorf("load findings: %w", err)
	}
	defer rows.Close()
	var out []storedFinding
	for rows.Next() {
		var f storedFinding
		var sev string
		var resolved sql.NullTime
		if err := rows.Scan(&f.ID, &f.Key, &sev, &f.Detail, &f.ObjectName, &resolved); err != nil {
			return nil, fmt.Errorf("scan findings: %w", err)
		}
		f.Severity, f.ResolvedAt = Severity(sev), nullTime(resolved)
		out = append(out, f)
	}
	return out, rows.Err()
}

// RecomputeResult counts what a recompute changed.
type RecomputeResult struct {
	Open     int
	Opened   int
	Resolved int
	Updated  int
	Duration time.Duration
}

// RecomputeFindings evaluates the rules over the current inventory and
// stores the difference: new findings are inserted (or reopened, keeping
// their first-seen time), findings that disappeared are marked resolved, and
// changed details are updated. One audit event records the counts when
// anything opened or resolved.
func (s *Store) RecomputeFindings(ctx context.Context) (RecomputeResult, error) {
	start := time.Now()
	snap, err := s.LoadSnapshot(ctx)
	if err != nil {
		return RecomputeResult{}, err
	}
	// Evaluate the rules while the stored findings load.
	var existing []storedFinding
	var loadErr error
	loaded := make(chan struct{})
	go func() { defer close(loaded); existing, loadErr = s.scanStoredFindings(ctx) }()
	results := EvaluateFindings(snap)
	<-loaded
	if loadErr != nil {
		return RecomputeResult{}, loadErr
	}
	res := RecomputeResult{Open: len(results)}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		byKey := make(map[string]storedFinding, len(existing))
		for _, f := range existing {
			byKey[f.Key] = f
		}
		now := snap.Now
		seen := make(map[string]bool, len(results))
		var fresh []Finding
		for _, r := range results {
			seen[r.Key] = true
			old, ok := byKey[r.Key]
			switch {
			case !ok || old.ResolvedAt != nil:
				fresh = append(fresh, Finding{Key: r.Key, RuleID: r.RuleID, Severity: r.Severity, SeverityRank: r.Severity.Rank(), ObjectType: r.ObjectType,
					ObjectID: r.ObjectID, ObjectName: r.ObjectName, TeamID: r.TeamID, EnvironmentID: r.EnvironmentID,
					Detail: r.Detail, FirstSeenAt: now, LastSeenAt: now})
			case old.Detail != r.Detail || old.Severity != r.Severity || old.ObjectName != r.ObjectName:
				res.Updated++
				if err := tx.Model(&Finding{}).Where("id = ?", old.ID).Updates(map[string]any{"detail": r.Detail,
					"severity": r.Severity, "severity_rank": r.Severity.Rank(), "object_name": r.ObjectName, "team_id": r.TeamID,
					"environment_id": r.EnvironmentID, "last_seen_at": now}).Error; err != nil {
					return fmt.Errorf("update finding: %w", err)
				}
			}
		}
		res.Opened = len(fresh)
		if len(fresh) > 0 {
			// A reopened finding keeps its first-seen time; a concurrent
			// recompute on another replica may insert the same key.
			update := append(clause.AssignmentColumns([]string{"detail", "severity", "severity_rank", "object_name", "team_id", "environment_id", "last_seen_at"}),
				clause.Assignment{Column: clause.Column{Name: "resolved_at"}, Value: nil})
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoUpdates: update}).
				CreateInBatches(&fresh, 500).Error
			if err != nil {
				return fmt.Errorf("insert findings: %w", err)
			}
		}
		var gone []uint
		for _, f := range existing {
			if f.ResolvedAt == nil && !seen[f.Key] {
				gone = append(gone, f.ID)
			}
		}
		res.Resolved = len(gone)
		for i := 0; i < len(gone); i += 500 {
			j := min(i+500, len(gone))
			if err := tx.Model(&Finding{}).Where("id IN ?", gone[i:j]).Update("resolved_at", now).Error; err != nil {
				return fmt.Errorf("resolve findings: %w", err)
			}
		}
		if res.Opened == 0 && res.Resolved == 0 {
			return nil
		}
		return s.appendAudit(tx, SystemActor("findings"), AuditEntry{Action: "findings.recompute", ObjectType: "findings",
			After: map[string]any{"open": res.Open, "opened": res.Opened, "resolved": res.Resolved}})
	})
	res.Duration = time.Since(start)
	return res, err
}

// FindingsRefresher recomputes findings after changes. Calls that arrive
// while a recompute runs share the next one, so a burst of changes costs at
// most two recomputes, and a caller always sees a recompute that started
// after its change. When a recompute takes longer than SyncLimit (a large
// inventory), later calls start it in the background and return at once, so
// a save does not wait for it; the scheduled recompute is the safety net.
type FindingsRefresher struct {
	store     *Store
	mu        sync.Mutex
	requested uint64
	done      uint64
	reqMu     sync.Mutex
	lastErr   error
	last      time.Duration
	// SyncLimit is the recompute time above which refreshes go to the
	// background (default 300 ms).
	SyncLimit time.Duration
}

// NewFindingsRefresher returns a refresher for the store.
func NewFindingsRefresher(s *Store) *FindingsRefresher {
	return &FindingsRefresher{store: s, SyncLimit: 300 * time.Millisecond}
}

// Refresh recomputes findings, or waits for a recompute that started after
// this call; on a large inventory it starts one in the background instead.
func (r *FindingsRefresher) Refresh(ctx context.Context) error {
	r.reqMu.Lock()
	r.requested++
	ticket := r.requested
	slow := r.last > r.SyncLimit
	r.reqMu.Unlock()
	if slow {
		go func() {
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
			defer cancel()
			if err := r.run(bg, ticket); err != nil {
				r.store.log.Error("recompute findings in the background", "error", err)
			}
		}()
		return nil
	}
	return r.run(ctx, ticket)
}

func (r *FindingsRefresher) run(ctx context.Context, ticket uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done >= ticket {
		return r.lastErr
	}
	r.reqMu.Lock()
	covers := r.requested
	r.reqMu.Unlock()
	res, err := r.store.RecomputeFindings(ctx)
	r.reqMu.Lock()
	r.last = res.Duration
	r.reqMu.Unlock()
	r.done, r.lastErr = covers, err
	return err
}
