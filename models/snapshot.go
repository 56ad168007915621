package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SnapshotRetentionDays is how long daily compliance snapshots are kept.
const SnapshotRetentionDays = 400

// SnapshotReviewDays is the period of the review figures of a snapshot: the
// requests of the 30 days before it was taken.
const SnapshotReviewDays = 30

// ComplianceSnapshot is the dashboard's main figures on one day (UTC), for
// one team or, with TeamID 0, the whole organisation. One row per (Day,
// TeamID): taking the snapshot again on the same day replaces it.
type ComplianceSnapshot struct {
	ID                    uint `gorm:"primaryKey"`
	Day                   string
	TeamID                uint
	TakenAt               time.Time
	Credentials           int64
	StaticKeys            int64
	OnSensitive           int64
	StaticOnSensitive     int64
	Scheduled             int64
	WithinPolicy          int64
	Overdue               int64
	FindingsCritical      int64
	FindingsHigh          int64
	FindingsMedium        int64
	FindingsLow           int64
	ReviewsPending        int64
	ReviewsRequested      int64
	ReviewsDecided        int64
	ReviewsWithinDeadline int64
	ReviewsExpired        int64
	ReviewMedianSeconds   int64
	ReviewP90Seconds      int64
	Servers               int64
	ServersWithoutOwner   int64
}

// RotationCompliance is the share of scheduled credentials within policy.
func (c ComplianceSnapshot) RotationCompliance() float64 {
	if c.Scheduled == 0 {
		return 1
	}
	return share(c.WithinPolicy, c.Scheduled)
}

// StaticShare is the share of credentials on sensitive servers that are
// static API keys.
func (c ComplianceSnapshot) StaticShare() float64 { return share(c.StaticOnSensitive, c.OnSensitive) }

// OpenFindings is the number of open findings of every severity.
func (c ComplianceSnapshot) OpenFindings() int64 {
	return c.FindingsCritical + c.FindingsHigh + c.FindingsMedium + c.FindingsLow
}

// WithinDeadlineShare is the share of decided requests decided in time.
func (c ComplianceSnapshot) WithinDeadlineShare() float64 {
	return share(c.ReviewsWithinDeadline, c.ReviewsDecided)
}

// SnapshotOf turns dashboard figures into the snapshot row of a day.
func SnapshotOf(d Dashboard, day string, teamID uint) ComplianceSnapshot {
	return ComplianceSnapshot{Day: day, TeamID: teamID, TakenAt: d.At, Credentials: d.Credentials, StaticKeys: d.StaticKeys,
		OnSensitive: d.OnSensitive, StaticOnSensitive: d.StaticOnSensitive, Scheduled: d.Scheduled, WithinPolicy: d.WithinPolicy,
		Overdue: d.Overdue, FindingsCritical: d.Findings[SeverityCritical], FindingsHigh: d.Findings[SeverityHigh],
		FindingsMedium: d.Findings[SeverityMedium], FindingsLow: d.Findings[SeverityLow], ReviewsPending: d.ReviewsPending,
		ReviewsRequested: d.Reviews.Requested, ReviewsDecided: d.Reviews.Decided, ReviewsWithinDeadline: d.Reviews.WithinDeadline,
		ReviewsExpired: d.Reviews.Expired, ReviewMedianSeconds: int64(d.Reviews.Median / time.Second),
		ReviewP90Seconds: int64(d.Reviews.P90 / time.Second), Servers: d.Servers, ServersWithoutOwner: d.ServersWithoutOwner}
}

// SnapshotResult says what one snapshot run did.
type SnapshotResult struct {
	Day    string
	Rows   int
	Pruned int64
}

// TakeComplianceSnapshots records today's (UTC) figures for the whole
// organisation and for every team, replacing the rows of today if they
// exist (idempotent), and deletes snapshots older than
// SnapshotRetentionDays. The scheduler runs it once per day.
func (s *Store) TakeComplianceSnapshots(ctx context.Context) (SnapshotResult, error) {
	now := s.Now()
	res := SnapshotResult{Day: now.Format(time.DateOnly)}
	var teams []uint
	if err := s.r(ctx).Model(&Team{}).Order("id").Pluck("id", &teams).Error; err != nil {
		return res, fmt.Errorf("snapshot teams: %w", err)
	}
	rows := make([]ComplianceSnapshot, 0, len(teams)+1)
	for _, team := range append([]uint{0}, teams...) {
		d, err := s.dashboardAt(ctx, DashboardFilter{Scope: AllTeams, TeamID: team, Days: SnapshotReviewDays}, now)
		if err != nil {
			return res, err
		}
		rows = append(rows, SnapshotOf(d, res.Day, team))
	}
	cutoff := now.AddDate(0, 0, -SnapshotRetentionDays).Format(time.DateOnly)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := upsertSnapshots(tx, rows); err != nil {
			return err
		}
		del := tx.Where("day < ?", cutoff).Delete(&ComplianceSnapshot{})
		if del.Error != nil {
			return fmt.Errorf("prune snapshots: %w", del.Error)
		}
		res.Pruned = del.RowsAffected
		org := rows[0]
		return s.appendAudit(tx, SystemActor("scheduler"), AuditEntry{Action: "compliance.snapshot", ObjectType: "compliance_snapshot",
			ObjectID: res.Day, After: map[string]any{"teams": len(teams), "pruned": res.Pruned, "credentials": org.Credentials,
				"overdue": org.Overdue, "open_findings": org.OpenFindings()}})
	})
	if err != nil {
		return res, err
	}
	res.Rows = len(rows)
	return res, nil
}

