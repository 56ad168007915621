package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// HistorySummary says what SeedHistory generated.
type HistorySummary struct {
	Days      int
	Reviews   int
	Decisions int
	Snapshots int
	Rotations int
	Skipped   bool
}

// reviewTarget is a tool that step-up reviews are generated for, with its
// server's team and environment and the team's approvers.
type reviewTarget struct {
	ServerID, ToolID, TeamID, EnvironmentID uint
	Risk                                    Risk
	approvers                               []uint
}

// historyPrefix marks generated review requests (their public ids).
const historyPrefix = "rv_hist_"

// SeedHistory back-fills days of history before today for the demo: step-up
// review requests with their decisions (about 70% approved, 15% denied, the
// rest expired, with a log-normal time to decision around ten minutes) on
// the demo's write and destructive tools, decided by each team's
// approvers, and a compliance snapshot per day and team.
//
// The review figures of back-filled snapshots are computed from those
// requests, as the daily job would have. The inventory figures of past days
// cannot be reconstructed (the demo inventory is created today), so they are
// generated: a path that starts worse (more overdue rotations, static keys
// on sensitive servers, open findings and unowned servers) and ends at
// today's real figures. Today's snapshot is taken for real. Nothing is
// generated twice: a second run reports Skipped.
func (s *Store) SeedHistory(ctx context.Context, days int, seed uint64) (HistorySummary, error) {
	sum := HistorySummary{Days: days}
	if days <= 0 {
		return sum, fmt.Errorf("seed history: days must be positive")
	}
	var n int64
	if err := s.r(ctx).Model(&ReviewRequest{}).Where("public_id LIKE ?", historyPrefix+"%").Count(&n).Error; err != nil {
		return sum, err
	}
	if n > 0 {
		sum.Skipped = true
		return sum, nil
	}
	targets, err := s.reviewTargets(ctx)
	if err != nil {
		return sum, err
	}
	if len(targets) == 0 {
		return sum, fmt.Errorf("seed history: no active server with a write or destructive tool and an approver (run seed demo first)")
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	now := s.Now()
	today := now.Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -days)
	for d := from; d.Before(today.Add(24 * time.Hour)); d = d.Add(24 * time.Hour) {
		perDay := 4 + rng.IntN(9)
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			perDay = rng.IntN(3)
		}
		end := d.Add(24 * time.Hour)
		if end.After(now) {
			end = now
		}
		reqs, decs := genReviews(rng, perDay, d, end, now, targets, historyPrefix, sum.Reviews)
		if err := s.insertReviews(ctx, reqs, decs); err != nil {
			return sum, err
		}
		sum.Reviews += len(reqs)
		sum.Decisions += len(decs)
	}
	// A few requests of the last twenty minutes still wait for an approver.
	reqs, _ := genReviews(rng, 3, now.Add(-20*time.Minute), now, now.Add(-20*time.Minute), targets, historyPrefix, sum.Reviews)
	if err := s.insertReviews(ctx, reqs, nil); err != nil {
		return sum, err
	}
	sum.Reviews += len(reqs)
	// Completed rotations (some late) for the rotation compliance report.
	if sum.Rotations, err = s.SeedRotationHistory(ctx, now, days); err != nil {
		return sum, err
	}
	rows, err := s.historySnapshots(ctx, rng, from, today, now)
	if err != nil {
		return sum, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 500).Error; err != nil {
			return fmt.Errorf("save history snapshots: %w", err)
		}
		return s.appendAudit(tx, SystemActor("seed history"), AuditEntry{Action: "seed.history", ObjectType: "compliance_snapshot",
			ObjectID: from.Format(time.DateOnly), After: map[string]any{"days": days, "reviews": sum.Reviews, "decisions": sum.Decisions, "snapshots": len(rows)}})
	})
	if err != nil {
		return sum, err
	}
	sum.Snapshots = len(rows)
	res, err := s.TakeComplianceSnapshots(ctx)
	sum.Snapshots += res.Rows
	return sum, err
}

// reviewTargets lists the write and destructive tools of active servers
// whose team has at least one active approver.
func (s *Store) reviewTargets(ctx context.Context) ([]reviewTarget, error) {
	var tools []Tool
	err := s.r(ctx).Preload("Server").Joins("JOIN servers ON servers.id = tools.server_id").
		Where("servers.status = ?", ServerActive).Order("tools.id").Find(&tools).Error
	if err != nil {
		return nil, fmt.Errorf("review targets: %w", err)
	}
	var roles []struct{ UserID, TeamID uint }
	err = s.r(ctx).Table("role_assignments").Select("role_assignments.user_id, role_assignments.team_id").
		Joins("JOIN users ON users.id = role_assignments.user_id").
		Where("role_assignments.role = ? AND role_assignments.team_id IS NOT NULL AND users.active = ?", RoleApprover, true).
		Order("role_assignments.id").Scan(&roles).Error
	if err != nil {
		return nil, fmt.Errorf("review approvers: %w", err)
	}
	approvers := map[uint][]uint{}
	for _, r := range roles {
		approvers[r.TeamID] = append(approvers[r.TeamID], r.UserID)
	}
	var out []reviewTarget
	for _, t := range tools {
		risk, _ := EffectiveRisk(t)
		team := t.Server.TeamID
		if risk == RiskLow || len(approvers[team]) == 0 {
			continue
		}
		out = append(out, reviewTarget{ServerID: t.ServerID, ToolID: t.ID, TeamID: team, EnvironmentID: t.Server.EnvironmentID,
			Risk: risk, approvers: approvers[team]})
	}
	return out, nil
}

