package models

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// ReviewAnalyticsFilter narrows the review analytics.
type ReviewAnalyticsFilter struct {
	Scope         TeamScope
	TeamID        uint
	EnvironmentID uint
	From          time.Time
	To            time.Time
}

// DayCount is the review volume of one day (UTC).
type DayCount struct {
	Day                                 string
	Requests, Approved, Denied, Expired int
}

// LabelCount is a label and how often it occurs.
type LabelCount struct {
	Label string
	Count int
	// Extra holds a second figure (denials for approvers).
	Extra int
}

// DurationBucket counts decisions that took up to Upper (the last bucket
// has no upper bound).
type DurationBucket struct {
	Label string
	Upper time.Duration
	Count int
}

// ReviewAnalytics is what the review analytics page shows.
type ReviewAnalytics struct {
	From, To       time.Time
	Total          int
	ByDay          []DayCount
	Outcomes       map[ReviewStatus]int
	Decided        int
	WithinDeadline int
	Median, P90    time.Duration
	Durations      []DurationBucket
	PerApprover    []LabelCount
	TopServers     []LabelCount
	TopTools       []LabelCount
	TopRequesters  []LabelCount
	TopRules       []LabelCount
	MaxDay         int
}

// WithinDeadlineShare is the share of decided requests decided in time.
func (a ReviewAnalytics) WithinDeadlineShare() float64 {
	if a.Decided == 0 {
		return 0
	}
	return float64(a.WithinDeadline) / float64(a.Decided)
}

var durationBuckets = []DurationBucket{
	{Label: "≤ 5 min", Upper: 5 * time.Minute}, {Label: "5–15 min", Upper: 15 * time.Minute},
	{Label: "15–60 min", Upper: time.Hour}, {Label: "1–4 h", Upper: 4 * time.Hour},
	{Label: "4–24 h", Upper: 24 * time.Hour}, {Label: "> 24 h"},
}

