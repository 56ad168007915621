package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// RotationTaskFilter selects rotation tasks for the overdue and task lists.
type RotationTaskFilter struct {
	ListParams
	Scope TeamScope
	// State keeps one state; empty keeps the open ones (due and overdue).
	State         RotationTaskState
	TeamID        uint
	EnvironmentID uint
	CredentialID  uint
}

// RotationTaskRow is a task with the names a list shows.
type RotationTaskRow struct {
	RotationTask
	CredentialName  string
	TeamName        string
	EnvironmentName string
	OwnerName       string
}

// RotationTasks lists tasks, the longest overdue first.
func (s *Store) RotationTasks(ctx context.Context, f RotationTaskFilter) (Page[RotationTaskRow], error) {
	f.ListParams = f.ListParams.Normalize()
	q := f.Scope.apply(s.r(ctx).Table("rotation_tasks"), "rotation_tasks.team_id").
		Joins("JOIN credentials ON credentials.id = rotation_tasks.credential_id")
	switch f.State {
	case "":
		q = q.Where("rotation_tasks.state IN ?", []RotationTaskState{TaskDue, TaskOverdue})
	default:
		q = q.Where("rotation_tasks.state = ?", f.State)
	}
	if f.TeamID != 0 {
		q = q.Where("rotation_tasks.team_id = ?", f.TeamID)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("rotation_tasks.environment_id = ?", f.EnvironmentID)
	}
	if f.CredentialID != 0 {
		q = q.Where("rotation_tasks.credential_id = ?", f.CredentialID)
	}
	if f.Search != "" {
		q = q.Where("LOWER(credentials.name) LIKE ? ESCAPE '\\'", likePattern(f.Search))
	}
	page := Page[RotationTaskRow]{Params: f.ListParams}
	if err := q.Count(&page.Total).Error; err != nil {
		return page, fmt.Errorf("count rotation tasks: %w", err)
	}
	order := "rotation_tasks.due_at ASC, rotation_tasks.id ASC"
	if f.State == TaskCompleted {
		order = "rotation_tasks.completed_at DESC, rotation_tasks.id DESC"
	}
	err := q.Select("rotation_tasks.*, credentials.name AS credential_name, teams.name AS team_name, " +
		"environments.name AS environment_name, COALESCE(users.name, '') AS owner_name").
		Joins("JOIN teams ON teams.id = rotation_tasks.team_id").
		Joins("JOIN environments ON environments.id = rotation_tasks.environment_id").
		Joins("LEFT JOIN users ON users.id = credentials.owner_id").
		Order(order).Limit(f.PerPage).Offset(f.Offset()).Scan(&page.Items).Error
	if err != nil {
		return page, fmt.Errorf("list rotation tasks: %w", err)
	}
	return page, nil
}

// RotationTaskByID returns a task with its credential (and the
// credential's team, environment and owner).
func (s *Store) RotationTaskByID(ctx context.Context, id uint) (RotationTask, error) {
	var t RotationTask
	err := s.r(ctx).Preload("Credential").Preload("Credential.Team").Preload("Credential.Environment").
		Preload("Credential.Owner").First(&t, id).Error
	return t, mapError(err)
}

// CalendarFilter selects the credentials due in a window.
type CalendarFilter struct {
	ListParams
	Scope         TeamScope
	TeamID        uint
	EnvironmentID uint
	From          time.Time
	Days          int
}

// CalendarEntry is one credential due in the window.
type CalendarEntry struct {
	CredentialID    uint
	Name            string
	TeamName        string
	EnvironmentName string
	OwnerName       string
	RotationSpec    string
	RotationTZ      string
	DueAt           time.Time
}

// Calendar is the rotation calendar: the entries of one page, and the
// number of rotations due on each day of the window (UTC days).
type Calendar struct {
	Page    Page[CalendarEntry]
	From    time.Time
	Days    int
	PerDay  []int
	PerWeek []int
}

// RotationCalendar lists the active credentials whose next rotation falls
// in [From, From+Days), soonest first, with the count per day and week.
func (s *Store) RotationCalendar(ctx context.Context, f CalendarFilter) (Calendar, error) {
	f.ListParams = f.ListParams.Normalize()
	if f.Days <= 0 || f.Days > 366 {
		f.Days = 30
	}
	from := f.From.UTC()
	to := from.AddDate(0, 0, f.Days)
	base := func() *gorm.DB {
		q := f.Scope.apply(s.r(ctx).Table("credentials"), "credentials.team_id").
			Where("credentials.status = ? AND credentials.next_due_at >= ? AND credentials.next_due_at < ?", CredentialActive, from, to)
		if f.TeamID != 0 {
			q = q.Where("credentials.team_id = ?", f.TeamID)
		}
		if f.EnvironmentID != 0 {
			q = q.Where("credentials.environment_id = ?", f.EnvironmentID)
		}
		if f.Search != "" {
			q = q.Where("LOWER(credentials.name) LIKE ? ESCAPE '\\'", likePattern(f.Search))
		}
		return q
	}
	cal := Calendar{From: from, Days: f.Days, PerDay: make([]int, f.Days), PerWeek: make([]int, (f.Days+6)/7)}
	cal.Page.Params = f.ListParams
	var dues []time.Time
	if err := base().Pluck("credentials.next_due_at", &dues).Error; err != nil {
		return cal, fmt.Errorf("count due rotations: %w", err)
	}
	for _, d := range dues {
		day := int(d.UTC().Sub(from) / (24 * time.Hour))
		if day >= 0 && day < f.Days {
			cal.PerDay[day]++
			cal.PerWeek[day/7]++
		}
	}
	cal.Page.Total = int64(len(dues))
	err := base().Select("credentials.id AS credential_id, credentials.name, teams.name AS team_name, " +
		"environments.name AS environment_name, COALESCE(users.name, '') AS owner_name, credentials.rotation_spec, " +
		"credentials.rotation_tz, credentials.next_due_at AS due_at").
		Joins("JOIN teams ON teams.id = credentials.team_id").
		Joins("JOIN environments ON environments.id = credentials.environment_id").
		Joins("LEFT JOIN users ON users.id = credentials.owner_id").
		Order("credentials.next_due_at, credentials.id").Limit(f.PerPage).Offset(f.Offset()).Scan(&cal.Page.Items).Error
	if err != nil {
		return cal, fmt.Errorf("list due rotations: %w", err)
	}
	return cal, nil
}
