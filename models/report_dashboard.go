package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// DashboardFilter narrows the compliance dashboard. TeamID and
// EnvironmentID are optional (0: any); Days is the period of the review
// figures (the last Days days up to now).
type DashboardFilter struct {
	Scope         TeamScope
	TeamID        uint
	EnvironmentID uint
	Days          int
}

// KeyTypeCount is how many active credentials have one key type.
type KeyTypeCount struct {
	KeyType KeyType
	Count   int64
}

// ReviewFigures are the step-up review figures of a period: requests made
// in [From, To), how many were decided (approved or denied) and how many of
// those by their deadline, how many expired undecided, and the median and
// 90th percentile (nearest rank) of the time to decision.
type ReviewFigures struct {
	From, To       time.Time
	Requested      int64
	Decided        int64
	WithinDeadline int64
	Expired        int64
	Median, P90    time.Duration
}

// WithinDeadlineShare is the share of decided requests decided in time.
func (r ReviewFigures) WithinDeadlineShare() float64 { return share(r.WithinDeadline, r.Decided) }

// Dashboard holds the figures of the compliance dashboard, as of At.
//
// Definitions, all over active credentials and non-retired servers:
//   - a server is sensitive when its environment is flagged sensitive, or it
//     reaches production data, performs writes, serves several tenants, or
//     touches any declared data class (SensitiveServer);
//   - OnSensitive counts credentials attached to at least one sensitive
//     server, StaticOnSensitive those of them that are static API keys;
//   - Scheduled counts credentials with a next due time (a rotation
//     schedule); WithinPolicy those not yet due (next_due_at >= At), Overdue
//     those past it — the credential list's overdue filter;
//   - ServersWithoutOwner counts servers with no owner or a deactivated one
//     (the CS-007 condition);
//   - review figures count the requests made in the team and environment
//     (the environment the held call was made in).
type Dashboard struct {
	At                  time.Time
	Credentials         int64
	ByKeyType           []KeyTypeCount
	OnSensitive         int64
	StaticOnSensitive   int64
	Scheduled           int64
	WithinPolicy        int64
	Overdue             int64
	Findings            SeverityCounts
	ReviewsPending      int64
	Reviews             ReviewFigures
	Servers             int64
	ServersWithoutOwner int64
	StaticKeys          int64
}

// StaticShare is the share of credentials on sensitive servers that are
// static API keys (0 when no credential is on a sensitive server).
func (d Dashboard) StaticShare() float64 { return share(d.StaticOnSensitive, d.OnSensitive) }

// RotationCompliance is the share of scheduled credentials within policy
// (1 when nothing is scheduled: nothing is late).
func (d Dashboard) RotationCompliance() float64 {
	if d.Scheduled == 0 {
		return 1
	}
	return share(d.WithinPolicy, d.Scheduled)
}

