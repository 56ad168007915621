package models

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// RotationComplianceFilter selects the rotation compliance report: the
// tasks due in [From, To), the teams in scope, and optional team and
// environment filters.
type RotationComplianceFilter struct {
	Scope         TeamScope
	TeamID        uint
	EnvironmentID uint
	From, To      time.Time
	// Weeks of upcoming load to show (default 8).
	Weeks int
}

// RotationComplianceRow is one team and environment: the rotations that
// fell due in the period and how they went, and what is open now.
type RotationComplianceRow struct {
	TeamID          uint
	TeamName        string
	EnvironmentID   uint
	EnvironmentName string
	// OnTime and Late count completed rotations (late: completed after the
	// grace period); Missed counts rotations of the period still open.
	OnTime, Late, Missed int
	// OverdueNow counts open overdue tasks, whatever their due time.
	OverdueNow int
}

// Completed is on time plus late.
func (r RotationComplianceRow) Completed() int { return r.OnTime + r.Late }

// OnTimeShare is on-time rotations over the rotations that fell due (0–1),
// or -1 when none fell due.
func (r RotationComplianceRow) OnTimeShare() float64 {
	n := r.OnTime + r.Late + r.Missed
	if n == 0 {
		return -1
	}
	return float64(r.OnTime) / float64(n)
}

// RotationCompliance is the report: rows per team and environment, their
// total, and the rotations coming due per week.
type RotationCompliance struct {
	From, To time.Time
	Rows     []RotationComplianceRow
	Total    RotationComplianceRow
	// Upcoming counts active credentials falling due in each of the next
	// weeks (week 0 starts now).
	Upcoming []int
}

// RotationComplianceReport computes on-time and late rotations per team
// and environment for tasks due in the period, the overdue tasks now, and
// the upcoming load.
func (s *Store) RotationComplianceReport(ctx context.Context, f RotationComplianceFilter) (RotationCompliance, error) {
	out := RotationCompliance{From: f.From, To: f.To}
	if f.Weeks <= 0 || f.Weeks > 26 {
		f.Weeks = 8
	}
	type key struct{ team, env uint }
	rows := map[key]*RotationComplianceRow{}
	row := func(team, env uint, teamName, envName string) *RotationComplianceRow {
		k := key{team, env}
		if rows[k] == nil {
			rows[k] = &RotationComplianceRow{TeamID: team, TeamName: teamName, EnvironmentID: env, EnvironmentName: envName}
		}
		return rows[k]
	}
	base := func(q string) string {
		return q + ` FROM rotation_tasks t JOIN teams ON teams.id = t.team_id JOIN environments e ON e.id = t.environment_id`
	}
	var period []struct {
		TeamID, EnvironmentID uint
		TeamName, EnvName     string
		OnTime, Late, Missed  int
	}
	where, args := "t.due_at >= ? AND t.due_at < ?", []any{f.From, f.To}
	where, args = scopeWhere(where, args, f)
	err := s.r(ctx).Raw(base(`SELECT t.team_id, t.environment_id, teams.name AS team_name, e.name AS env_name,
		SUM(CASE WHEN t.state = 'completed' AND t.completed_at <= t.grace_until THEN 1 ELSE 0 END) AS on_time,
		SUM(CASE WHEN t.state = 'completed' AND t.completed_at > t.grace_until THEN 1 ELSE 0 END) AS late,
		SUM(CASE WHEN t.state <> 'completed' THEN 1 ELSE 0 END) AS missed`)+
		" WHERE "+where+" GROUP BY t.team_id, t.environment_id, teams.name, e.name", args...).Scan(&period).Error
	if err != nil {
		return out, fmt.Errorf("rotation compliance: %w", err)
	}
	for _, p := range period {
		r := row(p.TeamID, p.EnvironmentID, p.TeamName, p.EnvName)
		r.OnTime, r.Late, r.Missed = p.OnTime, p.Late, p.Missed
	}
	var overdue []struct {
		TeamID, EnvironmentID uint
		TeamName, EnvName     string
		N                     int
	}
	where, args = scopeWhere("t.state = ?", []any{TaskOverdue}, f)
	err = s.r(ctx).Raw(base("SELECT t.team_id, t.environment_id, teams.name AS team_name, e.name AS env_name, COUNT(*) AS n")+
		" WHERE "+where+" GROUP BY t.team_id, t.environment_id, teams.name, e.name", args...).Scan(&overdue).Error
	if err != nil {
		return out, fmt.Errorf("overdue rotations: %w", err)
	}
	for _, o := range overdue {
		row(o.TeamID, o.EnvironmentID, o.TeamName, o.EnvName).OverdueNow = o.N
	}
	for _, r := range rows {
		out.Rows = append(out.Rows, *r)
		out.Total.OnTime += r.OnTime
		out.Total.Late += r.Late
		out.Total.Missed += r.Missed
		out.Total.OverdueNow += r.OverdueNow
	}
	sort.Slice(out.Rows, func(i, j int) bool {
		a, b := out.Rows[i], out.Rows[j]
		if a.TeamName != b.TeamName {
			return a.TeamName < b.TeamName
		}
		return a.EnvironmentName < b.EnvironmentName
	})
	out.Total.TeamName, out.Total.EnvironmentName = "All teams", "All environments"

	now := s.Now()
	end := now.AddDate(0, 0, 7*f.Weeks)
	cq := f.Scope.apply(s.r(ctx).Table("credentials"), "team_id").
		Where("status = ? AND next_due_at >= ? AND next_due_at < ?", CredentialActive, now, end)
	if f.TeamID != 0 {
		cq = cq.Where("team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		cq = cq.Where("environment_id = ?", f.EnvironmentID)
	}
	var dues []time.Time
	if err := cq.Pluck("next_due_at", &dues).Error; err != nil {
		return out, fmt.Errorf("upcoming rotations: %w", err)
	}
	out.Upcoming = make([]int, f.Weeks)
	for _, d := range dues {
		if w := int(d.Sub(now) / (7 * 24 * time.Hour)); w >= 0 && w < f.Weeks {
			out.Upcoming[w]++
		}
	}
	return out, nil
}

// scopeWhere adds the team scope and the filters to a raw WHERE clause on
// rotation_tasks t.
func scopeWhere(where string, args []any, f RotationComplianceFilter) (string, []any) {
	if !f.Scope.All {
		if len(f.Scope.IDs) == 0 {
			return where + " AND 1 = 0", args
		}
		where, args = where+" AND t.team_id IN ?", append(args, f.Scope.IDs)
	}
	if f.TeamID != 0 {
		where, args = where+" AND t.team_id = ?", append(args, f.TeamID)
	}
	if f.EnvironmentID != 0 {
		where, args = where+" AND t.environment_id = ?", append(args, f.EnvironmentID)
	}
	return where, args
}