var (
	historySubjects  = []string{"support-bot", "billing-agent", "ops-copilot", "data-steward-agent"}
	historyOnBehalf  = []string{"ana@example.com", "li.wei@example.com", "sam.ops@example.com", "noor@example.com"}
	historyDeadlines = []time.Duration{30 * time.Minute, time.Hour, time.Hour, 4 * time.Hour}
)

// genReviews generates n review requests made in [from, to) with their
// decisions as of now: requests whose deadline has not passed by now may
// still be pending. seq numbers the public ids.
func genReviews(rng *rand.Rand, n int, from, to, now time.Time, targets []reviewTarget, prefix string, seq int) ([]ReviewRequest, []ReviewDecision) {
	span := to.Sub(from)
	if span <= 0 || n == 0 {
		return nil, nil
	}
	reqs := make([]ReviewRequest, 0, n)
	var decs []ReviewDecision
	for i := 0; i < n; i++ {
		tg := targets[rng.IntN(len(targets))]
		created := from.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		k := rng.IntN(len(historySubjects))
		deadline := created.Add(historyDeadlines[rng.IntN(len(historyDeadlines))])
		digest := sha256.Sum256([]byte(fmt.Sprintf("%s%d", prefix, seq+i)))
		r := ReviewRequest{PublicID: fmt.Sprintf("%s%08d", prefix, seq+i), TeamID: tg.TeamID, Subject: historySubjects[k], SubjectType: "agent",
			OnBehalfOf: historyOnBehalf[rng.IntN(len(historyOnBehalf))], ServerID: tg.ServerID, ToolID: tg.ToolID, EnvironmentID: tg.EnvironmentID,
			ArgumentDigest: hex.EncodeToString(digest[:]), ArgumentSummary: `{"generated":"history"}`, Justification: "generated history",
			TaskID: fmt.Sprintf("T-%d", 1000+seq+i), Risk: tg.Risk, ApprovalsNeeded: 1, // held by the default for their risk: the seed makes no rules
			ApproverRole: RoleApprover, GrantTTLSeconds: 300, GrantMaxUses: 1, Deadline: deadline, CreatedAt: created, Status: ReviewPending}
		// Time to decision: log-normal around ten minutes.
		took := time.Duration(math.Exp(math.Log(float64(10*time.Minute))+1.1*rng.NormFloat64())).Truncate(time.Second) + 20*time.Second
		decidedAt := created.Add(took)
		late := decidedAt.After(deadline)
		switch {
		case late && rng.IntN(5) != 0:
			// Nobody decided in time: expired at the deadline, if it has passed.
			if deadline.After(now) {
				break
			}
			r.Status, r.DecidedAt = ReviewExpired, &deadline
		case decidedAt.After(now):
			// Still pending now.
		default:
			approve := rng.IntN(100) < 82
			r.Status, r.DecidedAt = ReviewDenied, &decidedAt
			if approve {
				r.Status, r.Approvals = ReviewApproved, 1
			}
			decs = append(decs, ReviewDecision{RequestID: uint(i), ApproverID: tg.approvers[rng.IntN(len(tg.approvers))], Approve: approve,
				Comment: "generated history", CreatedAt: decidedAt})
		}
		reqs = append(reqs, r)
	}
	return reqs, decs
}

// insertReviews inserts requests and their decisions, whose RequestID is
// the index of their request in reqs.
func (s *Store) insertReviews(ctx context.Context, reqs []ReviewRequest, decs []ReviewDecision) error {
	if len(reqs) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Omit(clause.Associations).CreateInBatches(&reqs, 500).Error; err != nil {
			return fmt.Errorf("seed review requests: %w", err)
		}
		for i := range decs {
			decs[i].RequestID = reqs[decs[i].RequestID].ID
		}
		if len(decs) == 0 {
			return nil
		}
		if err := tx.Omit(clause.Associations).CreateInBatches(&decs, 500).Error; err != nil {
			return fmt.Errorf("seed review decisions: %w", err)
		}
		return nil
	})
}

