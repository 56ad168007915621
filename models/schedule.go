package models

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Limits and defaults of rotation schedules.
const (
	// DefaultMinRotationInterval is the smallest gap allowed between two due
	// times of one schedule when ScheduleOptions.MinInterval is not set.
	DefaultMinRotationInterval = time.Hour
	// MaxScheduleSpecLength bounds the cron spec a user may enter.
	MaxScheduleSpecLength = 100
	// MaxScheduleZoneLength bounds the time zone name a user may enter.
	MaxScheduleZoneLength = 64
	// MaxNextN bounds how many due times NextN computes in one call.
	MaxNextN = 100
)

// Sampling window of the minimum-interval check. It starts at a fixed wall
// time, so that validation gives the same answer on every day and in every
// zone, and spans four years, so that it holds a 29 February and every
// pattern of days a 5-field spec can express.
var (
	scheduleSampleStart = time.Date(2027, time.January, 1, 0, 0, 0, 0, time.UTC)
	scheduleSampleEnd   = scheduleSampleStart.AddDate(4, 0, 0)
)

// An example to point users at in messages.
const scheduleExample = "0 3 1 * * (03:00 on the 1st of each month)"

// ScheduleError says why a rotation schedule was rejected, in words meant for
// the person who typed it. Field is "spec" or "zone".
type ScheduleError struct {
	Field   string
	Message string
}

// Error returns the field and its message.
func (e *ScheduleError) Error() string { return e.Field + ": " + e.Message }

func specError(format string, args ...any) *ScheduleError {
	return &ScheduleError{Field: "spec", Message: fmt.Sprintf(format, args...)}
}

func zoneError(format string, args ...any) *ScheduleError {
	return &ScheduleError{Field: "zone", Message: fmt.Sprintf(format, args...)}
}

// ScheduleOptions tunes ParseRotationSchedule.
type ScheduleOptions struct {
	// MinInterval is the smallest gap allowed between two due times; zero or
	// less means DefaultMinRotationInterval.
	MinInterval time.Duration
}

// RotationSchedule is a validated rotation schedule: a 5-field cron spec (or
// a descriptor such as @daily) read as wall-clock time in a time zone. The
// zero value never fires. Build one with ParseRotationSchedule.
type RotationSchedule struct {
	// Spec is the spec as entered, without surrounding spaces.
	Spec string
	zone *time.Location
	// wall fires on the wall clock, expressed in UTC (see Next).
	wall *cron.SpecSchedule
}

// ParseRotationSchedule validates spec and zone and returns the schedule. An
// empty zone means UTC. Every rejection is a *ScheduleError.
//
// The spec never reaches the cron library with a time zone in it: TZ= and
// CRON_TZ= prefixes are refused here, because the zone has its own field and
// because the library panics on some of them (robfig/cron#470, #554).
func ParseRotationSchedule(spec, zone string, opts ScheduleOptions) (RotationSchedule, error) {
	loc, zerr := loadScheduleZone(zone)
	if zerr != nil {
		return RotationSchedule{}, zerr
	}
	spec = strings.TrimSpace(spec)
	wall, serr := parseWallSpec(spec)
	if serr != nil {
		return RotationSchedule{}, serr
	}
	minInterval := opts.MinInterval
	if minInterval <= 0 {
		minInterval = DefaultMinRotationInterval
	}
	if serr := checkFrequency(wall, minInterval); serr != nil {
		return RotationSchedule{}, serr
	}
	return RotationSchedule{Spec: spec, zone: loc, wall: wall}, nil
}

// ZoneWithoutScheduleMessage answers a time zone entered without a schedule.
const ZoneWithoutScheduleMessage = "A time zone applies to a schedule: enter a schedule too, or leave the time zone empty."

// ScheduleProblems are the messages of the two fields of a schedule as a
// form holds them; "" means the field is fine.
type ScheduleProblems struct {
	Spec, Zone string
}

// OK reports whether neither field has a message.
func (p ScheduleProblems) OK() bool { return p.Spec == "" && p.Zone == "" }