// upsertSnapshots inserts rows, replacing those of the same day and team.
func upsertSnapshots(tx *gorm.DB, rows []ComplianceSnapshot) error {
	if len(rows) == 0 {
		return nil
	}
	cols := []string{"taken_at", "credentials", "static_keys", "on_sensitive", "static_on_sensitive", "scheduled", "within_policy",
		"overdue", "findings_critical", "findings_high", "findings_medium", "findings_low", "reviews_pending", "reviews_requested",
		"reviews_decided", "reviews_within_deadline", "reviews_expired", "review_median_seconds", "review_p90_seconds", "servers",
		"servers_without_owner"}
	err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "day"}, {Name: "team_id"}},
		DoUpdates: clause.AssignmentColumns(cols)}).CreateInBatches(&rows, 500).Error
	if err != nil {
		return fmt.Errorf("save snapshots: %w", err)
	}
	return nil
}

// ComplianceSnapshots returns the snapshots of one team (0: the whole
// organisation) for the days in [from, to] (UTC dates), oldest first.
func (s *Store) ComplianceSnapshots(ctx context.Context, teamID uint, from, to time.Time) ([]ComplianceSnapshot, error) {
	var out []ComplianceSnapshot
	err := s.r(ctx).Where("team_id = ? AND day >= ? AND day <= ?", teamID, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly)).
		Order("day").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("load snapshots: %w", err)
	}
	return out, nil
}

// ComplianceTrend returns the daily snapshots a reader in scope may see
// for the days in [from, to]: the team's when teamID is set (none when the
// team is out of scope), the organisation's for org-wide readers, and
// otherwise the sum of the teams in scope, day by day (their counts add up;
// the review median and p90 do not and are left at zero).
func (s *Store) ComplianceTrend(ctx context.Context, scope TeamScope, teamID uint, from, to time.Time) ([]ComplianceSnapshot, error) {
	switch {
	case teamID != 0 && !scope.Includes(teamID):
		return nil, nil
	case teamID != 0:
		return s.ComplianceSnapshots(ctx, teamID, from, to)
	case scope.All:
		return s.ComplianceSnapshots(ctx, 0, from, to)
	case len(scope.IDs) == 1:
		return s.ComplianceSnapshots(ctx, scope.IDs[0], from, to)
	case len(scope.IDs) == 0:
		return nil, nil
	}
	var rows []ComplianceSnapshot
	err := s.r(ctx).Where("team_id IN ? AND day >= ? AND day <= ?", scope.IDs, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly)).
		Order("day").Order("team_id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load snapshots: %w", err)
	}
	var out []ComplianceSnapshot
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].Day != r.Day {
			out = append(out, ComplianceSnapshot{Day: r.Day, TakenAt: r.TakenAt})
		}
		sum := &out[len(out)-1]
		sum.Credentials += r.Credentials
		sum.StaticKeys += r.StaticKeys
		sum.OnSensitive += r.OnSensitive
		sum.StaticOnSensitive += r.StaticOnSensitive
		sum.Scheduled += r.Scheduled
		sum.WithinPolicy += r.WithinPolicy
		sum.Overdue += r.Overdue
		sum.FindingsCritical += r.FindingsCritical
		sum.FindingsHigh += r.FindingsHigh
		sum.FindingsMedium += r.FindingsMedium
		sum.FindingsLow += r.FindingsLow
		sum.ReviewsPending += r.ReviewsPending
		sum.ReviewsRequested += r.ReviewsRequested
		sum.ReviewsDecided += r.ReviewsDecided
		sum.ReviewsWithinDeadline += r.ReviewsWithinDeadline
		sum.ReviewsExpired += r.ReviewsExpired
		sum.Servers += r.Servers
		sum.ServersWithoutOwner += r.ServersWithoutOwner
	}
	return out, nil
}
