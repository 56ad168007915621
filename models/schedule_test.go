package models

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustSchedule(t testing.TB, spec, zone string) RotationSchedule {
	t.Helper()
	s, err := ParseRotationSchedule(spec, zone, ScheduleOptions{})
	if err != nil {
		t.Fatalf("ParseRotationSchedule(%q, %q): %v", spec, zone, err)
	}
	return s
}

func TestParseRotationScheduleAccepts(t *testing.T) {
	after := time.Date(2026, 5, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		spec, zone, wantSpec, wantZone string
	}{
		{"0 3 1 * *", "", "0 3 1 * *", "UTC"},
		{"0 3 * * 1", "UTC", "0 3 * * 1", "UTC"},
		{"  30 2 * * *\t", "Europe/Berlin", "30 2 * * *", "Europe/Berlin"},
		{"0 */2 * * *", "America/New_York", "0 */2 * * *", "America/New_York"},
		{"0 9-17 * * mon-fri", " Asia/Tokyo ", "0 9-17 * * mon-fri", "Asia/Tokyo"},
		{"0 0 1 jan,jul *", "Australia/Lord_Howe", "0 0 1 jan,jul *", "Australia/Lord_Howe"},
		{"0 3 ? * SUN", "", "0 3 ? * SUN", "UTC"},
		{"15 4 1,15 * *", "", "15 4 1,15 * *", "UTC"},
		{"0 0 29 2 *", "", "0 0 29 2 *", "UTC"},
		{"0 0,1 * * *", "", "0 0,1 * * *", "UTC"},
		{"0 * * * *", "", "0 * * * *", "UTC"},
		{"@hourly", "", "@hourly", "UTC"},
		{"@daily", "Europe/Berlin", "@daily", "Europe/Berlin"},
		{"@midnight", "", "@midnight", "UTC"},
		{"@weekly", "", "@weekly", "UTC"},
		{"@monthly", "", "@monthly", "UTC"},
		{"@yearly", "", "@yearly", "UTC"},
		{"@annually", "", "@annually", "UTC"},
		{"@DAILY", "", "@DAILY", "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"|"+tt.zone, func(t *testing.T) {
			s, err := ParseRotationSchedule(tt.spec, tt.zone, ScheduleOptions{})
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if s.Spec != tt.wantSpec || s.ZoneName() != tt.wantZone {
				t.Errorf("got (%q, %q), want (%q, %q)", s.Spec, s.ZoneName(), tt.wantSpec, tt.wantZone)
			}
			next := s.Next(after)
			if !next.After(after) || next.Location() != time.UTC {
				t.Errorf("Next(%v) = %v, want a UTC time after it", after, next)
			}
		})
	}
}

