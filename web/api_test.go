package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// api sends a JSON request with the session and the CSRF header.
func (f *fixture) api(method, path, role, body string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", "test-csrf-token")
	req.AddCookie(&http.Cookie{Name: "cs_csrf", Value: "test-csrf-token"})
	if role != "" {
		req.AddCookie(f.session(f.users[role]))
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func decodeJSON(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("not JSON (%d): %s", rec.Code, rec.Body.String())
	}
	return out
}

func TestInventoryAPI(t *testing.T) {
	f := newFixture(t)
	team, env := itoa(f.team.ID), itoa(f.server.EnvironmentID)

	rec := f.api(http.MethodGet, "/api/v1/openapi.json", "", "")
	doc := decodeJSON(t, rec)
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/servers", "/api/v1/servers/{id}/tools", "/api/v1/servers/{id}/key-types", "/api/v1/credentials/{id}", "/access/v1/evaluation", "/oauth/token"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("OpenAPI document lacks %s", p)
		}
	}

	server := `{"slug":"crm-prod","name":"CRM","team_id":` + team + `,"environment_id":` + env +
		`,"transport":"streamable-http","endpoint":"https://crm.example.com/mcp","status":"active","write_actions":true}`
	rec = f.api(http.MethodPost, "/api/v1/servers", "governance", server)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create server: %d %s", rec.Code, rec.Body.String())
	}
	srvID := itoa(uint(decodeJSON(t, rec)["id"].(float64)))

	bad := []struct {
		name, body string
		status     int
		field      string
	}{
		{"duplicate slug", server, http.StatusUnprocessableEntity, "slug"},
		{"unknown field", `{"slug":"x","nmae":"typo"}`, http.StatusBadRequest, ""},
		{"malformed JSON", `{"slug":`, http.StatusBadRequest, ""},
		{"unknown environment", strings.Replace(server, `"environment_id":`+env, `"environment_id":999`, 1), http.StatusUnprocessableEntity, "environment"},
		{"over 64 KiB", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, ""},
	}
	for _, b := range bad {
		rec := f.api(http.MethodPost, "/api/v1/servers", "governance", b.body)
		out := decodeJSON(t, rec)
		if rec.Code != b.status {
			t.Errorf("%s: %d, want %d (%v)", b.name, rec.Code, b.status, out)
		}
		if b.field != "" {
			if fields, _ := out["fields"].(map[string]any); fields[b.field] == nil {
				t.Errorf("%s: no message on %s: %v", b.name, b.field, out)
			}
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/servers", strings.NewReader("slug=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", "test-csrf-token")
	req.AddCookie(&http.Cookie{Name: "cs_csrf", Value: "test-csrf-token"})
	req.AddCookie(f.session(f.users["governance"]))
	rec = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form body: %d, want 415", rec.Code)
	}

	// Key policy: only delegated OAuth and short-lived tokens; a TZ= prefix
	// is a field error, never a panic.
	rec = f.api(http.MethodPost, "/api/v1/servers/"+srvID+"/key-types", "governance",
		`{"key_type":"oauth_delegated","rationale":"Acts for the signed-in agent user only.","rotation_spec":"TZ=Europe/Berlin 0 3 * * *"}`)
	if fields, _ := decodeJSON(t, rec)["fields"].(map[string]any); rec.Code != http.StatusUnprocessableEntity || fields["rotation_spec"] == nil {
		t.Fatalf("TZ= spec: %d %s", rec.Code, rec.Body.String())
	}
	for _, kt := range []string{"oauth_delegated", "short_lived_token"} {
		rec = f.api(http.MethodPost, "/api/v1/servers/"+srvID+"/key-types", "governance",
			`{"key_type":"`+kt+`","rationale":"Only per-user or per-task access to the CRM.","rotation_spec":"0 3 * * 1","rotation_tz":"Europe/Berlin"}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("allow %s: %d %s", kt, rec.Code, rec.Body.String())
		}
	}
	rec = f.api(http.MethodGet, "/api/v1/servers/"+srvID+"/key-types", "manager", "")
	if items, _ := decodeJSON(t, rec)["items"].([]any); len(items) != 2 {
		t.Errorf("key policy = %s", rec.Body.String())
	}

	// A static key is accepted (CS-006 will show); the secret never comes back.
	secret := "sk-live-" + strings.Repeat("Zx9", 10)
	rec = f.api(http.MethodPost, "/api/v1/credentials", "governance", `{"name":"crm static key","team_id":`+team+
		`,"environment_id":`+env+`,"key_type":"static_api_key","server_ids":[`+srvID+`],"secret":"`+secret+`"}`)
	if rec.Code != http.StatusCreated || strings.Contains(rec.Body.String(), secret) {
		t.Fatalf("create credential: %d %s", rec.Code, rec.Body.String())
	}
	cred := decodeJSON(t, rec)
	if cred["last4"] != secret[len(secret)-4:] {
		t.Errorf("last4 = %v", cred["last4"])
	}
	credID := itoa(uint(cred["id"].(float64)))
	rec = f.api(http.MethodGet, "/api/v1/credentials?server="+srvID, "auditor", "")
	if decodeJSON(t, rec)["total"] != float64(1) {
		t.Errorf("list credentials by server: %s", rec.Body.String())
	}
	if rec = f.api(http.MethodGet, "/api/v1/servers/"+srvID+"/tools", "approver", ""); rec.Code != http.StatusOK {
		t.Errorf("tools: %d", rec.Code)
	}
	rec = f.api(http.MethodPost, "/api/v1/servers/"+srvID+"/tools", "governance",
		`{"tools":[{"name":"delete_customer","annotations":{"destructiveHint":true}}]}`)
	if rec.Code != http.StatusOK || decodeJSON(t, rec)["added"] != float64(1) {
		t.Errorf("sync tools: %d %s", rec.Code, rec.Body.String())
	}

	// Managers read but do not change; approvers do not edit the inventory.
	if rec := f.api(http.MethodPost, "/api/v1/servers", "manager", server); rec.Code != http.StatusForbidden {
		t.Errorf("manager creates a server: %d", rec.Code)
	}
	if rec := f.api(http.MethodPut, "/api/v1/credentials/"+credID, "approver", `{"name":"x"}`); rec.Code != http.StatusForbidden {
		t.Errorf("approver edits a credential: %d", rec.Code)
	}
	if rec := f.api(http.MethodGet, "/api/v1/servers", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("signed out: %d", rec.Code)
	}
	if rec := f.api(http.MethodDelete, "/api/v1/credentials/"+credID, "governance", ""); rec.Code != http.StatusNoContent {
		t.Errorf("delete credential: %d %s", rec.Code, rec.Body.String())
	}
}
