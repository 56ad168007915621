package web_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserScheduleMessageOnce: on the key type form, a bad schedule is
// reported once, on its field, whether typed (the live check) or submitted
// (the re-rendered form and the preview it loads); fixing it as you type
// clears the message and the field's aria-invalid, and lists the due times.
func TestBrowserScheduleMessageOnce(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	b := newBrowser(t)
	b.signIn(t, ts.URL, "governance@example.com", "correct horse battery")
	form := ts.URL + "/servers/" + itoa(f.server.ID) + "/key-types/new"
	shownOnce := func(when string) {
		t.Helper()
		msg, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector('#rotation_spec-error .field-error') || {}).textContent || ''`))
		if msg = strings.TrimSpace(msg); err != nil || !strings.Contains(msg, "hour") {
			t.Fatalf("%s: message on the field = %q (%v)", when, msg, err)
		}
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.body.innerText.split(`+strconv.Quote(msg)+`).length - 1`))
		if err != nil || n != 1 {
			t.Errorf("%s: the message is shown %d times (%v), want once", when, n, err)
		}
		invalid, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('rotation_spec').getAttribute('aria-invalid') || ''`))
		if err != nil || invalid != "true" {
			t.Errorf("%s: aria-invalid = %q (%v)", when, invalid, err)
		}
	}

	// Typed.
	b.do(t, chromedp.Navigate(form), chromedp.WaitVisible(chromedp.CSS(`[data-testid=key-type-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#rotation_spec`), "0 25 * * *"),
		// Each keystroke may be checked: wait for the check of the whole value.
		chromedp.Poll[chromedp.Void](`document.querySelector('fieldset').textContent.includes('"25"')`))
	shownOnce("typed")
	b.do(t, chromedp.Evaluate[chromedp.Void](`document.getElementById('rotation_spec').value = ''`), chromedp.SendKeys(chromedp.CSS(`#rotation_spec`), "0 3 * * *"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#schedule-preview li time').length === 5 && `+
			`document.querySelector('#rotation_spec-error').textContent.trim() === ''`))
	if invalid, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById('rotation_spec').hasAttribute('aria-invalid')`)); err != nil || invalid {
		t.Errorf("fixed schedule still marked invalid (%v)", err)
	}

	// Submitted.
	b.do(t, chromedp.Navigate(form), chromedp.WaitVisible(chromedp.CSS(`[data-testid=key-type-form]`)),
		chromedp.SetValue(chromedp.CSS(`#key_type`), "scoped_api_key"),
		chromedp.SetValue(chromedp.CSS(`#rotation_spec`), "0 25 * * *"),
		chromedp.SendKeys(chromedp.CSS(`#rationale`), "Billing rotates monthly, by contract."),
		chromedp.Submit(chromedp.CSS(`[data-testid=key-type-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=form-errors]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=schedule-preview]`)))
	shownOnce("submitted")
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
	if err != nil || focused != "rotation_spec" {
		t.Errorf("after a 422 the focus is on %q (%v), want #rotation_spec", focused, err)
	}
	for _, e := range b.consoleErrors() {
		if !strings.Contains(e, "422") {
			t.Errorf("console error: %s", e)
		}
	}
}
