package views

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/countersign/countersign/models"
)

// TrendPoint is one day's value of a trend line.
type TrendPoint struct {
	Day   time.Time
	Value float64
}

// TrendLine is one series of a trend chart. Class picks its stroke (trend-1,
// trend-2: colour from CSS variables, dashed in print).
type TrendLine struct {
	Label  string
	Class  string
	Points []TrendPoint
}

// TrendChart is a server-rendered SVG line chart of daily values.
type TrendChart struct {
	ID      string
	Title   string
	Unit    string // what the y axis counts, e.g. "% of scheduled credentials"
	Percent bool   // values are shares in [0, 1], drawn as 0–100 %
	From    time.Time
	To      time.Time
	Lines   []TrendLine
}

// Chart geometry (viewBox units).
const (
	trendW, trendH         = 480, 200
	trendLeft, trendRight  = 44, 12
	trendTop, trendBottom  = 12, 30
	trendPlotW, trendPlotH = trendW - trendLeft - trendRight, trendH - trendTop - trendBottom
	trendXAxisY            = trendTop + trendPlotH
	trendDay               = 24 * time.Hour
)

type chartTick struct {
	Pos   int
	Label string
}

type chartPath struct {
	Class  string
	D      string
	LastX  int
	LastY  int
	HasDot bool
}

// ViewBox is the SVG viewBox attribute.
func (c TrendChart) ViewBox() string { return fmt.Sprintf("0 0 %d %d", trendW, trendH) }

// top is the value at the top of the y axis: 100 % for shares, otherwise a
// round number at or above the largest value (at least 1).
func (c TrendChart) top() float64 {
	if c.Percent {
		return 1
	}
	m := 0.0
	for _, l := range c.Lines {
		for _, p := range l.Points {
			m = math.Max(m, p.Value)
		}
	}
	if m <= 1 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*mag >= m {
			return f * mag
		}
	}
	return 10 * mag
}