func TestParseRotationScheduleRejects(t *testing.T) {
	const (
		fiveFields = "Use five fields: minute hour day-of-month month day-of-week, like 0 3 1 * * (03:00 on the 1st of each month)."
		prefix     = "Time zone prefixes (TZ=, CRON_TZ=) are not allowed here: choose the zone in the time zone field."
		every      = "Intervals (@every) are not allowed: use a calendar schedule, like 0 3 1 * * (03:00 on the 1st of each month)."
		never      = "This schedule never fires."
	)
	tests := []struct {
		name, spec, zone string
		minInterval      time.Duration
		field, message   string
	}{
		{"empty", "", "", 0, "spec", "Enter a schedule in five fields: minute hour day-of-month month day-of-week, like 0 3 1 * * (03:00 on the 1st of each month)."},
		{"blank", "   ", "", 0, "spec", "Enter a schedule in five fields: minute hour day-of-month month day-of-week, like 0 3 1 * * (03:00 on the 1st of each month)."},
		{"four fields", "0 3 * *", "", 0, "spec", fiveFields},
		{"six fields (seconds)", "0 0 3 * * *", "", 0, "spec", fiveFields},
		{"one word", "daily", "", 0, "spec", fiveFields},
		{"too long", "0 3 * * " + strings.Repeat("1,", 60) + "1", "", 0, "spec", "This schedule is too long: use at most 100 characters."},
		{"TZ prefix", "TZ=Europe/Berlin 0 3 * * *", "", 0, "spec", prefix},
		{"CRON_TZ prefix", "CRON_TZ=UTC 0 3 * * *", "", 0, "spec", prefix},
		{"lower-case cron_tz with spaces", "  cron_tz=Europe/Berlin 0 3 * * *", "", 0, "spec", prefix},
		{"tz without fields (panics in robfig)", "TZ=UTC", "", 0, "spec", prefix},
		{"bare TZ= (panics in robfig)", "TZ=", "", 0, "spec", prefix},
		{"bare CRON_TZ= (panics in robfig)", "CRON_TZ=", "", 0, "spec", prefix},
		{"TZ=TZ=TZ= (robfig#470)", "TZ=TZ=TZ=", "", 0, "spec", prefix},
		{"tab then TZ", "\tTZ=0", "", 0, "spec", prefix},
		{"TZ suffix", "0 3 * * * TZ=UTC", "", 0, "spec", prefix},
		{"TZ before descriptor", "CRON_TZ=Asia/Tokyo @daily", "", 0, "spec", prefix},
		{"@every", "@every 1h", "", 0, "spec", every},
		{"@every upper-case", "@EVERY 5m", "", 0, "spec", every},
		{"@every alone", "@every", "", 0, "spec", every},
		{"@reboot", "@reboot", "", 0, "spec", "@reboot is not a schedule: use a calendar schedule, like 0 3 1 * * (03:00 on the 1st of each month)."},
		{"unknown shortcut", "@fortnightly", "", 0, "spec", `Unknown shortcut "@fortnightly": use @hourly, @daily, @weekly, @monthly or @yearly, or five fields.`},
		{"bare @", "@", "", 0, "spec", `Unknown shortcut "@": use @hourly, @daily, @weekly, @monthly or @yearly, or five fields.`},
		{"shortcut with fields", "@daily 3", "", 0, "spec", "Write @daily alone, or use five fields instead."},
		{"30 February", "0 0 30 2 *", "", 0, "spec", never},
		{"31 February", "0 0 31 feb *", "Europe/Berlin", 0, "spec", never},
		{"31 of 30-day months", "0 0 31 4,6,9,11 *", "", 0, "spec", never},
		{"every 5 minutes", "*/5 * * * *", "", 0, "spec", "This schedule fires every 5 minutes; the minimum interval between rotations is 1 hour."},
		{"every minute", "* * * * *", "Europe/Berlin", 0, "spec", "This schedule fires every minute; the minimum interval between rotations is 1 hour."},
		{"irregular", "0,5 3 * * *", "", 0, "spec", "This schedule fires twice within 5 minutes; the minimum interval between rotations is 1 hour."},
		{"every 7 minutes is irregular", "*/7 * * * *", "", 0, "spec", "This schedule fires twice within 4 minutes; the minimum interval between rotations is 1 hour."},
		{"hourly under 2h minimum", "0 * * * *", "", 2 * time.Hour, "spec", "This schedule fires every hour; the minimum interval between rotations is 2 hours."},
		{"@hourly under 2h minimum", "@hourly", "", 2 * time.Hour, "spec", "This schedule fires every hour; the minimum interval between rotations is 2 hours."},
		{"twice a day under daily minimum", "0 0,12 * * *", "", 24 * time.Hour, "spec", "This schedule fires every 12 hours; the minimum interval between rotations is 1 day."},
		{"90 minutes", "0,30 */3 * * *", "", 4 * time.Hour, "spec", "This schedule fires twice within 30 minutes; the minimum interval between rotations is 4 hours."},
		{"gap only on 29 February", "0 0 1,29 * *", "", 36 * time.Hour, "spec", "This schedule fires twice within 1 day; the minimum interval between rotations is 1 day 12 hours."},
		{"minute out of range", "60 3 * * *", "", 0, "spec", `The minute field "60" is not valid: use 0-59, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"zero step", "*/0 3 * * *", "", 0, "spec", `The minute field "*/0" is not valid: use 0-59, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"hour out of range", "0 24 * * *", "", 0, "spec", `The hour field "24" is not valid: use 0-23, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"day zero", "0 3 0 * *", "", 0, "spec", `The day-of-month field "0" is not valid: use 1-31, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"month 13", "0 3 * 13 *", "", 0, "spec", `The month field "13" is not valid: use 1-12 or JAN-DEC, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"Sunday as 7", "0 3 * * 7", "", 0, "spec", `The day-of-week field "7" is not valid: use 0-6 (Sunday is 0) or SUN-SAT, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"unknown day name", "0 3 * * fun", "", 0, "spec", `The day-of-week field "fun" is not valid: use 0-6 (Sunday is 0) or SUN-SAT, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"reversed range", "0 5-1 * * *", "", 0, "spec", `The hour field "5-1" is not valid: use 0-23, lists (1,15), ranges (1-5) or steps (*/2).`},
		{"unknown zone", "0 3 * * *", "Mars/Olympus", 0, "zone", `Unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin.`},
		{"Local", "0 3 * * *", "Local", 0, "zone", `The time zone "Local" depends on the server: use an IANA name such as Europe/Berlin.`},
		{"local lower-case", "0 3 * * *", "local", 0, "zone", `The time zone "local" depends on the server: use an IANA name such as Europe/Berlin.`},
		{"path traversal", "0 3 * * *", "../../etc/passwd", 0, "zone", `Unknown time zone "../../etc/passwd": use an IANA name such as Europe/Berlin.`},
		{"absolute path", "0 3 * * *", "/etc/localtime", 0, "zone", `Unknown time zone "/etc/localtime": use an IANA name such as Europe/Berlin.`},
		{"offset is not a zone", "0 3 * * *", "+02:00", 0, "zone", `Unknown time zone "+02:00": use an IANA name such as Europe/Berlin.`},
		{"long zone", "0 3 * * *", strings.Repeat("A", 65), 0, "zone", "The time zone name is too long: use an IANA name such as Europe/Berlin."},
		{"zone is checked first", "TZ=UTC", "Mars/Olympus", 0, "zone", `Unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseRotationSchedule(tt.spec, tt.zone, ScheduleOptions{MinInterval: tt.minInterval})
			var se *ScheduleError
			if !errors.As(err, &se) {
				t.Fatalf("got (%+v, %v), want a *ScheduleError", s, err)
			}
			if se.Field != tt.field || se.Message != tt.message {
				t.Errorf("got %s: %q\nwant %s: %q", se.Field, se.Message, tt.field, tt.message)
			}
			if s.Spec != "" || !s.Next(time.Now()).IsZero() {
				t.Errorf("a rejected schedule must be the zero value, got %+v", s)
			}
		})
	}
}

