package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// dueRotation makes a credential of the fixture's team whose weekly
// rotation is due, runs the due check, and returns the credential and task.
func dueRotation(t *testing.T, f *fixture, name string) (models.Credential, models.RotationTaskRow) {
	t.Helper()
	ctx := context.Background()
	last := f.clock.Now().Add(-2 * 24 * time.Hour) // due this Monday 09:00 Berlin, an hour ago
	c, err := f.store.CreateCredential(ctx, modeltest.Admin, models.CredentialInput{Name: name, TeamID: f.team.ID,
		EnvironmentID: f.server.EnvironmentID, KeyType: models.KeyScopedAPIKey, ServerIDs: []uint{f.server.ID},
		OwnerID: f.users["governance"].ID, LastRotatedAt: &last, RotationSpec: "0 9 * * 1", RotationTZ: "Europe/Berlin",
		Secret: "sk_live_" + strings.Repeat("k3", 16)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RunRotationDueCheck(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := f.store.RotationTasks(ctx, models.RotationTaskFilter{Scope: models.AllTeams, CredentialID: c.ID})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("tasks of %s: %v %v", name, page.Items, err)
	}
	return c, page.Items[0]
}

func TestRotationTaskPageCompletesOnce(t *testing.T) {
	f, dbPath, logs := importFixture(t)
	cred, task := dueRotation(t, f, "stripe prod")
	gov := f.session(f.users["governance"])
	path := "/rotations/tasks/" + itoa(task.ID)

	rec := f.do(http.MethodGet, path, gov, nil)
	doc := parse(t, rec)
	if rec.Code != http.StatusOK || doc.Find(`[data-testid="rotation-form"]`).Length() != 1 {
		t.Fatalf("task page: %d, form %d", rec.Code, doc.Find(`[data-testid="rotation-form"]`).Length())
	}
	// A manager reads the task but gets no form.
	if doc := parse(t, f.do(http.MethodGet, path, f.session(f.users["manager"]), nil)); doc.Find(`[data-testid="rotation-form"]`).Length() != 0 {
		t.Error("a manager sees the completion form")
	}

	// Nothing pasted, no note: 422, nothing changed.
	rec = f.do(http.MethodPost, path+"/complete", gov, url.Values{"note": {""}})
	if rec.Code != http.StatusUnprocessableEntity || parse(t, rec).Find("#note-error").Length() != 1 {
		t.Fatalf("empty completion: %d", rec.Code)
	}
	// The same secret again: 422 on the secret field, the secret not echoed.
	old := "sk_live_" + strings.Repeat("k3", 16)
	rec = f.do(http.MethodPost, path+"/complete", gov, url.Values{"secret": {old}, "note": {"rotated"}})
	if rec.Code != http.StatusUnprocessableEntity || parse(t, rec).Find("#secret-error").Length() != 1 || strings.Contains(rec.Body.String(), old) {
		t.Fatalf("same secret: %d", rec.Code)
	}
	if v, _ := parse(t, rec).Find("#note").Html(); v != "rotated" {
		t.Errorf("note not kept: %q", v)
	}

	secret := "sk_live_" + models.RandomToken(24)
	rec = f.do(http.MethodPost, path+"/complete", gov, url.Values{"secret": {secret}, "note": {"rotated in the vendor console"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("complete: %d\n%s", rec.Code, rec.Body.String())
	}
	doc = parse(t, f.do(http.MethodGet, path, gov, nil))
	if state := doc.Find(`[data-testid="task-state"]`).Text(); !strings.Contains(state, "completed") {
		t.Fatalf("state after completion: %q", state)
	}
	after, _ := f.store.CredentialByID(context.Background(), cred.ID)
	if after.NextDueAt == nil || !after.NextDueAt.After(f.clock.Now()) || after.Last4 != secret[len(secret)-4:] {
		t.Fatalf("credential after rotation: next %v last4 %q", after.NextDueAt, after.Last4)
	}

	// Twice: 409 with a message, nothing moved.
	rec = f.do(http.MethodPost, path+"/complete", gov, url.Values{"note": {"again"}})
	if rec.Code != http.StatusConflict || !strings.Contains(parse(t, rec).Find(`[data-testid="task-message"]`).Text(), "already completed") {
		t.Fatalf("second completion: %d", rec.Code)
	}
	again, _ := f.store.CredentialByID(context.Background(), cred.ID)
	if !again.LastRotatedAt.Equal(*after.LastRotatedAt) {
		t.Fatal("a refused completion moved the last rotation")
	}

	// The pasted secret is in neither the database nor the logs.
	var stored []byte
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		data, _ := os.ReadFile(p)
		stored = append(stored, data...)
	}
	if bytes.Contains(stored, []byte(secret)) || strings.Contains(logs.String(), secret) {
		t.Fatal("the pasted secret was written to the database or the logs")
	}
	if !bytes.Contains(stored, []byte(modeltest.TestFingerprinter().Fingerprint(secret))) {
		t.Fatal("the new fingerprint is not stored (the search above proves nothing)")
	}
}

func TestRotationCallbackNeedsTheSignature(t *testing.T) {
	f := newFixture(t)
	cred, task := dueRotation(t, f, "vault-rotated key")
	post := func(body, sig string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/rotations/"+itoa(task.ID)+"/complete", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set(models.RotationSignatureHd, sig)
		}
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	body := `{"note":"rotated by vault"}`
	good, err := f.store.SignRotationCallback(cred.ID, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	otherCred, _ := dueRotation(t, f, "another key")
	foreign, _ := f.store.SignRotationCallback(otherCred.ID, []byte(body))
	for name, sig := range map[string]string{"none": "", "garbage": "sha256=00", "another credential's": foreign} {
		if rec := post(body, sig); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s signature: %d, want 401", name, rec.Code)
		}
	}
	if got, _ := f.store.RotationTaskByID(context.Background(), task.ID); got.State.Open() == false {
		t.Fatal("a refused callback changed the task")
	}
	if rec := post(`{"note":"x","extra":1}`, mustSign(t, f, cred.ID, `{"note":"x","extra":1}`)); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", rec.Code)
	}
	if rec := post(body, good); rec.Code != http.StatusOK {
		t.Fatalf("good signature: %d %s", rec.Code, rec.Body.String())
	}
	if rec := post(body, good); rec.Code != http.StatusConflict {
		t.Fatalf("replayed callback: %d, want 409", rec.Code)
	}
	got, _ := f.store.RotationTaskByID(context.Background(), task.ID)
	if got.State != models.TaskCompleted || got.Method != models.RotationByWebhook {
		t.Fatalf("task after callback: %+v", got)
	}
}

func mustSign(t *testing.T, f *fixture, credentialID uint, body string) string {
	t.Helper()
	sig, err := f.store.SignRotationCallback(credentialID, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestRotationListsAndJobsPage(t *testing.T) {
	f := newFixture(t)
	_, task := dueRotation(t, f, "stripe prod")
	manager := f.session(f.users["manager"])
	// The due task is listed under "due", not under "overdue".
	if doc := parse(t, f.do(http.MethodGet, "/rotations/tasks?state=due", manager, nil)); doc.Find(`[data-testid="rotation-task-row"]`).Length() != 1 {
		t.Fatalf("due list rows: %d", doc.Find(`[data-testid="rotation-task-row"]`).Length())
	}
	if doc := parse(t, f.do(http.MethodGet, "/rotations/tasks", manager, nil)); doc.Find(`[data-testid="rotation-task-row"]`).Length() != 0 {
		t.Fatal("a task inside its grace period is listed as overdue")
	}
	f.clock.Advance(models.DefaultRotationGrace + time.Minute)
	if _, err := f.store.RunRotationDueCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	manager = f.session(f.users["manager"]) // the first session has timed out
	doc := parse(t, f.do(http.MethodGet, "/rotations/tasks?q=stripe", manager, nil))
	if doc.Find(`[data-testid="rotation-task-row"]`).Length() != 1 || !strings.Contains(doc.Text(), "overdue") {
		t.Fatalf("overdue list: %s", doc.Find("#tasks-results").Text())
	}
	if rec := f.do(http.MethodGet, "/rotations/tasks?state=nonsense", manager, nil); rec.Code != http.StatusBadRequest {
		t.Errorf("bad state: %d, want 400", rec.Code)
	}
	csv := f.do(http.MethodGet, "/rotations/tasks?format=csv", manager, nil)
	if csv.Code != http.StatusOK || !strings.Contains(csv.Body.String(), "stripe prod") {
		t.Errorf("CSV export: %d", csv.Code)
	}
	// Complete it; the calendar then shows the next rotation within 30 days.
	if _, err := f.store.CompleteRotation(context.Background(), models.Actor{UserID: f.users["governance"].ID, Label: "gov"}, task.ID,
		models.RotationByConfirm, models.RotationCompletion{Note: "done"}); err != nil {
		t.Fatal(err)
	}
	doc = parse(t, f.do(http.MethodGet, "/rotations", manager, nil))
	if doc.Find(`[data-testid="calendar-row"]`).Length() != 1 || !strings.Contains(doc.Find(`[data-testid="calendar-table"]`).Text(), "stripe prod") {
		t.Fatalf("calendar: %s", doc.Find(`[data-testid="calendar-table"]`).Text())
	}
	other := modeltest.MustTeam(t, f.store, "growth")
	doc = parse(t, f.do(http.MethodGet, "/rotations?team="+itoa(other.ID), manager, nil))
	if doc.Find(`[data-testid="calendar-row"]`).Length() != 0 {
		t.Fatal("the team filter does not filter")
	}

	// Jobs: the admin sees the rotation due check and runs it now; the run
	// records who asked.
	admin := f.session(f.users["admin"])
	doc = parse(t, f.do(http.MethodGet, "/admin/jobs", admin, nil))
	if doc.Find(`[data-job="rotation-due-check"]`).Length() != 1 || doc.Find(`[data-testid="run-rotation-due-check"]`).Length() != 1 {
		t.Fatal("the jobs page does not offer the rotation due check")
	}
	if doc := parse(t, f.do(http.MethodGet, "/admin/jobs", f.session(f.users["auditor"]), nil)); doc.Find(`[data-testid="run-rotation-due-check"]`).Length() != 0 {
		t.Error("an auditor is offered run now")
	}
	if rec := f.do(http.MethodPost, "/admin/jobs/rotation-due-check/run", admin, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("run now: %d", rec.Code)
	}
	runs, err := f.store.JobRuns(context.Background(), "rotation-due-check", 1)
	if err != nil || len(runs) != 1 || runs[0].Trigger != "manual" || runs[0].RequestedBy != "admin@example.com" || runs[0].Outcome != models.JobOK {
		t.Fatalf("run record: %+v %v", runs, err)
	}
	if rec := f.do(http.MethodPost, "/admin/jobs/no-such-job/run", admin, nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown job: %d, want 404", rec.Code)
	}
}

func TestRotationWebhookIsSetFromTheCredentialPage(t *testing.T) {
	f := newFixture(t)
	cred, _ := dueRotation(t, f, "vault key")
	gov := f.session(f.users["governance"])
	path := "/credentials/" + itoa(cred.ID)
	if doc := parse(t, f.do(http.MethodGet, path, gov, nil)); doc.Find(`[data-testid="rotation-webhook-form"]`).Length() != 1 ||
		doc.Find(`[data-testid="rotation-card"] a[href^="/rotations/tasks/"]`).Length() != 1 {
		t.Fatal("the credential page has no rotation webhook form or no link to its open task")
	}
	// A refused URL comes back on the credential's page, kept, with its
	// message on the field.
	rec := f.do(http.MethodPost, path+"/rotation-webhook", gov, url.Values{"rotation_webhook_url": {"javascript:alert(1)"}})
	doc := parse(t, rec)
	if rec.Code != http.StatusUnprocessableEntity || doc.Find(`#rotation_webhook_url`).AttrOr("value", "") != "javascript:alert(1)" ||
		!strings.Contains(doc.Find(`#rotation_webhook_url-error`).Text(), "http(s) URL") {
		t.Fatalf("bad URL: %d, field %q, message %q", rec.Code, doc.Find(`#rotation_webhook_url`).AttrOr("value", ""), doc.Find(`#rotation_webhook_url-error`).Text())
	}
	if got, _ := f.store.CredentialByID(context.Background(), cred.ID); got.RotationWebhookURL != "" {
		t.Fatalf("a bad URL was saved: %q", got.RotationWebhookURL)
	}
	if rec := f.do(http.MethodPost, path+"/rotation-webhook", gov, url.Values{"rotation_webhook_url": {"https://vault.example.com/rotate"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", rec.Code)
	}
	if got, _ := f.store.CredentialByID(context.Background(), cred.ID); got.RotationWebhookURL != "https://vault.example.com/rotate" {
		t.Fatalf("webhook not saved: %q", got.RotationWebhookURL)
	}
}

func TestRotationComplianceReportPage(t *testing.T) {
	f := newFixture(t)
	_, task := dueRotation(t, f, "stripe prod")
	if _, err := f.store.CompleteRotation(context.Background(), models.Actor{UserID: f.users["governance"].ID, Label: "gov"}, task.ID,
		models.RotationByConfirm, models.RotationCompletion{Note: "done"}); err != nil {
		t.Fatal(err)
	}
	dueRotation(t, f, "dev key") // due now, still open: missed in the period
	manager := f.session(f.users["manager"])
	doc := parse(t, f.do(http.MethodGet, "/reports/rotations?days=30", manager, nil))
	if share := strings.TrimSpace(doc.Find(`[data-testid="on-time-share"]`).Text()); share != "50%" {
		t.Fatalf("on-time share %q, want 50%% (1 on time of 2 due)", share)
	}
	row := doc.Find(`[data-testid="rotation-compliance-row"]`)
	if row.Length() != 1 || !strings.Contains(row.Text(), "Payments") {
		t.Fatalf("rows: %s", doc.Find(`[data-testid="rotation-compliance"]`).Text())
	}
	csv := f.do(http.MethodGet, "/reports/rotations?days=30&format=csv", manager, nil)
	lines := strings.Split(strings.TrimSpace(csv.Body.String()), "\n")
	if csv.Code != http.StatusOK || len(lines) != 3 || !strings.HasPrefix(lines[1], "Payments,prod,1,0,1,0.500,0") {
		t.Fatalf("CSV %d:\n%s", csv.Code, csv.Body.String())
	}
	if rec := f.do(http.MethodGet, "/reports/rotations", f.session(f.users["governance"]), nil); rec.Code != http.StatusForbidden {
		t.Errorf("governance: %d, want 403", rec.Code)
	}
}