func (c TrendChart) format(v float64) string {
	if c.Percent {
		return fmt.Sprintf("%.0f%%", v*100)
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func (c TrendChart) days() int { return max(int(c.To.Sub(c.From)/trendDay), 1) }

func (c TrendChart) x(day time.Time) int {
	i := float64(day.Sub(c.From) / trendDay)
	return trendLeft + int(math.Round(i*float64(trendPlotW)/float64(c.days())))
}

func (c TrendChart) y(v float64) int {
	return trendTop + int(math.Round(float64(trendPlotH)*(1-v/c.top())))
}

// YTicks are the y axis grid lines and labels: 0, half and top.
func (c TrendChart) YTicks() []chartTick {
	top := c.top()
	return []chartTick{{c.y(0), c.format(0)}, {c.y(top / 2), c.format(top / 2)}, {c.y(top), c.format(top)}}
}

// XTicks label the first, middle and last day.
func (c TrendChart) XTicks() []chartTick {
	mid := c.From.Add(time.Duration(c.days()/2) * trendDay)
	return []chartTick{{c.x(c.From), c.From.Format("2 Jan")}, {c.x(mid), mid.Format("2 Jan")}, {c.x(c.To), c.To.Format("2 Jan 2006")}}
}

// Paths are the lines, broken where a day has no snapshot, each with a dot
// on its last point.
func (c TrendChart) Paths() []chartPath {
	var out []chartPath
	for _, l := range c.Lines {
		var b strings.Builder
		var prev time.Time
		p := chartPath{Class: l.Class}
		for i, pt := range l.Points {
			cmd := "L"
			if i == 0 || pt.Day.Sub(prev) > trendDay {
				cmd = "M"
			}
			p.LastX, p.LastY, p.HasDot = c.x(pt.Day), c.y(pt.Value), true
			fmt.Fprintf(&b, "%s%d %d ", cmd, p.LastX, p.LastY)
			prev = pt.Day
		}
		p.D = strings.TrimSpace(b.String())
		out = append(out, p)
	}
	return out
}

// Description is the chart's text alternative: per line, the latest value
// and the lowest and highest of the period.
func (c TrendChart) Description() string {
	parts := []string{fmt.Sprintf("%s, daily from %s to %s.", c.Unit, c.From.Format("2 Jan 2006"), c.To.Format("2 Jan 2006"))}
	for _, l := range c.Lines {
		if len(l.Points) == 0 {
			parts = append(parts, l.Label+": no snapshot in this period.")
			continue
		}
		lo, hi := l.Points[0].Value, l.Points[0].Value
		for _, p := range l.Points {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
		last := l.Points[len(l.Points)-1]
		parts = append(parts, fmt.Sprintf("%s: %s on %s (first %s on %s); lowest %s, highest %s.", l.Label, c.format(last.Value),
			last.Day.Format("2 Jan"), c.format(l.Points[0].Value), l.Points[0].Day.Format("2 Jan"), c.format(lo), c.format(hi)))
	}
	return strings.Join(parts, " ")
}

// Rows are the chart's data as table rows: the day, then each line's value
// ("—" where a line has no value that day).
func (c TrendChart) Rows() [][]string {
	byDay := map[string][]string{}
	var order []string
	for i, l := range c.Lines {
		for _, p := range l.Points {
			k := p.Day.Format(time.DateOnly)
			if _, ok := byDay[k]; !ok {
				byDay[k] = make([]string, len(c.Lines))
				for j := range byDay[k] {
					byDay[k][j] = "—"
				}
				order = append(order, k)
			}
			byDay[k][i] = c.format(p.Value)
		}
	}
	out := make([][]string, 0, len(order))
	for _, k := range order {
		out = append(out, append([]string{k}, byDay[k]...))
	}
	return out
}

// DashboardTrends builds the dashboard's trend charts from daily snapshots.
func DashboardTrends(snaps []models.ComplianceSnapshot, from, to time.Time) []TrendChart {
	line := func(label, class string, v func(models.ComplianceSnapshot) (float64, bool)) TrendLine {
		l := TrendLine{Label: label, Class: class}
		for _, s := range snaps {
			day, err := time.Parse(time.DateOnly, s.Day)
			if err != nil {
				continue
			}
			if val, ok := v(s); ok {
				l.Points = append(l.Points, TrendPoint{Day: day, Value: val})
			}
		}
		return l
	}
	from, to = from.UTC().Truncate(trendDay), to.UTC().Truncate(trendDay)
	return []TrendChart{
		{ID: "trend-rotation", Title: "Rotation compliance", Unit: "Share of scheduled credentials within their rotation policy (%)", Percent: true, From: from, To: to,
			Lines: []TrendLine{line("Within policy", "trend-1", func(s models.ComplianceSnapshot) (float64, bool) { return s.RotationCompliance(), true })}},
		{ID: "trend-findings", Title: "Open findings", Unit: "Open posture findings (count)", From: from, To: to,
			Lines: []TrendLine{
				line("All severities", "trend-1", func(s models.ComplianceSnapshot) (float64, bool) { return float64(s.OpenFindings()), true }),
				line("Critical and high", "trend-2", func(s models.ComplianceSnapshot) (float64, bool) {
					return float64(s.FindingsCritical + s.FindingsHigh), true
				})}},
		{ID: "trend-static", Title: "Static keys on sensitive servers", Unit: "Share of credentials on sensitive servers that are static API keys (%)", Percent: true, From: from, To: to,
			Lines: []TrendLine{line("Static API keys", "trend-1", func(s models.ComplianceSnapshot) (float64, bool) { return s.StaticShare(), s.OnSensitive > 0 })}},
		{ID: "trend-reviews", Title: "Reviews decided within the deadline", Unit: "Share of decided step-up reviews of the previous 30 days decided by their deadline (%)", Percent: true, From: from, To: to,
			Lines: []TrendLine{line("Within the deadline", "trend-1", func(s models.ComplianceSnapshot) (float64, bool) {
				return s.WithinDeadlineShare(), s.ReviewsDecided > 0
			})}},
	}
}