// Inputs that crash or trouble the cron library or a naive wrapper. None may
// panic; any that is accepted must fire after any time.
func TestParseRotationScheduleHostileSpecsNeverPanic(t *testing.T) {
	hostile := []string{
		"TZ=", "CRON_TZ=", "TZ=TZ=TZ=", "TZ=0", "CRON_TZ=../../../etc/passwd 0 0 * * *",
		"TZ=Local 0 0 * * *", "TZ=\x00 * * * * *", "tz=", " Cron_Tz=",
		"@", "@@", "@every", "@every -1s", "@every 0s", "@every 1ns", "@every 99999999999h",
		"@every 1h30m", "@daily@daily", "@yearly\x00", "@ever\u00a0y 1h",
		"*", "*/", "/", "-", "1-", "-1 * * * *", "1--2 * * * *", "1/2/3 * * * *",
		"1-2-3 * * * *", ",,,, , , , ,", ", * * * *", "? ? ? ? ?", "*/* * * * *",
		"9223372036854775807 * * * *", "0/9223372036854775807 * * * *",
		"*/18446744073709551616 * * * *", "0-59/9223372036854775807 0 1 1 *",
		"-9223372036854775808 * * * *", "0x10 * * * *", "1e3 * * * *", "+1 * * * *",
		"\x00 \x00 \x00 \x00 \x00", "\xff\xfe * * * *", "٣ * * * *", "𝟘 * * * *",
		"0 0 * * \u00a0", "0\u00a00\u00a0*\u00a0*\u00a0*", "0 0 * * mon-", "0 0 * * -mon",
		"0 0 * jan-dec/0 *", "0 0 L * *", "0 0 * * 5L", "0 0 * * 1#2", "0 0 15W * *",
		"0 0 * * sun,sat", "0 0 31 * *", "0 0 29 2 *", "0 0 29 2 mon",
		"59 23 31 12 6", "0 0 1 1 0", strings.Repeat("*", 101), strings.Repeat(" ", 200),
		strings.Repeat("1,", 49) + "1 * * * *",
	}
	zones := []string{"", "Europe/Berlin", "Pacific/Chatham", "Local", "Mars/Olympus", "\x00"}
	after := []time.Time{
		time.Date(2026, 3, 29, 0, 59, 59, 999, time.UTC),
		time.Date(2099, 12, 31, 23, 59, 0, 0, time.UTC),
		{},
	}
	for _, spec := range hostile {
		for _, zone := range zones {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("ParseRotationSchedule(%q, %q) panicked: %v", spec, zone, r)
					}
				}()
				s, err := ParseRotationSchedule(spec, zone, ScheduleOptions{})
				if err != nil {
					var se *ScheduleError
					if !errors.As(err, &se) || se.Message == "" {
						t.Errorf("ParseRotationSchedule(%q, %q): want a *ScheduleError, got %v", spec, zone, err)
					}
					return
				}
				for _, a := range after {
					if next := s.Next(a); !next.After(a) {
						t.Errorf("%q in %q: Next(%v) = %v", spec, zone, a, next)
					}
				}
			}()
		}
	}
}