// CheckScheduleFields checks a schedule as a form holds it, a spec and its
// zone, and returns the schedule and the message of each field that is
// wrong. Both fields are checked, so that a bad zone does not hide a bad
// spec. An empty spec is no schedule (the zero RotationSchedule), which is
// fine unless a zone is given. Forms and their live check (the schedule
// preview) share it, so that both say the same.
func CheckScheduleFields(spec, zone string, opts ScheduleOptions) (RotationSchedule, ScheduleProblems) {
	spec, zone = strings.TrimSpace(spec), strings.TrimSpace(zone)
	var p ScheduleProblems
	if spec == "" {
		if zone != "" {
			p.Zone = ZoneWithoutScheduleMessage
		}
		return RotationSchedule{}, p
	}
	sched, err := ParseRotationSchedule(spec, zone, opts)
	var se *ScheduleError
	switch {
	case err == nil:
		return sched, p
	case !errors.As(err, &se):
		p.Spec = "This schedule could not be read."
	case se.Field == "zone":
		p.Zone = se.Message
		// Check the schedule on its own too.
		if _, err := ParseRotationSchedule(spec, "", opts); errors.As(err, &se) {
			p.Spec = se.Message
		}
	default:
		p.Spec = se.Message
	}
	return RotationSchedule{}, p
}

// addScheduleProblems puts the messages of a schedule on the form's fields,
// rotation_spec and rotation_tz.
func (v *ValidationError) addScheduleProblems(p ScheduleProblems) {
	if p.Spec != "" {
		v.Add("rotation_spec", p.Spec)
	}
	if p.Zone != "" {
		v.Add("rotation_tz", p.Zone)
	}
}

// ZoneName returns the IANA name of the schedule's zone ("UTC" by default).
func (s RotationSchedule) ZoneName() string {
	if s.zone == nil {
		return "UTC"
	}
	return s.zone.String()
}

// Next returns the first due time strictly after after, in UTC, or the zero
// time if there is none (the zero RotationSchedule).
//
// Daylight saving time. robfig/cron v3.0.1 walks the zone's clock with
// t.Add(time.Hour) and skips a time that does not exist (`30 2 * * *` never
// fires on 2026-03-29 in Europe/Berlin, it jumps to the next day) and fires
// twice at a time that exists twice (02:30 CEST and 02:30 CET on 2026-10-25).
// So Next only asks the library about wall-clock time written as UTC, where no
// day has a gap or an overlap, and maps each wall time to an instant itself:
// the earliest instant whose wall clock is at or after it. A wall time that
// exists once maps to itself, one that exists twice to its first occurrence,
// and one that falls in a gap to the first instant after the gap (03:00 CEST).
// Times that map to an instant not after `after` are passed over, so the
// repeated hour does not fire again and several wall times inside one gap
// fire once. This is what ISC cron does for changes of an hour or so.
func (s RotationSchedule) Next(after time.Time) (next time.Time) {
	if s.wall == nil || s.zone == nil {
		return time.Time{}
	}
	defer func() {
		if recover() != nil {
			next = time.Time{}
		}
	}()
	wall := wallClock(after.In(s.zone))
	// Enough to pass over a repeated day of every-minute firings.
	for range 3000 {
		candidate := nextWall(s.wall, wall)
		if candidate.IsZero() {
			return time.Time{}
		}
		if at := firstInstantAtOrAfter(candidate, s.zone); at.After(after) {
			return at.UTC()
		}
		wall = candidate
	}
	return time.Time{}
}

// NextN returns up to n due times after after, increasing, in the schedule's
// zone for display (the form's preview). n is capped at MaxNextN.
func (s RotationSchedule) NextN(after time.Time, n int) []time.Time {
	n = min(n, MaxNextN)
	if n <= 0 {
		return nil
	}
	times := make([]time.Time, 0, n)
	for len(times) < n {
		next := s.Next(after)
		if next.IsZero() {
			break
		}
		times = append(times, next.In(s.zone))
		after = next
	}
	return times
}

func loadScheduleZone(zone string) (*time.Location, *ScheduleError) {
	zone = strings.TrimSpace(zone)
	switch {
	case zone == "":
		return time.UTC, nil
	case strings.EqualFold(zone, "Local"):
		return nil, zoneError("The time zone %q depends on the server: use an IANA name such as Europe/Berlin.", zone)
	case len(zone) > MaxScheduleZoneLength:
		return nil, zoneError("The time zone name is too long: use an IANA name such as Europe/Berlin.")
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, zoneError("Unknown time zone %q: use an IANA name such as Europe/Berlin.", zone)
	}
	return loc, nil
}

