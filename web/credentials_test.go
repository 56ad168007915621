package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// TestPastedSecretIsNowhere records a credential through the form with a
// pasted secret, also triggers a 422 with the secret in the request, then
// greps the SQLite file, its WAL and every log line for the secret.
func TestPastedSecretIsNowhere(t *testing.T) {
	f, dbPath, logs := importFixture(t)
	gov := f.session(f.users["governance"])
	secret := "ghp_" + models.RandomToken(27)[:36]
	form := url.Values{"name": {"billing github token"}, "team": {itoa(f.team.ID)}, "environment": {itoa(f.server.EnvironmentID)},
		"key_type": {"static_api_key"}, "servers": {itoa(f.server.ID)}, "status": {"active"}, "secret": {secret}}

	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("rotation_spec", "TZ=Europe/Berlin 0 3 * * *")
	bad.Set("expires_at", "tomorrow")
	rec := f.do(http.MethodPost, "/credentials", gov, bad)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: %d", rec.Code)
	}
	doc := parse(t, rec)
	if doc.Find("#rotation_spec-error").Length() != 1 || doc.Find("#expires_at-error").Length() != 1 {
		t.Errorf("422 without a message per field:\n%s", doc.Find("form").Text())
	}
	if v, _ := doc.Find("#name").Attr("value"); v != "billing github token" {
		t.Errorf("name not kept: %q", v)
	}
	if strings.Contains(rec.Body.String(), secret) {
		t.Fatal("the 422 page sends the secret back")
	}

	rec = f.do(http.MethodPost, "/credentials", gov, form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", rec.Code, rec.Body.String())
	}
	page := f.do(http.MethodGet, rec.Header().Get("Location"), gov, nil)
	body := page.Body.String()
	if page.Code != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, secret[len(secret)-4:]) {
		t.Fatalf("credential page: %d (must show the last four, never the secret)", page.Code)
	}
	// The key type is outside the (empty) key policy: the page warns and
	// the finding is open.
	if !strings.Contains(body, "CS-006") {
		t.Error("no CS-006 warning after saving a key type the server does not allow")
	}

	fingerprint := modeltest.TestFingerprinter().Fingerprint(secret)
	var stored []byte
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		data, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		stored = append(stored, data...)
	}
	for _, needle := range []string{secret, secret[4 : len(secret)-4], base64.StdEncoding.EncodeToString([]byte(secret))} {
		if bytes.Contains(stored, []byte(needle)) {
			t.Errorf("the database or its WAL holds %q", needle)
		}
		if strings.Contains(logs.String(), needle) {
			t.Errorf("the logs hold %q", needle)
		}
	}
	if !bytes.Contains(stored, []byte(fingerprint)) {
		t.Error("the fingerprint is not stored (the search above proves nothing)")
	}
	if !strings.Contains(logs.String(), "/credentials") {
		t.Error("no request was logged (the search above proves nothing)")
	}
}

func TestCredentialPagesAndRoles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := itoa(f.credentialID())
	for role, want := range map[string]int{"manager": http.StatusOK, "approver": http.StatusOK, "auditor": http.StatusOK, "none": http.StatusForbidden} {
		if rec := f.do(http.MethodGet, "/credentials/"+id, f.session(f.users[role]), nil); rec.Code != want {
			t.Errorf("%s reads a credential: %d, want %d", role, rec.Code, want)
		}
	}
	form := url.Values{"name": {"renamed"}, "team": {itoa(f.team.ID)}, "environment": {itoa(f.server.EnvironmentID)},
		"key_type": {"short_lived_token"}, "status": {"active"}, "servers": {itoa(f.server.ID)}}
	for _, role := range []string{"manager", "approver", "auditor"} {
		if rec := f.do(http.MethodPost, "/credentials/"+id, f.session(f.users[role]), form); rec.Code != http.StatusForbidden {
			t.Errorf("%s edits a credential: %d, want 403", role, rec.Code)
		}
	}
	gov := f.session(f.users["governance"])
	if rec := f.do(http.MethodPost, "/credentials/"+id, gov, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("governance edit: %d", rec.Code)
	}
	doc := parse(t, f.do(http.MethodGet, "/credentials?q=renamed", gov, nil))
	if doc.Find(`tr[data-testid=credential-row]`).Length() != 1 {
		t.Error("search does not find the renamed credential")
	}
	for _, q := range []string{"?key_type=static_api_key", "?reused=1", "?overdue=1", "?server=999999"} {
		if n := parse(t, f.do(http.MethodGet, "/credentials"+q, gov, nil)).Find(`tr[data-testid=credential-row]`).Length(); n != 0 {
			t.Errorf("/credentials%s shows %d rows, want 0", q, n)
		}
	}
	if rec := f.do(http.MethodGet, "/credentials?format=csv", f.session(f.users["manager"]), nil); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), "renamed") {
		t.Errorf("CSV export: %d", rec.Code)
	}
	// Revoke, then the record is gone from the active list.
	if rec := f.do(http.MethodPost, "/credentials/"+id+"/revoke", gov, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if c, _ := f.store.CredentialByID(ctx, f.credentialID()); c.Status != models.CredentialRevoked {
		t.Errorf("status after revoke = %s", c.Status)
	}
	// The server page links its credentials and offers to add one.
	doc = parse(t, f.do(http.MethodGet, "/servers/"+itoa(f.server.ID), gov, nil))
	if doc.Find(`[data-testid=server-credentials] a[href="/credentials/`+id+`"]`).Length() != 1 {
		t.Error("the server page does not link its credential")
	}
	if rec := f.do(http.MethodGet, "/credentials/new?server="+itoa(f.server.ID), gov, nil); rec.Code != http.StatusOK ||
		parse(t, rec).Find(`#servers option[selected]`).Length() != 1 {
		t.Error("the new credential form does not preselect the server")
	}
}