func TestNextDaylightSavingTransitions(t *testing.T) {
	tests := []struct {
		name, zone, spec string
		day              time.Time // the transition day (local date; time ignored)
		wantOnDay        string    // the one due time on that day, in UTC
	}{
		{"Berlin spring forward, 02:30 does not exist", "Europe/Berlin", "30 2 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), "2026-03-29T01:00:00Z"},
		{"Berlin fall back, 02:30 happens twice", "Europe/Berlin", "30 2 * * *", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), "2026-10-25T00:30:00Z"},
		{"Berlin spring forward, 02:00 at the gap's start", "Europe/Berlin", "0 2 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), "2026-03-29T01:00:00Z"},
		{"Berlin spring forward, 03:00 right after the gap", "Europe/Berlin", "0 3 * * *", time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), "2026-03-29T01:00:00Z"},
		{"Berlin fall back, 03:00 after the repeat", "Europe/Berlin", "0 3 * * *", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), "2026-10-25T02:00:00Z"},
		{"New York spring forward, 02:30 does not exist", "America/New_York", "30 2 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), "2026-03-08T07:00:00Z"},
		{"New York fall back, 01:30 happens twice", "America/New_York", "30 1 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "2026-11-01T05:30:00Z"},
		{"New York fall back, 02:30 exists once", "America/New_York", "30 2 * * *", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "2026-11-01T07:30:00Z"},
		{"New York @daily on spring forward", "America/New_York", "@daily", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), "2026-03-08T05:00:00Z"},
		{"Havana, midnight does not exist", "America/Havana", "0 0 * * *", time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), "2026-03-08T05:00:00Z"},
		{"Lord Howe, 30-minute shift", "Australia/Lord_Howe", "15 2 * * *", time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC), "2026-10-03T15:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustZone(t, tt.zone)
			s := mustSchedule(t, tt.spec, tt.zone)
			from := time.Date(tt.day.Year(), tt.day.Month(), tt.day.Day()-3, 0, 0, 0, 0, loc)
			until := time.Date(tt.day.Year(), tt.day.Month(), tt.day.Day()+4, 0, 0, 0, 0, loc)
			perDay := map[string]int{}
			var onDay []string
			for at := s.Next(from.Add(-time.Nanosecond)); at.Before(until); at = s.Next(at) {
				if at.IsZero() {
					t.Fatal("Next returned the zero time")
				}
				day := at.In(loc).Format(time.DateOnly)
				perDay[day]++
				if day == tt.day.Format(time.DateOnly) {
					onDay = append(onDay, at.Format(time.RFC3339))
				}
			}
			// Count on calendar dates: in Havana local midnight itself may not exist.
			for i := -3; i <= 3; i++ {
				d := tt.day.AddDate(0, 0, i).Format(time.DateOnly)
				if n := perDay[d]; n != 1 {
					t.Errorf("%s: %d due times, want exactly 1", d, n)
				}
			}
			if len(perDay) != 7 {
				t.Errorf("due times fell on %d days, want 7: %v", len(perDay), perDay)
			}
			if len(onDay) != 1 || onDay[0] != tt.wantOnDay {
				t.Errorf("on %s: %v, want [%s]", tt.day.Format(time.DateOnly), onDay, tt.wantOnDay)
			}
		})
	}
}