// historySnapshots builds the snapshots of the days in [from, today): review
// figures computed as of each day's end, inventory figures on a generated
// path ending at today's (see SeedHistory). The organisation's row sums the
// teams' inventory figures.
func (s *Store) historySnapshots(ctx context.Context, rng *rand.Rand, from, today, now time.Time) ([]ComplianceSnapshot, error) {
	var teams []uint
	if err := s.r(ctx).Model(&Team{}).Order("id").Pluck("id", &teams).Error; err != nil {
		return nil, err
	}
	current := map[uint]Dashboard{}
	for _, t := range teams {
		d, err := s.dashboardAt(ctx, DashboardFilter{Scope: AllTeams, TeamID: t, Days: SnapshotReviewDays}, now)
		if err != nil {
			return nil, err
		}
		current[t] = d
	}
	total := today.Sub(from).Hours() / 24
	var rows []ComplianceSnapshot
	for day := from; day.Before(today); day = day.Add(24 * time.Hour) {
		at := day.Add(24*time.Hour - time.Second)
		worse := 1 - day.Sub(from).Hours()/24/total // 1 on the first day, towards 0 today
		org := ComplianceSnapshot{Day: day.Format(time.DateOnly), TakenAt: at}
		for _, t := range teams {
			inv := pastInventory(current[t], worse, rng)
			if err := s.pastReviews(ctx, t, at, &inv); err != nil {
				return nil, err
			}
			row := SnapshotOf(inv, org.Day, t)
			row.TakenAt = at
			rows = append(rows, row)
			addInventory(&org, row)
		}
		var d Dashboard
		if err := s.pastReviews(ctx, 0, at, &d); err != nil {
			return nil, err
		}
		r := SnapshotOf(d, org.Day, 0)
		org.ReviewsPending, org.ReviewsRequested, org.ReviewsDecided = r.ReviewsPending, r.ReviewsRequested, r.ReviewsDecided
		org.ReviewsWithinDeadline, org.ReviewsExpired = r.ReviewsWithinDeadline, r.ReviewsExpired
		org.ReviewMedianSeconds, org.ReviewP90Seconds = r.ReviewMedianSeconds, r.ReviewP90Seconds
		rows = append(rows, org)
	}
	return rows, nil
}

func (s *Store) pastReviews(ctx context.Context, team uint, at time.Time, d *Dashboard) error {
	d.At = at
	return s.dashboardReviews(ctx, DashboardFilter{Scope: AllTeams, TeamID: team, Days: SnapshotReviewDays}, at, d)
}

// pastInventory is today's inventory figures made worse by the factor
// worse (0: today's, 1: the start of the history), with a little noise.
func pastInventory(now Dashboard, worse float64, rng *rand.Rand) Dashboard {
	more := func(base int64, extra float64, limit int64) int64 {
		v := base + int64(math.Round(worse*extra+worse*rng.Float64()))
		return min(max(v, 0), max(limit, base))
	}
	d := Dashboard{Credentials: now.Credentials, StaticKeys: now.StaticKeys, OnSensitive: now.OnSensitive, Scheduled: now.Scheduled,
		Servers: now.Servers, Findings: SeverityCounts{}}
	d.Overdue = more(now.Overdue, math.Max(2, 0.35*float64(now.Scheduled)), now.Scheduled)
	d.WithinPolicy = d.Scheduled - d.Overdue
	d.StaticOnSensitive = more(now.StaticOnSensitive, math.Max(1, 0.3*float64(now.OnSensitive)), now.OnSensitive)
	d.ServersWithoutOwner = more(now.ServersWithoutOwner, 2, now.Servers)
	d.Findings[SeverityCritical] = more(now.Findings[SeverityCritical], 2, math.MaxInt32)
	d.Findings[SeverityHigh] = more(now.Findings[SeverityHigh], math.Max(3, 0.6*float64(now.Findings[SeverityHigh])), math.MaxInt32)
	d.Findings[SeverityMedium] = more(now.Findings[SeverityMedium], 4, math.MaxInt32)
	d.Findings[SeverityLow] = more(now.Findings[SeverityLow], 1, math.MaxInt32)
	return d
}

func addInventory(org *ComplianceSnapshot, r ComplianceSnapshot) {
	org.Credentials += r.Credentials
	org.StaticKeys += r.StaticKeys
	org.OnSensitive += r.OnSensitive
	org.StaticOnSensitive += r.StaticOnSensitive
	org.Scheduled += r.Scheduled
	org.WithinPolicy += r.WithinPolicy
	org.Overdue += r.Overdue
	org.FindingsCritical += r.FindingsCritical
	org.FindingsHigh += r.FindingsHigh
	org.FindingsMedium += r.FindingsMedium
	org.FindingsLow += r.FindingsLow
	org.Servers += r.Servers
	org.ServersWithoutOwner += r.ServersWithoutOwner
}
