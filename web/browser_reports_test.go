package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserComplianceDashboard opens the dashboard after `seed demo` and
// 90 days of history, as the org-wide auditor: the figures and the four
// trend charts render without console errors (CSP), a figure leads to its
// list, the charts keep contrast in the dark theme, and with
// COUNTERSIGN_SCREENSHOTS=<dir> it saves dashboard.png and trend-chart.png.
func TestBrowserComplianceDashboard(t *testing.T) {
	f := newFixtureEmpty(t)
	ctx := context.Background()
	const password = "demo-password-123456"
	if _, err := f.store.SeedDemo(ctx, password); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SeedDemoInventory(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.SeedHistory(ctx, 90, 3); err != nil {
		t.Fatal(err)
	}
	f.srv = f.newServer() // with the seeded people's roles loaded
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	b := newBrowser(t)
	b.signIn(t, ts.URL, "olu.auditor@example.com", password)

	b.do(t, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`nav.nav`)))
	if n := b.count(t, `nav.nav a[href="/reports"]`); n != 1 {
		t.Fatalf("%d Reports links in the navigation", n)
	}
	b.do(t, chromedp.Click(chromedp.CSS(`nav.nav a[href="/reports"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=dashboard-figures]`)))
	b.do(t, chromedp.Click(chromedp.CSS(`.range-switch a[href$="days=90"]`)), chromedp.WaitVisible(chromedp.CSS(`.range-switch a[aria-current=page][href$="days=90"]`)))
	if n := b.count(t, `[data-testid=trend-chart] svg[role=img] path.trend-line`); n != 5 {
		t.Errorf("%d trend lines, want 5 (4 charts, one with two lines)", n)
	}
	if v := b.text(t, `[data-testid=fig-time] .stat-value`); v == "—" {
		t.Error("no time to decision after the history seed")
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors (CSP?): %v", errs)
	}
	if dir := os.Getenv("COUNTERSIGN_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			if err := os.WriteFile(filepath.Join(dir, "dashboard.png"), png, 0o644); err != nil {
				t.Error(err)
			}
		} else {
			t.Errorf("dashboard screenshot: %v", err)
		}
		if png, err := chromedp.Run(b.ctx, chromedp.ScreenshotScale(chromedp.CSS(`#trend-findings`), 2)); err == nil {
			if err := os.WriteFile(filepath.Join(dir, "trend-chart.png"), png, 0o644); err != nil {
				t.Error(err)
			}
		} else {
			t.Errorf("chart screenshot: %v", err)
		}
	}

	// Dark theme: the lines keep a colour different from the card.
	b.emulateMedia(t, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	stroke, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#trend-rotation path.trend-line')).stroke + ' on ' + getComputedStyle(document.querySelector('#trend-rotation')).backgroundColor`))
	if err != nil || !strings.Contains(stroke, " on ") || strings.HasPrefix(stroke, strings.SplitN(stroke, " on ", 2)[1]) {
		t.Errorf("dark theme line colour = %q (%v)", stroke, err)
	}
	// Print: the lines are black on white.
	b.emulateMedia(t, emulation.SetEmulatedMediaParams{Media: "print"})
	if stroke, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#trend-rotation path.trend-line')).stroke`)); stroke != "rgb(0, 0, 0)" {
		t.Errorf("print line colour = %q, want black", stroke)
	}
	if shown, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('[data-testid=dashboard-filter]')).display !== 'none'`)); shown {
		t.Error("the filter form is printed")
	}
	b.emulateMedia(t, emulation.SetEmulatedMediaParams{})

	// A figure leads to the list behind it.
	b.do(t, chromedp.Click(chromedp.CSS(`[data-testid=fig-overdue]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=credentials-table]`)))
	if n := b.count(t, `[data-testid=credential-row]`); n == 0 {
		t.Error("the overdue figure leads to an empty list")
	}
	if checked := b.count(t, `input[name=overdue][checked]`); checked != 1 {
		t.Error("the credentials list does not show the overdue filter")
	}
}

// emulateMedia sets the emulated CSS media type and features.
func (b *browser) emulateMedia(t *testing.T, p emulation.SetEmulatedMediaParams) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, p); err != nil {
		t.Fatalf("emulate media: %v", err)
	}
}