// An hourly schedule fires once for the skipped hour (right after the gap)
// and does not fire again in the repeated hour.
func TestNextHourlyAcrossTransitions(t *testing.T) {
	s := mustSchedule(t, "0 * * * *", "America/New_York")
	tests := []struct {
		from time.Time
		want []string
	}{
		{time.Date(2026, 3, 8, 5, 30, 0, 0, time.UTC), []string{ // 00:30 EST
			"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
		{time.Date(2026, 11, 1, 4, 30, 0, 0, time.UTC), []string{ // 00:30 EDT
			"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}},
	}
	for _, tt := range tests {
		var got []string
		for _, at := range s.NextN(tt.from, 3) {
			got = append(got, at.Format(time.RFC3339))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("NextN(%v) = %v, want %v", tt.from, got, tt.want)
		}
	}
}

// Asking from inside the repeated hour does not fire the repeated time again.
func TestNextFromInsideRepeatedHour(t *testing.T) {
	s := mustSchedule(t, "30 1 * * *", "America/New_York")
	tests := []struct{ after, want time.Time }{
		{time.Date(2026, 11, 1, 5, 10, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)}, // 01:10 EDT
		{time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)}, // 01:30 EDT, just fired
		{time.Date(2026, 11, 1, 6, 10, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)}, // 01:10 EST, second pass
		{time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)}, // 01:30 EST
	}
	for _, tt := range tests {
		if got := s.Next(tt.after); !got.Equal(tt.want) {
			t.Errorf("Next(%v) = %v, want %v", tt.after, got, tt.want)
		}
	}
}

// For two years in zones with all kinds of transitions (midnight, 30 minutes,
// southern hemisphere), a daily schedule fires exactly once on every local
// day, at its wall time or, when that does not exist, right after the gap.
func TestNextDailyOncePerDayEverywhere(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York", "America/Santiago", "America/Havana",
		"Africa/Cairo", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Gaza", "UTC"}
	clocks := []struct{ spec, wall string }{
		{"0 0 * * *", "00:00"}, {"30 1 * * *", "01:30"}, {"30 2 * * *", "02:30"},
		{"45 2 * * *", "02:45"}, {"15 23 * * *", "23:15"},
	}
	for _, zone := range zones {
		loc := mustZone(t, zone)
		for _, c := range clocks {
			s := mustSchedule(t, c.spec, zone)
			day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			at := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Add(-time.Nanosecond))
			for ; day.Year() < 2028; day = day.AddDate(0, 0, 1) {
				local := at.In(loc)
				if got := local.Format(time.DateOnly); got != day.Format(time.DateOnly) {
					t.Fatalf("%s %q: due %v, want one on %s", zone, c.spec, local, day.Format(time.DateOnly))
				}
				if w := local.Format("15:04"); w != c.wall {
					// Only allowed at the end of a gap that swallowed the wall time.
					want, _ := time.Parse(time.DateOnly+" 15:04", day.Format(time.DateOnly)+" "+c.wall)
					before := wallClock(at.Add(-time.Nanosecond).In(loc))
					if !before.Before(want) || !wallClock(local).After(want) {
						t.Errorf("%s %q: due %v (%v before), want %s", zone, c.spec, local, before, c.wall)
					}
				}
				next := s.Next(at)
				if !next.After(at) {
					t.Fatalf("%s %q: Next(%v) = %v", zone, c.spec, at, next)
				}
				at = next
			}
		}
	}
}

// firstInstantAtOrAfter against a minute-by-minute scan around every
// transition of 2026.
func TestFirstInstantAtOrAfterMatchesScan(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "America/Havana", "Australia/Lord_Howe", "Pacific/Chatham"} {
		loc := mustZone(t, zone)
		transitions := 0
		for probe := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); probe.Year() == 2026; {
			_, end := probe.ZoneBounds()
			if end.IsZero() || end.Year() != 2026 {
				break
			}
			around := wallClock(end.In(loc)).Truncate(10 * time.Minute)
			for w := around.Add(-3 * time.Hour); w.Before(around.Add(3 * time.Hour)); w = w.Add(10 * time.Minute) {
				want := time.Time{}
				for i := w.Add(-16 * time.Hour); i.Before(w.Add(16 * time.Hour)); i = i.Add(time.Minute) {
					if !wallClock(i.In(loc)).Before(w) {
						want = i
						break
					}
				}
				if got := firstInstantAtOrAfter(w, loc); !got.Equal(want) {
					t.Errorf("%s wall %s: got %v, want %v", zone, w.Format(time.DateTime), got, want.In(loc))
				}
			}
			probe = end.In(loc)
			transitions++
		}
		if transitions != 2 {
			t.Errorf("%s: checked %d transitions in 2026, want 2", zone, transitions)
		}
	}
}

