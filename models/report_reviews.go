package models

import (
	"context"
	"fmt"
	"sort"
	"time"
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
// rules that hold the most, over requests created in [From, To).
func (s *Store) ReviewAnalytics(ctx context.Context, f ReviewAnalyticsFilter) (ReviewAnalytics, error) {
	a := ReviewAnalytics{From: f.From.UTC(), To: f.To.UTC(), Outcomes: map[ReviewStatus]int{}}
	q := f.Scope.apply(s.r(ctx).Table("review_requests"), "review_requests.team_id").
		Where("review_requests.created_at >= ? AND review_requests.created_at < ?", a.From, a.To)
	if f.TeamID != 0 {
		q = q.Where("review_requests.team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("review_requests.environment_id = ?", f.EnvironmentID)
	}
	var rows []struct {
		ID        uint
		Status    ReviewStatus
		Subject   string
		RuleName  string
		CreatedAt time.Time
		DecidedAt *time.Time
		Deadline  time.Time
		Server    string
		Tool      string
	}
	err := q.Select(`review_requests.id, review_requests.status, review_requests.subject, review_requests.rule_name,
		review_requests.created_at, review_requests.decided_at, review_requests.deadline, servers.slug AS server, tools.name AS tool`).
		Joins("JOIN servers ON servers.id = review_requests.server_id").
		Joins("JOIN tools ON tools.id = review_requests.tool_id").Scan(&rows).Error
	if err != nil {
		return a, fmt.Errorf("review analytics: %w", err)
	}
	days := map[string]*DayCount{}
	for d := a.From.Truncate(24 * time.Hour); d.Before(a.To); d = d.Add(24 * time.Hour) {
		key := d.Format("2006-01-02")
		days[key] = &DayCount{Day: key}
		a.ByDay = append(a.ByDay, DayCount{Day: key})
	}
	servers, tools, requesters, rules := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	var durations []time.Duration
	a.Durations = append([]DurationBucket(nil), durationBuckets...)
	ids := make([]uint, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.ID)
		a.Total++
		a.Outcomes[r.Status]++
		day := days[r.CreatedAt.UTC().Format("2006-01-02")]
		if day != nil {
			day.Requests++
			switch r.Status {
			case ReviewApproved:
				day.Approved++
			case ReviewDenied:
				day.Denied++
			case ReviewExpired:
				day.Expired++
			}
		}
		servers[r.Server]++
		tools[r.Server+"/"+r.Tool]++
		requesters[r.Subject]++
		if r.RuleName != "" {
			rules[r.RuleName]++
		} else {
			rules["(default for the risk)"]++
		}
		if r.DecidedAt != nil && (r.Status == ReviewApproved || r.Status == ReviewDenied) {
			d := r.DecidedAt.Sub(r.CreatedAt)
			durations = append(durations, d)
			a.Decided++
			if !r.DecidedAt.After(r.Deadline) {
				a.WithinDeadline++
			}
			for i := range a.Durations {
				if a.Durations[i].Upper == 0 || d <= a.Durations[i].Upper {
					a.Durations[i].Count++
					break
				}
			}
		}
	}
	for i := range a.ByDay {
		a.ByDay[i] = *days[a.ByDay[i].Day]
		a.MaxDay = max(a.MaxDay, a.ByDay[i].Requests)
	}
	a.Median, a.P90 = percentile(durations, 50), percentile(durations, 90)
	a.TopServers, a.TopTools, a.TopRequesters, a.TopRules = top(servers, 10), top(tools, 10), top(requesters, 10), top(rules, 10)
	if err := s.approverLoad(ctx, ids, &a); err != nil {
		return a, err
	}
	return a, nil
}

func (s *Store) approverLoad(ctx context.Context, ids []uint, a *ReviewAnalytics) error {
	per := map[string]*LabelCount{}
	for i := 0; i < len(ids); i += 500 {
		var rows []struct {
			Name    string
			Approve bool
			N       int
		}
		err := s.r(ctx).Table("review_decisions").Select("users.name AS name, review_decisions.approve AS approve, COUNT(*) AS n").
			Joins("JOIN users ON users.id = review_decisions.approver_id").
			Where("review_decisions.request_id IN ?", ids[i:min(i+500, len(ids))]).
			Group("users.name, review_decisions.approve").Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("approver load: %w", err)
		}
		for _, r := range rows {
			lc := per[r.Name]
			if lc == nil {
				lc = &LabelCount{Label: r.Name}
				per[r.Name] = lc
			}
			if r.Approve {
				lc.Count += r.N
			} else {
				lc.Extra += r.N
			}
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