func share(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// sensitiveServerIDs is a subquery of the ids of sensitive, non-retired
// servers; its arguments are sensitiveArgs.
const sensitiveServerIDs = `SELECT servers.id FROM servers JOIN environments ON environments.id = servers.environment_id
	WHERE servers.status <> ? AND (environments.sensitive = ? OR servers.production_data = ? OR servers.write_actions = ?
	OR servers.multi_tenant = ? OR servers.data_classes <> '')`

func sensitiveArgs() []any { return []any{ServerRetired, true, true, true, true} }

// onSensitiveServer is a condition on credentials: attached to at least one
// sensitive server.
func onSensitiveServer() (string, []any) {
	return "credentials.id IN (SELECT cs.credential_id FROM credential_servers cs WHERE cs.server_id IN (" +
		sensitiveServerIDs + "))", sensitiveArgs()
}

// SensitiveServer reports whether a server counts as sensitive on the
// dashboard: see Dashboard. env is the server's environment.
func SensitiveServer(srv Server, env Environment) bool {
	return srv.Status != ServerRetired && (env.Sensitive || srv.SensitiveReach() || srv.DataClasses != "")
}

// Dashboard computes the compliance dashboard as of now, in a handful of
// aggregate queries (one per figure family), or returns the same filter's
// dashboard computed less than a minute ago if nothing it reads changed
// since (dashboard_cache.go).
func (s *Store) Dashboard(ctx context.Context, f DashboardFilter) (Dashboard, error) {
	if f.Days <= 0 {
		f.Days = 30
	}
	now := s.Now()
	if d, ok := s.dash.get(f, now); ok {
		return d, nil
	}
	gen := s.dash.gen.Load()
	d, err := s.dashboardAt(ctx, f, now)
	if err == nil {
		s.dash.put(f, gen, d)
	}
	return d, err
}

func (s *Store) dashboardAt(ctx context.Context, f DashboardFilter, at time.Time) (Dashboard, error) {
	if f.Days <= 0 {
		f.Days = 30
	}
	d := Dashboard{At: at, Findings: SeverityCounts{}}
	// The parts read different tables and fill different fields of d: they
	// run at once on the reader pool, so the page waits for the slowest
	// query instead of their sum.
	parts := []func() error{
		func() error { return s.dashboardCredentials(ctx, f, &d) },
		func() error { return s.dashboardFindings(ctx, f, &d) },
		func() error { return s.dashboardServers(ctx, f, &d) },
		func() error { return s.dashboardReviews(ctx, f, at, &d) },
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = part()
		}()
	}
	wg.Wait()
	return d, errors.Join(errs...)
}

// dashboardFindings counts open findings by severity.
func (s *Store) dashboardFindings(ctx context.Context, f DashboardFilter, d *Dashboard) error {
	open, err := s.findingsQuery(ctx, FindingFilter{Scope: f.Scope, TeamID: f.TeamID, EnvironmentID: f.EnvironmentID})
	if err != nil {
		return err
	}
	// By rank, which the findings list index covers (severity is not in it).
	var sev []struct {
		Rank int
		N    int64
	}
	if err := open.Select("findings.severity_rank AS rank, COUNT(*) AS n").Group("findings.severity_rank").Scan(&sev).Error; err != nil {
		return fmt.Errorf("dashboard findings: %w", err)
	}
	for _, r := range sev {
		for _, s := range Severities {
			if s.Rank() == r.Rank {
				d.Findings[s] = r.N
			}
		}
	}
	return nil
}

func (s *Store) scoped(ctx context.Context, table string, f DashboardFilter) *gorm.DB {
	q := f.Scope.apply(s.r(ctx).Table(table), table+".team_id")
	if f.TeamID != 0 {
		q = q.Where(table+".team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where(table+".environment_id = ?", f.EnvironmentID)
	}
	return q
}

// dashboardCredentials counts active credentials by key type with their
// rotation schedule state, and those of them attached to a sensitive
// server, in two index-only queries: the filtered credentials grouped by
// key type, each group with the list of its ids, and the ids of the
// credentials linked to a sensitive server; the intersection is made here
// on a bitset. Asking the database whether each of ~95k credentials is in
// the sensitive set cost ~120 ms of CPU on pure-Go SQLite (an ephemeral
// index built and probed on every view); the two scans and the bitset take
// ~45 ms (docs/performance.md, "Compliance dashboard").
func (s *Store) dashboardCredentials(ctx context.Context, f DashboardFilter, d *Dashboard) error {
	sel := `credentials.key_type AS key_type, COUNT(*) AS n,
		SUM(CASE WHEN credentials.next_due_at IS NOT NULL THEN 1 ELSE 0 END) AS scheduled,
		SUM(CASE WHEN credentials.next_due_at < ? THEN 1 ELSE 0 END) AS overdue,
		` + s.joinedInts("credentials.id") + ` AS ids`
	var rows []struct {
		KeyType   KeyType
		N         int64
		Scheduled int64
		Overdue   int64
		IDs       string
	}
	err := s.scoped(ctx, "credentials", f).Where("credentials.status = ?", CredentialActive).
		Select(sel, d.At).Group("credentials.key_type").Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("dashboard credentials: %w", err)
	}
	var sensitive idSet
	if len(rows) > 0 {
		var ids string
		err = s.r(ctx).Raw("SELECT "+s.joinedInts("cs.credential_id")+" FROM credential_servers cs WHERE cs.server_id IN ("+
			sensitiveServerIDs+")", sensitiveArgs()...).Row().Scan(&ids)
		if err != nil {
			return fmt.Errorf("dashboard credentials on sensitive servers: %w", err)
		}
		eachInt(ids, func(id int64) { sensitive.add(id) })
	}
	counts := map[KeyType]int64{}
	for _, r := range rows {
		var on int64
		eachInt(r.IDs, func(id int64) {
			if sensitive.has(id) {
				on++
			}
		})
		counts[r.KeyType] = r.N
		d.Credentials += r.N
		d.Scheduled += r.Scheduled
		d.Overdue += r.Overdue
		d.OnSensitive += on
		if r.KeyType == KeyStaticAPIKey {
			d.StaticOnSensitive = on
			d.StaticKeys = r.N
		}
	}
	d.WithinPolicy = d.Scheduled - d.Overdue
	for _, kt := range KeyTypes {
		d.ByKeyType = append(d.ByKeyType, KeyTypeCount{KeyType: kt, Count: counts[kt]})
	}
	return nil
}