func TestNextMonthlyWeeklyYearly(t *testing.T) {
	tests := []struct {
		spec, zone string
		after      time.Time
		want       []string
	}{
		{"0 3 1 * *", "Europe/Berlin", time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), []string{
			"2026-02-01T03:00:00+01:00", "2026-03-01T03:00:00+01:00", "2026-04-01T03:00:00+02:00",
			"2026-05-01T03:00:00+02:00", "2026-06-01T03:00:00+02:00"}},
		{"@monthly", "", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), []string{
			"2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z",
			"2027-04-01T00:00:00Z", "2027-05-01T00:00:00Z"}},
		{"0 0 31 * *", "", time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), []string{
			"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
			"2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z"}},
		{"0 9 * * mon", "America/New_York", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), []string{
			"2026-03-02T09:00:00-05:00", "2026-03-09T09:00:00-04:00", "2026-03-16T09:00:00-04:00",
			"2026-03-23T09:00:00-04:00", "2026-03-30T09:00:00-04:00"}},
		{"@weekly", "Europe/Berlin", time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), []string{
			"2026-10-25T00:00:00+02:00", "2026-11-01T00:00:00+01:00", "2026-11-08T00:00:00+01:00",
			"2026-11-15T00:00:00+01:00", "2026-11-22T00:00:00+01:00"}},
		{"30 2 29 3 *", "Europe/Berlin", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []string{
			"2026-03-29T03:00:00+02:00", "2027-03-29T02:30:00+02:00", "2028-03-29T02:30:00+02:00",
			"2029-03-29T02:30:00+02:00", "2030-03-29T02:30:00+01:00"}}, // DST starts 2030-03-31
		{"@yearly", "Asia/Tokyo", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), []string{
			"2027-01-01T00:00:00+09:00", "2028-01-01T00:00:00+09:00", "2029-01-01T00:00:00+09:00",
			"2030-01-01T00:00:00+09:00", "2031-01-01T00:00:00+09:00"}},
		// The library gives up after five years; Next looks further, across 2100.
		{"0 0 29 2 *", "", time.Date(2097, 3, 1, 0, 0, 0, 0, time.UTC), []string{
			"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z", "2112-02-29T00:00:00Z",
			"2116-02-29T00:00:00Z", "2120-02-29T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"|"+tt.zone, func(t *testing.T) {
			s := mustSchedule(t, tt.spec, tt.zone)
			var got []string
			for _, at := range s.NextN(tt.after, 5) {
				got = append(got, at.Format(time.RFC3339))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("NextN = %v\nwant    %v", got, tt.want)
			}
		})
	}
}

