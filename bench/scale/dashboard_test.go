package scale

import (
	"context"
	"fmt"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
)

// TestDashboardScaleReport prints p50 and p95 server time, and the median
// CPU time of a request, of the compliance dashboard (40 requests after 3
// warm-ups) with each trend range and with team and environment filters —
// computed on every request (cache off), and as served in production,
// where a view reuses the same filter's dashboard while nothing changed
// for up to a minute — and the time of one compliance-snapshot run. When
// the database has fewer than 365 days of organisation snapshots it first
// fills them (copies of today's figures), so that the 365-day charts draw
// a full year.
func TestDashboardScaleReport(t *testing.T) {
	e := openWith(t, func(o *models.Options) { o.DashboardCacheTTL = -1 })
	ctx := context.Background()
	start := time.Now()
	res, err := e.store.TakeComplianceSnapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("compliance-snapshot job: %d rows (organisation + teams) in %.0f ms\n", res.Rows, ms(time.Since(start)))
	if err := fillYear(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	var team models.Team
	if err := e.store.RawForTest(ctx).Where("slug = ?", "scale-team-00").First(&team).Error; err != nil {
		t.Fatal(err)
	}
	tid := fmt.Sprint(team.ID)
	cached := open(t)
	for _, run := range []struct {
		name string
		e    *env
	}{{"computed every time", e}, {"with the dashboard cache", cached}} {
		fmt.Println(run.name + ":")
		for _, p := range []string{"/reports", "/reports?days=90", "/reports?days=365", "/reports?team=" + tid,
			"/reports?environment=3", "/reports?team=" + tid + "&environment=3&days=365"} {
			for range 3 {
				run.e.get(t, p)
			}
			var ds, cpu []time.Duration
			for range 40 {
				c := processCPU()
				ds = append(ds, run.e.get(t, p))
				cpu = append(cpu, processCPU()-c)
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			sort.Slice(cpu, func(i, j int) bool { return cpu[i] < cpu[j] })
			fmt.Printf("  %-53s p50 %7.2f ms  p95 %7.2f ms  CPU p50 %7.2f ms\n", p, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), ms(cpu[len(cpu)/2]))
		}
	}
}

// processCPU is the CPU time (user and system, all threads) this process
// has used: per request, it is the work done, which unlike the wall time
// does not grow when other processes share the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fillYear gives every day of the last year an organisation snapshot (a
// copy of the newest) where none exists.
func fillYear(ctx context.Context, store *models.Store) error {
	db := store.RawForTest(ctx)
	var last models.ComplianceSnapshot
	if err := db.Where("team_id = 0").Order("day DESC").First(&last).Error; err != nil {
		return err
	}
	day, _ := time.Parse(time.DateOnly, last.Day)
	var rows []models.ComplianceSnapshot
	for i := 1; i <= 365; i++ {
		r := last
		r.ID, r.Day = 0, day.AddDate(0, 0, -i).Format(time.DateOnly)
		var n int64
		db.Model(&models.ComplianceSnapshot{}).Where("team_id = 0 AND day = ?", r.Day).Count(&n)
		if n == 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return db.CreateInBatches(&rows, 200).Error
}
