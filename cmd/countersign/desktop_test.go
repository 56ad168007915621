package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDesktopSignsInOnceThroughTheLink runs `countersign desktop` with a fake
// browser opener, follows the one-time link with a cookie jar, reaches the
// overview signed in, sees that the link does not work twice, and quits.
func TestDesktopSignsInOnceThroughTheLink(t *testing.T) {
	dir := t.TempDir()
	opened := make(chan string, 1)
	deps := desktopDeps{
		open:      func(url string) error { opened <- url; return nil },
		configDir: func() (string, error) { return dir, nil },
		username:  func() string { return "Ana Lopez" },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- cmdDesktop(ctx, nil, fakeEnv{}, &stdout, io.Discard, deps) }()
	var link string
	select {
	case link = <-opened:
	case err := <-done:
		t.Fatalf("desktop stopped early: %v\n%s", err, stdout.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the browser was never opened")
	}
	if !strings.HasPrefix(link, "http://127.0.0.1:") || !strings.Contains(stdout.String(), link) {
		t.Fatalf("link %q not on loopback or not printed:\n%s", link, stdout.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Ana Lopez") || !strings.Contains(page, "Desktop") ||
		!strings.Contains(page, `data-testid="quit-form"`) {
		t.Fatalf("after the link: %d %s", resp.StatusCode, resp.Request.URL)
	}
	again, err := (&http.Client{}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second use of the link: %d, want 401", again.StatusCode)
	}
	// Quit from the header stops the app cleanly (the form carries the
	// CSRF token of the page).
	token := between(page, `name="_csrf" value="`, `"`)
	base := strings.SplitN(link, "/desktop/", 2)[0]
	req, _ := http.NewRequest(http.MethodPost, base+"/desktop/quit", strings.NewReader("_csrf="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("quit: %v %v", resp, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("desktop did not stop after Quit")
	}
	if !strings.Contains(stdout.String(), "Created the local administrator ana.lopez@localhost") &&
		!strings.Contains(stdout.String(), "analopez@localhost") {
		t.Errorf("first run did not say it created the local admin:\n%s", stdout.String())
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