func TestNextN(t *testing.T) {
	s := mustSchedule(t, "0 3 * * *", "Europe/Berlin")
	after := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	times := s.NextN(after, 5)
	if len(times) != 5 {
		t.Fatalf("got %d times, want 5", len(times))
	}
	prev := after
	for _, at := range times {
		if !at.After(prev) {
			t.Errorf("%v is not after %v", at, prev)
		}
		if at.Location().String() != "Europe/Berlin" {
			t.Errorf("%v is not in the schedule's zone", at)
		}
		prev = at
	}
	if got := s.NextN(after, 0); got != nil {
		t.Errorf("NextN(0) = %v, want nil", got)
	}
	if got := s.NextN(after, -3); got != nil {
		t.Errorf("NextN(-3) = %v, want nil", got)
	}
	if got := len(s.NextN(after, 100000)); got != MaxNextN {
		t.Errorf("NextN(100000) returned %d times, want %d", got, MaxNextN)
	}
	var zero RotationSchedule
	if got := zero.NextN(after, 5); len(got) != 0 || !zero.Next(after).IsZero() || zero.ZoneName() != "UTC" {
		t.Errorf("the zero schedule must never fire, got %v", got)
	}
}

func TestNextReturnsUTCStrictlyAfter(t *testing.T) {
	s := mustSchedule(t, "0 3 * * *", "Asia/Kolkata")
	at := time.Date(2026, 5, 5, 3, 0, 0, 0, mustZone(t, "Asia/Kolkata"))
	next := s.Next(at)
	if next.Location() != time.UTC {
		t.Errorf("Next returned %v, want UTC", next.Location())
	}
	if want := at.AddDate(0, 0, 1); !next.Equal(want) {
		t.Errorf("Next(%v) = %v, want %v (strictly after)", at, next, want)
	}
	if got := s.Next(at.Add(-time.Nanosecond)); !got.Equal(at) {
		t.Errorf("Next(1ns before) = %v, want %v", got, at)
	}
}

// bruteWallGaps steps through the sample window with the library's Next, up
// to limit firings; covered says whether it reached the window's end.
func bruteWallGaps(s RotationSchedule, limit int) (gaps gapStats, covered bool) {
	prev := nextWall(s.wall, scheduleSampleStart.Add(-time.Nanosecond))
	for range limit {
		next := nextWall(s.wall, prev)
		if next.IsZero() || !next.Before(scheduleSampleEnd) {
			return gaps, true
		}
		gaps.add(next.Sub(prev))
		prev = next
	}
	return gaps, false
}

// sameGaps compares what the check uses; count differs by design.
func sameGaps(a, b gapStats) bool {
	return a.smallest == b.smallest && a.regular == b.regular && (a.count == 0) == (b.count == 0)
}

