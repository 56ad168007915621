package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium binary; browser tests skip without one.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium tab that records console errors (console
// API errors, uncaught exceptions, and browser log errors such as CSP
// violations and failed loads).
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // starts the browser without a timeout
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.record(m.String())
			}
		}
	}()
	return b
}

func (b *browser) record(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, msg)
}

// consoleErrors waits briefly for late messages, then returns and clears the
// recorded errors.
func (b *browser) consoleErrors() []string {
	time.Sleep(150 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// do runs steps with a time limit.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// text returns the text of the first element matching a CSS selector.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// signIn fills and submits the sign-in form.
func (b *browser) signIn(t *testing.T, base, email, password string) {
	t.Helper()
	b.do(t,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.nav`)),
	)
}

func TestBrowserSignInAndMainPages(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	b := newBrowser(t)
	b.signIn(t, ts.URL, "admin@example.com", "correct horse battery")

	pages := []struct{ path, heading string }{
		{"/", "Overview"}, {"/admin/teams", "Teams"}, {"/admin/users", "Users"},
		{"/audit", "Audit log"}, {"/account/sessions", "Your account"},
		{"/admin/users/new", "New user"}, {"/admin/teams/new", "New team"},
	}
	for _, p := range pages {
		b.do(t, chromedp.Navigate(ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		h1 := b.text(t, `h1`)
		if !strings.Contains(h1, p.heading) {
			t.Errorf("%s: heading %q, want %q", p.path, h1, p.heading)
		}
		if errs := b.consoleErrors(); len(errs) > 0 {
			t.Errorf("%s: console errors:\n  %s", p.path, strings.Join(errs, "\n  "))
		}
	}

	// htmx: verifying the chain swaps the result in without a reload.
	b.do(t, chromedp.Navigate(ts.URL+"/audit"), chromedp.Click(chromedp.CSS(`[data-testid=verify-chain]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chain-ok]`)))
	banner := b.text(t, `[data-testid=chain-ok]`)
	if !strings.Contains(banner, "Chain intact") {
		t.Errorf("verify banner = %q", banner)
	}

	// A form with bad input keeps the input and shows a message.
	b.do(t, chromedp.Navigate(ts.URL+"/admin/teams/new"),
		chromedp.SendKeys(chromedp.CSS(`#slug`), "Not A Slug"), chromedp.SendKeys(chromedp.CSS(`#name`), "Bad"),
		chromedp.Submit(chromedp.CSS(`[data-testid=team-form]`)), chromedp.WaitVisible(chromedp.CSS(`#slug-error`)))
	value, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`#name`)))
	if err != nil {
		t.Fatal(err)
	}
	if value != "Bad" {
		t.Errorf("name not kept after a 422: %q", value)
	}
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
	if err != nil || focused != "slug" {
		t.Errorf("after a 422 the focus is on %q (%v), want the first field to fix, #slug", focused, err)
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		for _, e := range errs {
			if !strings.Contains(e, "422") { // the browser logs the 422 response itself
				t.Errorf("console error after the form: %s", e)
			}
		}
	}

	if os.Getenv("COUNTERSIGN_SCREENSHOTS") != "" {
		b.do(t, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(90))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(os.Getenv("COUNTERSIGN_SCREENSHOTS")+"/overview.png", png, 0o644)
	}
}

func TestBrowserManagerIsRefusedAdminPages(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	b := newBrowser(t)
	b.signIn(t, ts.URL, "manager@example.com", "correct horse battery")
	b.do(t, chromedp.Navigate(ts.URL+"/admin/users"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-page]`)))
	status, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=error-page]`), "data-status"))
	if err != nil {
		t.Fatal(err)
	}
	if status.Value != "403" {
		t.Errorf("manager on /admin/users: status %q, want 403", status.Value)
	}
	for _, e := range b.consoleErrors() {
		if !strings.Contains(e, "403") {
			t.Errorf("console error: %s", e)
		}
	}
}
