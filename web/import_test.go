package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web"
)

// sampleToken is the GitHub token planted in models/testdata/claude_desktop_config.json.
const sampleToken = "ghp_R8vQ2mXk4TzL9pWc7YbN3sJd6HfA1eGu5KoI"

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// importFixture is a fixture on a SQLite file whose path is known, with
// every log line (server and store, debug level) captured.
func importFixture(t *testing.T) (*fixture, string, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := modeltest.NewClock()
	path := filepath.Join(t.TempDir(), "countersign.db")
	store, err := models.Open(context.Background(), models.Options{DSN: path, Now: clock.Now, Argon2: modeltest.CheapArgon2,
		Fingerprinter: modeltest.TestFingerprinter(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, store, clock)
	f.srv, err = web.New(context.Background(), web.Config{Version: "test", Now: clock.Now}, store, log)
	if err != nil {
		t.Fatal(err)
	}
	return f, path, logs
}

// upload posts a multipart form with an optional file.
func (f *fixture) upload(path string, cookie *http.Cookie, fields map[string]string, fileName string, file []byte) *httptest.ResponseRecorder {
	f.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("_csrf", "test-csrf-token")
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if fileName != "" {
		part, _ := w.CreateFormFile("file", fileName)
		part.Write(file)
	}
	w.Close()
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: "cs_csrf", Value: "test-csrf-token"})
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func TestImportClaudeDesktopConfigKeepsNoSecret(t *testing.T) {
	f, dbPath, logs := importFixture(t)
	sample, err := os.ReadFile(filepath.Join("..", "models", "testdata", "claude_desktop_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := f.store.EnvironmentByName(context.Background(), "dev")
	gov := f.session(f.users["governance"])
	target := map[string]string{"team": itoa(f.team.ID), "environment": itoa(dev.ID)}

	if rec := f.do(http.MethodGet, "/import", gov, nil); rec.Code != http.StatusOK {
		t.Fatalf("GET /import: %d", rec.Code)
	}
	rec := f.upload("/import/preview", gov, target, "claude_desktop_config.json", sample)
	if rec.Code != http.StatusOK {
		t.Fatalf("preview: status %d\n%s", rec.Code, rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), sampleToken) {
		t.Fatal("the preview page sends the secret back to the browser")
	}
	doc := parse(t, rec)
	if doc.Find(`[data-testid=import-secret-warning]`).Length() != 1 {
		t.Error("no warning about exposed secrets")
	}
	if n := doc.Find(`[data-testid=import-servers] tbody tr`).Length(); n != 4 {
		t.Errorf("preview lists %d servers, want 4", n)
	}
	if !strings.Contains(doc.Find(`[data-testid=import-secrets]`).Text(), "…"+sampleToken[len(sampleToken)-4:]) {
		t.Error("the last four characters of the token are not shown")
	}
	envelope, _ := doc.Find(`input[name=envelope]`).Attr("value")
	sig, _ := doc.Find(`input[name=sig]`).Attr("value")

	// A tampered preview is refused, and creates nothing.
	rec = f.do(http.MethodPost, "/import/apply", gov, url.Values{"envelope": {envelope + "x"}, "sig": {sig}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("tampered apply: status %d", rec.Code)
	}
	// Another user holding the same role cannot apply this user's preview.
	other := modeltest.MustUser(t, f.store, "gov2@example.com", models.RoleGovernance, f.team.ID)
	f.srv.Authorizer().ReloadIfChanged(context.Background())
	if rec := f.do(http.MethodPost, "/import/apply", f.session(other), url.Values{"envelope": {envelope}, "sig": {sig}}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("apply by another user: status %d", rec.Code)
	}

	rec = f.do(http.MethodPost, "/import/apply", gov, url.Values{"envelope": {envelope}, "sig": {sig}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/servers?status=draft" {
		t.Fatalf("apply: status %d to %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	// Applying twice is refused.
	if rec := f.do(http.MethodPost, "/import/apply", gov, url.Values{"envelope": {envelope}, "sig": {sig}}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("second apply: status %d", rec.Code)
	}

	srv, err := f.store.ServerBySlug(context.Background(), "github")
	if err != nil || srv.Status != models.ServerDraft {
		t.Fatalf("github server: %+v %v", srv, err)
	}
	creds, err := f.store.CredentialsOfServer(context.Background(), srv.ID)
	if err != nil || len(creds) != 1 {
		t.Fatalf("credentials: %+v %v", creds, err)
	}
	fingerprint := modeltest.TestFingerprinter().Fingerprint(sampleToken)
	if creds[0].ExposedIn == "" || creds[0].Status != models.CredentialActive || creds[0].Fingerprint != fingerprint {
		t.Errorf("credential = %+v (ExposedIn must be set: it raises CS-010)", creds[0])
	}
	// The apply recomputed findings: CS-010 is open on the exposed credential.
	cs010, err := f.store.Findings(context.Background(), models.FindingFilter{Scope: models.TeamScope{All: true}, RuleID: "CS-010",
		ObjectType: "credential", ObjectID: creds[0].ID})
	if err != nil || cs010.Total != 1 || cs010.Items[0].Severity != models.SeverityCritical {
		t.Fatalf("CS-010 findings of the imported credential: %d (%v)", cs010.Total, err)
	}
	if page := f.do(http.MethodGet, "/findings?rule=CS-010", gov, nil); !strings.Contains(page.Body.String(), "NHI2") {
		t.Error("the findings page does not show CS-010 with its NHI2 mapping")
	}

	// The token is nowhere: not in the database file, its WAL, or the logs.
	var stored []byte
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		data, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(sampleToken)) || bytes.Contains(data, []byte(sampleToken[4:len(sampleToken)-4])) {
			t.Errorf("%s holds the token", filepath.Base(p))
		}
		stored = append(stored, data...)
	}
	if !bytes.Contains(stored, []byte(fingerprint)) {
		t.Error("the fingerprint is not in the database")
	}
	if strings.Contains(logs.String(), sampleToken[4:len(sampleToken)-4]) {
		t.Error("the logs hold the token")
	}
	if !strings.Contains(logs.String(), "/import/apply") {
		t.Error("the log buffer captured no request (the check above proves nothing)")
	}
}

func TestImportErrorsKeepChoicesNotSecrets(t *testing.T) {
	f, _, logs := importFixture(t)
	dev, _ := f.store.EnvironmentByName(context.Background(), "dev")
	gov := f.session(f.users["governance"])
	target := func(extra map[string]string) map[string]string {
		m := map[string]string{"team": itoa(f.team.ID), "environment": itoa(dev.ID)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	broken := "{\n  \"mcpServers\": {\n    \"github\": {\"command\": \"npx\", \"env\": {\"GITHUB_TOKEN\": \"" + sampleToken + "\"},}\n  }\n}"
	cases := []struct {
		name     string
		fields   map[string]string
		file     []byte
		contains []string
	}{
		{"malformed paste", target(map[string]string{"config": broken}), nil, []string{"line 3", "trailing comma", "not kept"}},
		{"not JSON", target(map[string]string{"config": "mcpServers: {}"}), nil, []string{"not valid JSON", "line 1"}},
		{"args not an array", target(map[string]string{"config": `{"mcpServers": {"x": {"command": "y", "args": "z"}}}`}), nil, []string{"mcpServers.x.args", "array of strings"}},
		{"oversize file", target(nil), bytes.Repeat([]byte(" "), models.MaxImportSize+10), []string{"larger than 1 MiB"}},
		{"nothing", target(nil), nil, []string{"Choose a configuration file"}},
		{"no team", map[string]string{"config": broken}, nil, []string{"Choose the team", "not kept"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := ""
			if c.file != nil {
				name = "big.json"
			}
			rec := f.upload("/import/preview", gov, c.fields, name, c.file)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", rec.Code)
			}
			body := rec.Body.String()
			if strings.Contains(body, sampleToken) {
				t.Error("the answer holds the pasted secret")
			}
			doc := parse(t, rec)
			if v := doc.Find(`textarea[name=config]`).Text(); v != "" {
				t.Errorf("pasted text kept: %q", v)
			}
			// Each message is on its field, once, and the field is
			// marked invalid and described by it.
			msg := doc.Find(`main .field-error`).Text()
			for _, want := range c.contains {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			main := squash(doc.Find("main").Text())
			doc.Find(`main .field-error`).Each(func(_ int, e *goquery.Selection) {
				if n := strings.Count(main, squash(e.Text())); n != 1 {
					t.Errorf("%q is shown %d times", squash(e.Text()), n)
				}
				if field := doc.Find(`[aria-describedby~="` + e.AttrOr("id", "-") + `"]`); field.AttrOr("aria-invalid", "") != "true" {
					t.Errorf("%q is tied to no invalid field", squash(e.Text()))
				}
			})
			if c.fields["team"] != "" {
				if v, _ := doc.Find(`select[name=environment] option[selected]`).Attr("value"); v != itoa(dev.ID) {
					t.Errorf("environment choice not kept: %q", v)
				}
			}
		})
	}
	if strings.Contains(logs.String(), sampleToken[4:len(sampleToken)-4]) {
		t.Error("the logs hold the token")
	}
}