// The computed gaps must be those found by stepping with the library.
func TestWallGapsMatchLibrary(t *testing.T) {
	specs := []string{
		"0 * * * *", "0 3 * * *", "0,5 3 * * *", "15,45 */3 1,15 * sun", "0 0 1,29 * *",
		"0 0 29 2 *", "0 0 29 2 mon", "0 0,23 31 * 1", "59 23 * * 6", "0 0 * * 0,6",
		"0 12 */2 * *", "30 2 1-7 * mon", "0 0 31 * *", "0 9-17/4 * jan-jun mon-fri",
		"@weekly", "@monthly", "@yearly", "@daily", "0 22 28-31 * *", "0 0 1 */3 *",
	}
	for _, spec := range specs {
		s, err := ParseRotationSchedule(spec, "", ScheduleOptions{MinInterval: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		want, covered := bruteWallGaps(s, 50000)
		if !covered {
			t.Fatalf("%q: sample too large for the brute-force check", spec)
		}
		if got := wallGaps(s.wall); !sameGaps(got, want) {
			t.Errorf("%q: wallGaps = %+v, stepping with Next = %+v", spec, got, want)
		}
	}
}

func FuzzParseRotationSchedule(f *testing.F) {
	seeds := []struct {
		spec, zone string
		after      int64
	}{
		{"0 3 1 * *", "", 0}, {"30 2 * * *", "Europe/Berlin", 1774746000}, {"30 1 * * *", "America/New_York", 1793512800},
		{"@daily", "Australia/Lord_Howe", 1}, {"@every 1h", "", 2}, {"TZ=", "", 3}, {"CRON_TZ=UTC 0 0 * * *", "UTC", 4},
		{"*/5 * * * *", "", 5}, {"0 0 30 2 *", "", 6}, {"0 0 29 2 *", "Pacific/Apia", 7}, {"0 9-17/2 * jan-jun mon-fri", "Asia/Gaza", 8},
		{"0 0 * * *", "America/Havana", 9}, {"15,45 */3 1,15 * sun", "Pacific/Chatham", -10},
	}
	for _, s := range seeds {
		f.Add(s.spec, s.zone, s.after)
	}
	const window = 60 * 365 * 24 * 3600 // 2000 to about 2060
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec, zone string, offset int64) {
		var opts ScheduleOptions
		if offset%2 != 0 { // also let through frequent schedules, to check their gaps
			opts.MinInterval = time.Nanosecond
		}
		s, err := ParseRotationSchedule(spec, zone, opts)
		if err != nil {
			var se *ScheduleError
			if !errors.As(err, &se) || (se.Field != "spec" && se.Field != "zone") || se.Message == "" {
				t.Fatalf("ParseRotationSchedule(%q, %q): bad error %#v", spec, zone, err)
			}
			return
		}
		offset %= window
		if offset < 0 {
			offset = -offset
		}
		after := base.Add(time.Duration(offset) * time.Second)
		next := s.Next(after)
		if !next.After(after) || next.Location() != time.UTC {
			t.Fatalf("%q in %q: Next(%v) = %v", spec, zone, after, next)
		}
		got := wallGaps(s.wall)
		switch want, covered := bruteWallGaps(s, 2000); {
		case covered && !sameGaps(got, want):
			t.Fatalf("%q: wallGaps = %+v, stepping with Next = %+v", spec, got, want)
		case !covered && want.smallest < got.smallest:
			t.Fatalf("%q: wallGaps smallest %v, stepping with Next found %v", spec, got.smallest, want.smallest)
		}
		prev := after
		for _, at := range s.NextN(after, 3) {
			if !at.After(prev) {
				t.Fatalf("%q in %q: NextN(%v) not increasing at %v", spec, zone, after, at)
			}
			prev = at
		}
	})
}

func BenchmarkParseRotationSchedule(b *testing.B) {
	for _, spec := range []string{"0 * * * *", "0 3 1 * *", "*/5 * * * *"} {
		b.Run(spec, func(b *testing.B) {
			for b.Loop() {
				_, _ = ParseRotationSchedule(spec, "Europe/Berlin", ScheduleOptions{})
			}
		})
	}
}

func BenchmarkRotationScheduleNext(b *testing.B) {
	s := mustSchedule(b, "30 2 * * *", "Europe/Berlin")
	after := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		_ = s.Next(after)
	}
}

// CheckScheduleFields gives each field its own message, both at once, and
// the schedule when both are fine.
func TestCheckScheduleFields(t *testing.T) {
	cases := []struct {
		spec, zone       string
		specMsg, zoneMsg string // substrings; "" means no message
	}{
		{"", "", "", ""},
		{"  ", "", "", ""},
		{"0 3 * * *", "Europe/Berlin", "", ""},
		{"", "Europe/Berlin", "", "enter a schedule too"},
		{"0 25 * * *", "", "hour", ""},
		{"0 3 * * *", "Mars/Olympus", "", "Unknown time zone"},
		{"0 25 * * *", "Mars/Olympus", "hour", "Unknown time zone"},
	}
	for _, c := range cases {
		sched, p := CheckScheduleFields(c.spec, c.zone, ScheduleOptions{})
		for _, f := range []struct{ name, got, want string }{{"spec", p.Spec, c.specMsg}, {"zone", p.Zone, c.zoneMsg}} {
			if (f.want == "") != (f.got == "") || !strings.Contains(f.got, f.want) {
				t.Errorf("(%q, %q): %s message %q, want %q", c.spec, c.zone, f.name, f.got, f.want)
			}
		}
		if fires := !sched.Next(time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC)).IsZero(); fires != (p.OK() && strings.TrimSpace(c.spec) != "") {
			t.Errorf("(%q, %q): schedule fires = %v with problems %+v", c.spec, c.zone, fires, p)
		}
	}
}