// parseWallSpec checks a trimmed spec and parses it with the standard parser,
// recovering from any panic. The result fires on wall-clock time in UTC.
func parseWallSpec(spec string) (wall *cron.SpecSchedule, serr *ScheduleError) {
	if serr := precheckSpec(spec); serr != nil {
		return nil, serr
	}
	defer func() {
		if r := recover(); r != nil {
			wall, serr = nil, specError("This schedule could not be read: use five fields, like %s.", scheduleExample)
		}
	}()
	if strings.HasPrefix(spec, "@") {
		spec = strings.ToLower(spec)
	}
	parsed, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, describeFieldError(strings.Fields(spec))
	}
	specSchedule, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, specError("Intervals (@every) are not allowed: use a calendar schedule, like %s.", scheduleExample)
	}
	// The parser sets time.Local when there is no prefix; pin UTC so that the
	// library never reads a zone, not even the server's.
	specSchedule.Location = time.UTC
	return specSchedule, nil
}

var scheduleDescriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// precheckSpec rejects what must not reach the cron library or is not a
// calendar schedule, before it is parsed.
func precheckSpec(spec string) *ScheduleError {
	switch {
	case spec == "":
		return specError("Enter a schedule in five fields: minute hour day-of-month month day-of-week, like %s.", scheduleExample)
	case len(spec) > MaxScheduleSpecLength:
		return specError("This schedule is too long: use at most %d characters.", MaxScheduleSpecLength)
	case strings.Contains(strings.ToUpper(spec), "TZ="):
		return specError("Time zone prefixes (TZ=, CRON_TZ=) are not allowed here: choose the zone in the time zone field.")
	}
	fields := strings.Fields(spec)
	if !strings.HasPrefix(spec, "@") {
		if len(fields) != 5 {
			return specError("Use five fields: minute hour day-of-month month day-of-week, like %s.", scheduleExample)
		}
		return nil
	}
	name := strings.ToLower(fields[0])
	switch {
	case name == "@every":
		return specError("Intervals (@every) are not allowed: use a calendar schedule, like %s.", scheduleExample)
	case name == "@reboot":
		return specError("@reboot is not a schedule: use a calendar schedule, like %s.", scheduleExample)
	}
	for _, d := range scheduleDescriptors {
		if name == d && len(fields) == 1 {
			return nil
		}
		if name == d {
			return specError("Write %s alone, or use five fields instead.", fields[0])
		}
	}
	return specError("Unknown shortcut %q: use @hourly, @daily, @weekly, @monthly or @yearly, or five fields.", fields[0])
}

var scheduleFieldHelp = [5]struct{ name, values string }{
	{"minute", "0-59"},
	{"hour", "0-23"},
	{"day-of-month", "1-31"},
	{"month", "1-12 or JAN-DEC"},
	{"day-of-week", "0-6 (Sunday is 0) or SUN-SAT"},
}

// describeFieldError names the first of five fields that does not parse on
// its own.
func describeFieldError(fields []string) *ScheduleError {
	for i, field := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = field
		if _, err := cron.ParseStandard(strings.Join(probe, " ")); err != nil {
			help := scheduleFieldHelp[i]
			return specError("The %s field %q is not valid: use %s, lists (1,15), ranges (1-5) or steps (*/2).",
				help.name, field, help.values)
		}
	}
	return specError("This schedule could not be read: use five fields, like %s.", scheduleExample)
}

// checkFrequency rejects a schedule that never fires or fires more often
// than minInterval. Gaps are measured on the wall clock over a fixed window,
// so the answer does not depend on the zone or the day; a DST change can make
// one real gap shorter by the size of the shift (`30 1,2 * * *` fires at
// 01:30 and 03:00 on the spring-forward day in Europe/Berlin).
func checkFrequency(wall *cron.SpecSchedule, minInterval time.Duration) *ScheduleError {
	if nextWall(wall, scheduleSampleStart).IsZero() {
		return specError("This schedule never fires.")
	}
	gaps := wallGaps(wall)
	if gaps.count == 0 || gaps.smallest >= minInterval {
		return nil
	}
	often := "twice within " + formatInterval(gaps.smallest)
	if gaps.regular {
		often = "every " + formatInterval(gaps.smallest)
		if unit, ok := strings.CutPrefix(often, "every 1 "); ok && !strings.Contains(unit, " ") {
			often = "every " + unit // "every hour", not "every 1 hour"
		}
	}
	return specError("This schedule fires %s; the minimum interval between rotations is %s.", often, formatInterval(minInterval))
}