// joinedInts is an SQL aggregate of an integer expression into one text
// value, the values separated by commas (empty for no row; NULLs skipped):
// reading one value instead of one row per number keeps the driver's
// per-row cost out of figures computed over 100k rows.
func (s *Store) joinedInts(expr string) string {
	if s.dialect == DialectPostgres {
		return "COALESCE(string_agg(CAST(" + expr + " AS TEXT), ','), '')"
	}
	return "COALESCE(group_concat(" + expr + "), '')"
}

// eachInt calls fn with each integer of a joinedInts value.
func eachInt(list string, fn func(int64)) {
	var v int64
	neg, in := false, false
	for i := 0; i <= len(list); i++ {
		if i == len(list) || list[i] == ',' {
			if in {
				if neg {
					v = -v
				}
				fn(v)
			}
			v, neg, in = 0, false, false
			continue
		}
		switch c := list[i]; {
		case c == '-':
			neg = true
		case c >= '0' && c <= '9':
			v, in = v*10+int64(c-'0'), true
		}
	}
}

// idSet is a set of non-negative ids (row ids: dense and bounded).
type idSet []uint64

func (b *idSet) add(id int64) {
	if id < 0 {
		return
	}
	w := int(id / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (uint(id) % 64)
}

func (b idSet) has(id int64) bool {
	w := int(id / 64)
	return id >= 0 && w < len(b) && b[w]&(1<<(uint(id)%64)) != 0
}

// dashboardServers counts non-retired servers and those without an active
// owner.
func (s *Store) dashboardServers(ctx context.Context, f DashboardFilter, d *Dashboard) error {
	var row struct {
		N       int64
		NoOwner int64
	}
	err := s.scoped(ctx, "servers", f).Where("servers.status <> ?", ServerRetired).
		Select(`COUNT(*) AS n, SUM(CASE WHEN `+noActiveOwner+` THEN 1 ELSE 0 END) AS no_owner`, true).Scan(&row).Error
	if err != nil {
		return fmt.Errorf("dashboard servers: %w", err)
	}
	d.Servers, d.ServersWithoutOwner = row.N, row.NoOwner
	return nil
}

// noActiveOwner is a condition on servers (one argument: true): no owner,
// or a deactivated one.
const noActiveOwner = `(servers.owner_id IS NULL OR servers.owner_id NOT IN (SELECT users.id FROM users WHERE users.active = ?))`

// dashboardReviews computes the pending count as of at and the figures of
// the requests made in the Days days before at: one aggregate query, and
// one that reads the decision times of the decided requests for the median
// and p90.
func (s *Store) dashboardReviews(ctx context.Context, f DashboardFilter, at time.Time, d *Dashboard) error {
	r := &d.Reviews
	r.To = at
	r.From = at.AddDate(0, 0, -f.Days)
	// Pending as of at: made by then, deadline not passed, and not decided
	// by then (today: status pending).
	err := s.scoped(ctx, "review_requests", f).
		Where("review_requests.deadline > ? AND review_requests.created_at <= ?", at, at).
		Where("(review_requests.status = ? OR (review_requests.status IN ? AND review_requests.decided_at > ?))",
			ReviewPending, []ReviewStatus{ReviewApproved, ReviewDenied}, at).
		Count(&d.ReviewsPending).Error
	if err != nil {
		return fmt.Errorf("dashboard pending reviews: %w", err)
	}
	period := func() *gorm.DB {
		return s.scoped(ctx, "review_requests", f).
			Where("review_requests.created_at >= ? AND review_requests.created_at < ?", r.From, r.To)
	}
	// On SQLite, "+" keeps the planner on the covering creation-time index
	// rather than the (status, deadline) one.
	status := "review_requests.status"
	if s.dialect == DialectSQLite {
		status = "+" + status
	}
	decided := status + " IN ? AND review_requests.decided_at IS NOT NULL AND review_requests.decided_at <= ?"
	dargs := []any{[]ReviewStatus{ReviewApproved, ReviewDenied}, at}
	// One pass: the counts, and the decision times (whole seconds) of the
	// decided requests as one text value for the median and p90 — a year
	// holds ~95k of them at scale, too many to read one row each.
	var agg struct {
		N       int64
		Decided int64
		InTime  int64
		Expired int64
		Secs    string
	}
	err = period().Select(`COUNT(*) AS n,
		SUM(CASE WHEN `+decided+` THEN 1 ELSE 0 END) AS decided,
		SUM(CASE WHEN `+decided+` AND review_requests.decided_at <= review_requests.deadline THEN 1 ELSE 0 END) AS in_time,
		SUM(CASE WHEN review_requests.status = ? AND review_requests.deadline <= ? THEN 1 ELSE 0 END) AS expired,
		`+s.joinedInts(`CASE WHEN `+decided+` THEN `+s.wholeSecondsBetween("review_requests.created_at", "review_requests.decided_at")+` END`)+` AS secs`,
		append(append(append(append([]any{}, dargs...), dargs...), ReviewExpired, at), dargs...)...).Scan(&agg).Error
	if err != nil {
		return fmt.Errorf("dashboard reviews: %w", err)
	}
	r.Requested, r.Decided, r.WithinDeadline, r.Expired = agg.N, agg.Decided, agg.InTime, agg.Expired
	if r.Decided == 0 {
		return nil
	}
	ds := make([]time.Duration, 0, r.Decided)
	eachInt(agg.Secs, func(v int64) { ds = append(ds, time.Duration(v)*time.Second) })
	slices.Sort(ds)
	r.Median, r.P90 = sortedPercentile(ds, 50), sortedPercentile(ds, 90)
	return nil
}

// wholeSecondsBetween is an SQL expression of the seconds from column a to
// b, rounded half away from zero to a whole number.
func (s *Store) wholeSecondsBetween(a, b string) string {
	if s.dialect == DialectPostgres {
		return "CAST(ROUND(CAST(EXTRACT(EPOCH FROM (" + b + " - " + a + ")) AS NUMERIC)) AS BIGINT)"
	}
	return "CAST(ROUND((julianday(" + b + ") - julianday(" + a + ")) * 86400.0) AS INTEGER)"
}

// sortedPercentile is percentile on an already sorted slice.
func sortedPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := max((p*len(sorted)+99)/100, 1)
	return sorted[rank-1]
}
