package web_test

import (
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestZZTour(t *testing.T) {
	dir := os.Getenv("TOUR")
	if dir == "" {
		t.Skip()
	}
	f := newFixture(t)
	f.holdCall("support-bot", "ana@example.com", `{"invoice":"INV-7","amount":120}`)
	f.grantID()
	f.ruleID()
	f.channelID()
	f.failedOutboxID()
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	b := newBrowser(t)
	b.signIn(t, ts.URL, "admin@example.com", "correct horse battery")
	for name, path := range map[string]string{"queue": "/reviews", "grants": "/grants", "clients": "/admin/clients", "clientnew": "/admin/clients/new",
		"notif": "/admin/notifications", "rulenew": "/admin/review-rules/new", "ruletest": "/admin/review-rules?test_server=billing-prod&test_tool=wire_transfer&test_subject=bot&test_arguments=%7B%22a%22%3A1%7D",
		"notifnew": "/admin/notifications/new"} {
		b.do(t, chromedp.Navigate(ts.URL+path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(dir+"/"+name+".png", png, 0o644)
		}
	}
	b.do(t, chromedp.Navigate(ts.URL+"/admin/clients/new"), chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "support gateway"), chromedp.SetValue(chromedp.CSS(`#team`), itoa(f.team.ID)),
		chromedp.Submit(chromedp.CSS(`[data-testid=client-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=client-secret]`)))
	if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(dir+"/secret.png", png, 0o644)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