// gapStats summarises the gaps between consecutive firings.
type gapStats struct {
	smallest time.Duration
	regular  bool // every gap equals smallest
	count    int  // gaps added; wallGaps adds one day's gaps once, not per day
}

func (g *gapStats) add(gap time.Duration) {
	switch {
	case g.count == 0:
		g.smallest, g.regular = gap, true
	case gap < g.smallest:
		g.smallest, g.regular = gap, false
	case gap != g.smallest:
		g.regular = false
	}
	g.count++
}

// wallGaps returns the gaps between consecutive wall-clock firings of s in
// the sample window, as if it stepped through them with Next, but in
// microseconds instead of milliseconds: every matching day fires at the same
// times of day (the standard parser pins seconds to 0), so the gaps are those
// between the times of day and, from one matching day to the next, the whole
// days between them minus the span of one day's firings.
func wallGaps(s *cron.SpecSchedule) gapStats {
	var clock []time.Duration
	for h := range 24 {
		for m := range 60 {
			if s.Hour&(1<<uint(h)) != 0 && s.Minute&(1<<uint(m)) != 0 {
				clock = append(clock, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute)
			}
		}
	}
	var gaps gapStats
	if len(clock) == 0 {
		return gaps
	}
	span := clock[len(clock)-1] - clock[0]
	var previous time.Time
	// UTC days have no DST: stepping by 24 hours visits every date.
	for day := scheduleSampleStart; day.Before(scheduleSampleEnd); day = day.Add(24 * time.Hour) {
		if !specDayMatches(s, day) {
			continue
		}
		if previous.IsZero() {
			for i := 1; i < len(clock); i++ {
				gaps.add(clock[i] - clock[i-1])
			}
		} else {
			gaps.add(day.Sub(previous) - span)
		}
		previous = day
	}
	return gaps
}

// specDayMatches mirrors the library's unexported dayMatches: month, and
// day-of-month AND day-of-week when either is a star, OR when both are set.
func specDayMatches(s *cron.SpecSchedule, day time.Time) bool {
	const starBit = 1 << 63
	if s.Month&(1<<uint(day.Month())) == 0 {
		return false
	}
	domMatch := s.Dom&(1<<uint(day.Day())) != 0
	dowMatch := s.Dow&(1<<uint(day.Weekday())) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

// nextWall returns the schedule's next wall time after wall (both in UTC),
// looking further than the library's five years so that a 29 February
// schedule keeps firing across 2100.
func nextWall(wall *cron.SpecSchedule, after time.Time) time.Time {
	for range 3 {
		if next := wall.Next(after); !next.IsZero() {
			return next
		}
		// The library looked at every time up to the end of year+5.
		after = time.Date(after.Year()+6, time.January, 1, 0, 0, 0, 0, time.UTC).Add(-time.Second)
	}
	return time.Time{}
}

// wallClock returns t's date and clock in its own zone as the same fields in
// UTC.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), time.UTC)
}

// firstInstantAtOrAfter returns the earliest instant whose wall clock in loc
// is at or after wall (a wall time written as UTC). Within one zone period
// [start, end) with offset o the wall clock is instant+o, so the earliest
// such instant in the period is max(start, wall-o) if that is before end; the
// answer is the smallest over the periods near wall. Go's time.Date is not
// used because it leaves the result for a time in a gap unspecified.
func firstInstantAtOrAfter(wall time.Time, loc *time.Location) time.Time {
	var best time.Time
	probe := wall.Add(-30 * time.Hour).In(loc)
	limit := wall.Add(30 * time.Hour)
	for range 16 {
		start, end := probe.ZoneBounds()
		_, offset := probe.Zone()
		candidate := wall.Add(-time.Duration(offset) * time.Second)
		if !start.IsZero() && candidate.Before(start) {
			candidate = start
		}
		if (end.IsZero() || candidate.Before(end)) && (best.IsZero() || candidate.Before(best)) {
			best = candidate
		}
		if end.IsZero() || end.After(limit) {
			break
		}
		probe = end.In(loc)
	}
	if best.IsZero() {
		best = time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
	}
	return best.In(loc)
}

// formatInterval writes d as days, hours, minutes and seconds, e.g.
// "1 hour 30 minutes".
func formatInterval(d time.Duration) string {
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 {
			d -= n * u.size
			part := fmt.Sprintf("%d %s", n, u.name)
			if n > 1 {
				part += "s"
			}
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}