// ReviewAnalytics computes volume by day, outcomes, the time-to-decision
// distribution, load per approver and the servers, tools, requesters and
// rules that hold the most, over requests created in [From, To). Times to
// decision are whole seconds, computed as on the dashboard (whose period
// is the last N×24 hours rather than whole UTC days).
//
// A year holds ~100k requests at scale: they are read as one narrow row
// each (the UTC day, the decision time and whether it was in time are
// computed in SQL, server and tool by id, no GORM scanning), the names of
// the servers and tools seen are loaded afterwards, and the approvers'
// load is one grouped query.
func (s *Store) ReviewAnalytics(ctx context.Context, f ReviewAnalyticsFilter) (ReviewAnalytics, error) {
	a := ReviewAnalytics{From: f.From.UTC(), To: f.To.UTC(), Outcomes: map[ReviewStatus]int{}}
	period := func(q *gorm.DB) *gorm.DB {
		q = f.Scope.apply(q, "review_requests.team_id").
			Where("review_requests.created_at >= ? AND review_requests.created_at < ?", a.From, a.To)
		if f.TeamID != 0 {
			q = q.Where("review_requests.team_id = ?", f.TeamID)
		}
		if f.EnvironmentID != 0 {
			q = q.Where("review_requests.environment_id = ?", f.EnvironmentID)
		}
		return q
	}
	decided := "review_requests.status IN ? AND review_requests.decided_at IS NOT NULL"
	statuses := []ReviewStatus{ReviewApproved, ReviewDenied}
	// The creation-time index does not hold the columns read here: over a
	// long period, one table row lookup per request in index order costs
	// several times a plain scan of the table (~100k requests: ~190 against
	// ~26 ms in C SQLite), so SQLite is told to scan.
	table := "review_requests"
	if s.dialect == DialectSQLite && a.To.Sub(a.From) > 92*24*time.Hour {
		table = "review_requests NOT INDEXED"
	}
	rows, err := period(s.r(ctx).Table(table)).Select(`review_requests.status, review_requests.subject,
		review_requests.rule_name, review_requests.server_id, review_requests.tool_id, `+s.utcDay("review_requests.created_at")+`,
		CASE WHEN `+decided+` THEN `+s.wholeSecondsBetween("review_requests.created_at", "review_requests.decided_at")+` END,
		CASE WHEN `+decided+` AND review_requests.decided_at <= review_requests.deadline THEN 1 ELSE 0 END`, statuses, statuses).Rows()
	if err != nil {
		return a, fmt.Errorf("review analytics: %w", err)
	}
	defer rows.Close()
	days := map[string]*DayCount{}
	for d := a.From.Truncate(24 * time.Hour); d.Before(a.To); d = d.Add(24 * time.Hour) {
		key := d.Format("2006-01-02")
		days[key] = &DayCount{Day: key}
		a.ByDay = append(a.ByDay, DayCount{Day: key})
	}
	servers, tools := map[uint]int{}, map[[2]uint]int{}
	requesters, rules := map[string]int{}, map[string]int{}
	var durations []time.Duration
	a.Durations = append([]DurationBucket(nil), durationBuckets...)
	for rows.Next() {
		var (
			status, subject, rule string
			dayKey                dayText
			serverID, toolID      uint
			secs                  sql.NullInt64
			inTime                int
		)
		if err := rows.Scan(&status, &subject, &rule, &serverID, &toolID, &dayKey, &secs, &inTime); err != nil {
			return a, fmt.Errorf("review analytics: %w", err)
		}
		a.Total++
		a.Outcomes[ReviewStatus(status)]++
		if day := days[string(dayKey)]; day != nil {
			day.Requests++
			switch ReviewStatus(status) {
			case ReviewApproved:
				day.Approved++
			case ReviewDenied:
				day.Denied++
			case ReviewExpired:
				day.Expired++
			}
		}
		servers[serverID]++
		tools[[2]uint{serverID, toolID}]++
		requesters[subject]++
		if rule != "" {
			rules[rule]++
		} else {
			rules["(default for the risk)"]++
		}
		if secs.Valid {
			d := time.Duration(secs.Int64) * time.Second
			durations = append(durations, d)
			a.Decided++
			a.WithinDeadline += inTime
			for i := range a.Durations {
				if a.Durations[i].Upper == 0 || d <= a.Durations[i].Upper {
					a.Durations[i].Count++
					break
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("review analytics: %w", err)
	}
	for i := range a.ByDay {
		a.ByDay[i] = *days[a.ByDay[i].Day]
		a.MaxDay = max(a.MaxDay, a.ByDay[i].Requests)
	}
	a.Median, a.P90 = percentile(durations, 50), percentile(durations, 90)
	serverIDs, toolIDs := make([]uint, 0, len(servers)), make([]uint, 0, len(tools))
	for id := range servers {
		serverIDs = append(serverIDs, id)
	}
	for k := range tools {
		toolIDs = append(toolIDs, k[1])
	}
	slugs, err := s.namesByID(ctx, "servers", "slug", serverIDs)
	if err != nil {
		return a, err
	}
	toolNames, err := s.namesByID(ctx, "tools", "name", toolIDs)
	if err != nil {
		return a, err
	}
	byServer, byTool := map[string]int{}, map[string]int{}
	for id, n := range servers {
		byServer[slugs[id]] += n
	}
	for k, n := range tools {
		byTool[slugs[k[0]]+"/"+toolNames[k[1]]] += n
	}
	a.TopServers, a.TopTools, a.TopRequesters, a.TopRules = top(byServer, 10), top(byTool, 10), top(requesters, 10), top(rules, 10)
	if err := s.approverLoad(ctx, period, &a); err != nil {
		return a, err
	}
	return a, nil
}

// utcDay is an SQL expression of the UTC calendar day (YYYY-MM-DD) of a
// time column.
func (s *Store) utcDay(col string) string {
	if s.dialect == DialectPostgres {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	return "date(" + col + ")"
}

// dayText scans a calendar day (YYYY-MM-DD) computed in SQL. The SQLite
// driver hands a computed value that reads as a date over as a time.Time
// (_texttotime), PostgreSQL as text: both become the day's text.
type dayText string

// Scan implements sql.Scanner.
func (d *dayText) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*d = dayText(v.UTC().Format("2006-01-02"))
	case string:
		*d = dayText(v)
	case []byte:
		*d = dayText(v)
	default:
		return fmt.Errorf("a day: unexpected %T", v)
	}
	return nil
}

// namesByID reads one text column of the rows of table with the given ids.
func (s *Store) namesByID(ctx context.Context, table, col string, ids []uint) (map[uint]string, error) {
	out := make(map[uint]string, len(ids))
	for i := 0; i < len(ids); i += 1000 {
		var rows []struct {
			ID   uint
			Name string
		}
		err := s.r(ctx).Table(table).Select("id, "+col+" AS name").Where("id IN ?", ids[i:min(i+1000, len(ids))]).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("names of %s: %w", table, err)
		}
		for _, r := range rows {
			out[r.ID] = r.Name
		}
	}
	return out, nil
}

// approverLoad counts the approvals and denials each approver gave on the
// requests of the period (grouped by approver id; the few names are read
// afterwards).
func (s *Store) approverLoad(ctx context.Context, period func(*gorm.DB) *gorm.DB, a *ReviewAnalytics) error {
	var rows []struct {
		ApproverID uint
		Approve    bool
		N          int
	}
	err := period(s.r(ctx).Table("review_decisions").
		Joins("JOIN review_requests ON review_requests.id = review_decisions.request_id")).
		Select("review_decisions.approver_id AS approver_id, review_decisions.approve AS approve, COUNT(*) AS n").
		Group("review_decisions.approver_id, review_decisions.approve").Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("approver load: %w", err)
	}
	ids := make([]uint, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ApproverID)
	}
	names, err := s.namesByID(ctx, "users", "name", ids)
	if err != nil {
		return err
	}
	per := map[string]*LabelCount{}
	for _, r := range rows {
		name := names[r.ApproverID]
		lc := per[name]
		if lc == nil {
			lc = &LabelCount{Label: name}
			per[name] = lc
		}
		if r.Approve {
			lc.Count += r.N
		} else {
			lc.Extra += r.N
		}
	}
	for _, lc := range per {
		a.PerApprover = append(a.PerApprover, *lc)
	}
	sort.Slice(a.PerApprover, func(i, j int) bool {
		x, y := a.PerApprover[i], a.PerApprover[j]
		if x.Count+x.Extra != y.Count+y.Extra {
			return x.Count+x.Extra > y.Count+y.Extra
		}
		return x.Label < y.Label
	})
	return nil
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func top(m map[string]int, n int) []LabelCount {
	out := make([]LabelCount, 0, len(m))
	for k, v := range m {
		out = append(out, LabelCount{Label: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Label < out[j].Label
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
