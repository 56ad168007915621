package models_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// Secrets planted in the sample files of testdata/.
const (
	sampleGitHubToken = "ghp_R8vQ2mXk4TzL9pWc7YbN3sJd6HfA1eGu5KoI"
	sampleSlackToken  = "xoxb-2214536789012-4455667788990-Qw3rTy7UiOp9AsDfGh2JkL4z"
	sampleLinearKey   = "lin_api_9fK2mQ7xR4tW8zB1nC6vH3jL5pD0sG"
	sampleOpenAIKey   = "sk-proj-Hq8Zt3Lm9Xv2Rk7Wp4Nc6Bd1Fy5Gs0Ja"
)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// secretsOf maps "slug location" to the found secret.
func secretsOf(p models.ImportPreview) map[string]models.FoundSecret {
	out := map[string]models.FoundSecret{}
	for _, s := range p.Servers {
		for _, f := range s.Secrets {
			out[s.Slug+" "+f.Location] = f
		}
	}
	return out
}

func TestParseMCPConfigSamples(t *testing.T) {
	fp := modeltest.TestFingerprinter()
	if len(sampleGitHubToken) != len("ghp_")+36 {
		t.Fatalf("sample GitHub token has %d characters", len(sampleGitHubToken))
	}
	cases := []struct {
		file       string
		servers    map[string]string // slug -> transport
		endpoints  map[string]string
		secrets    map[string]string // "slug location" -> plain secret
		plainTexts []string
	}{
		{
			file:    "claude_desktop_config.json",
			servers: map[string]string{"github": "stdio", "filesystem": "stdio", "slack": "stdio", "linear-remote": "stdio"},
			endpoints: map[string]string{
				"github":        "npx -y @modelcontextprotocol/server-github",
				"filesystem":    `npx -y @modelcontextprotocol/server-filesystem /Users/ana/Desktop /Users/ana/Downloads C:\Users\ana\Projects`,
				"linear-remote": `npx mcp-remote https://mcp.linear.app/sse?api_key=[redacted]&team=eng --header "Authorization: Bearer ${AUTH_TOKEN}"`,
			},
			secrets: map[string]string{
				"github env.GITHUB_PERSONAL_ACCESS_TOKEN": sampleGitHubToken,
				"slack env.SLACK_BOT_TOKEN":               sampleSlackToken,
				"linear-remote args[1]?api_key":           sampleLinearKey,
			},
			plainTexts: []string{sampleGitHubToken, sampleSlackToken, sampleLinearKey},
		},
		{
			file:       "vscode_mcp.json",
			servers:    map[string]string{"billing": "streamable-http", "perplexity": "stdio", "events": "sse"},
			endpoints:  map[string]string{"billing": "https://billing.example.com/mcp", "events": "https://events.example.com/sse"},
			secrets:    map[string]string{"billing headers.Authorization": sampleOpenAIKey},
			plainTexts: []string{sampleOpenAIKey},
		},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p, err := models.ParseMCPConfig(readSample(t, c.file), fp)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range p.Servers {
				got[s.Slug] = string(s.Transport)
				if want, ok := c.endpoints[s.Slug]; ok && s.Endpoint != want {
					t.Errorf("%s endpoint = %q, want %q", s.Slug, s.Endpoint, want)
				}
				if !models.ValidSlug(s.Slug) {
					t.Errorf("invalid slug %q", s.Slug)
				}
			}
			if !reflect.DeepEqual(got, c.servers) {
				t.Errorf("servers = %v, want %v", got, c.servers)
			}
			found := secretsOf(p)
			if len(found) != len(c.secrets) {
				t.Errorf("found %d secrets, want %d: %+v", len(found), len(c.secrets), found)
			}
			for where, plain := range c.secrets {
				f, ok := found[where]
				if !ok {
					t.Errorf("secret at %s not found", where)
					continue
				}
				if f.Fingerprint != fp.Fingerprint(plain) || f.Last4 != plain[len(plain)-4:] || f.Kind == "" {
					t.Errorf("secret at %s = %+v", where, f)
				}
			}
			// The preview holds no plain secret anywhere.
			js, _ := json.Marshal(p)
			for _, plain := range c.plainTexts {
				if strings.Contains(string(js), plain) || strings.Contains(string(js), plain[4:len(plain)-4]) {
					t.Errorf("the preview holds a secret: %s", js)
				}
			}
		})
	}
}

func TestParseMCPConfigKinds(t *testing.T) {
	p, err := models.ParseMCPConfig(readSample(t, "claude_desktop_config.json"), modeltest.TestFingerprinter())
	if err != nil {
		t.Fatal(err)
	}
	found := secretsOf(p)
	if k := found["github env.GITHUB_PERSONAL_ACCESS_TOKEN"].Kind; k != "GitHub token" {
		t.Errorf("kind = %q", k)
	}
	if k := found["slack env.SLACK_BOT_TOKEN"].Kind; k != "Slack bot token" {
		t.Errorf("kind = %q", k)
	}
}

func TestParseMCPConfigArgsAndURLForms(t *testing.T) {
	fp := modeltest.TestFingerprinter()
	tok := "ghp_" + strings.Repeat("aB3", 12)
	in := `{"mcpServers": {
	  "a": {"command": "server", "args": ["--token=` + tok + `", "GITHUB_TOKEN=` + tok + `", "--api-key", "s3cr3tValue9", "--port", "8080", "--verbose"]},
	  "b": {"url": "https://user:hunter2hunter2@mcp.example.com/` + tok + `/mcp?access_token=` + tok + `"},
	  "c": {"command": "server", "env": {"DB_PASSWORD": "${env:DB_PASSWORD}", "LOG_LEVEL": "debug", "API_KEY": "<your-api-key>"}}
	}}`
	p, err := models.ParseMCPConfig([]byte(in), fp)
	if err != nil {
		t.Fatal(err)
	}
	found := secretsOf(p)
	for _, where := range []string{"a args[0]", "a args[1]", "a args[3]", "b url.password", "b url.path", "b url?access_token"} {
		if _, ok := found[where]; !ok {
			t.Errorf("no secret at %s (found %v)", where, found)
		}
	}
	if len(found) != 6 {
		t.Errorf("found %d secrets, want 6: %v", len(found), found)
	}
	if want := "server --token=[redacted] GITHUB_TOKEN=[redacted] --api-key [redacted] --port 8080 --verbose"; p.Servers[0].Endpoint != want {
		t.Errorf("endpoint a = %q", p.Servers[0].Endpoint)
	}
	js, _ := json.Marshal(p)
	for _, plain := range []string{tok, "hunter2hunter2", "s3cr3tValue9"} {
		if strings.Contains(string(js), plain) {
			t.Errorf("the preview holds %q: %s", plain, js)
		}
	}
}

func TestParseMCPConfigErrors(t *testing.T) {
	fp := modeltest.TestFingerprinter()
	cases := []struct {
		name, file, input string
		path              string
		line              int
		contains          string
	}{
		{name: "trailing comma", file: "trailing_comma.json", line: 6, contains: "trailing comma"},
		{name: "args not an array", file: "args_not_array.json", path: "mcpServers.github.args", line: 5, contains: "array of strings"},
		{name: "arg not a string", file: "arg_not_string.json", path: "mcpServers.github.args[2]", line: 5, contains: "string"},
		{name: "env value not a string", file: "env_not_string.json", path: "servers.x.env.PORT", line: 5, contains: "string"},
		{name: "not JSON", input: "mcpServers:\n  github: {}", line: 1, contains: "not valid JSON"},
		{name: "top-level array", input: "[1, 2]", contains: "JSON object"},
		{name: "no servers", input: `{"globalShortcut": "x"}`, contains: "No MCP servers"},
		{name: "mcpServers not an object", input: "{\n\"mcpServers\": [1]\n}", path: "mcpServers", line: 2, contains: "object"},
		{name: "no command nor url", input: `{"mcpServers": {"x": {"env": {}}}}`, path: "mcpServers.x", contains: "command"},
		{name: "bad url", input: `{"servers": {"x": {"type": "http", "url": "ftp://x"}}}`, path: "servers.x.url", contains: "URL"},
		{name: "bad type", input: `{"servers": {"x": {"type": "grpc", "url": "https://x"}}}`, path: "servers.x.type", contains: "stdio"},
		{name: "comment", input: "{\n  // my servers\n  \"servers\": {}\n}", line: 2, contains: "comments"},
		{name: "empty", input: "  ", contains: "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(c.input)
			if c.file != "" {
				data = readSample(t, c.file)
			}
			_, err := models.ParseMCPConfig(data, fp)
			var ce *models.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a ConfigError", err)
			}
			if ce.Path != c.path || (c.line != 0 && ce.Line != c.line) || !strings.Contains(ce.Error(), c.contains) {
				t.Errorf("error = %+v (%q), want path %q line %d containing %q", ce, ce.Error(), c.path, c.line, c.contains)
			}
		})
	}
	big := []byte(`{"mcpServers": {}, "pad": "` + strings.Repeat("x", models.MaxImportSize) + `"}`)
	if _, err := models.ParseMCPConfig(big, fp); !errors.Is(err, models.ErrImportTooLarge) {
		t.Errorf("oversize: %v", err)
	}
	if _, err := models.ParseMCPConfig([]byte(`{"mcpServers": {"x": {"command": "y"}}}`), nil); !errors.Is(err, models.ErrNoFingerprinter) {
		t.Errorf("no fingerprinter: %v", err)
	}
}

func TestParseMCPConfigSlugs(t *testing.T) {
	p, err := models.ParseMCPConfig([]byte(`{"mcpServers": {"GitHub": {"command": "a"}, "github": {"command": "b"}, "★": {"command": "c"}}}`), modeltest.TestFingerprinter())
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, s := range p.Servers {
		slugs = append(slugs, s.Slug)
	}
	if want := []string{"github", "github-2", "server"}; !reflect.DeepEqual(slugs, want) {
		t.Errorf("slugs = %v, want %v", slugs, want)
	}
}

func TestParseMCPConfigNoFalsePositives(t *testing.T) {
	in := `{"mcpServers": {
	  "gh": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "-e", "GITHUB_TOOLSETS=repos,issues,pull_requests", "ghcr.io/github/github-mcp-server"],
	         "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "$GITHUB_PERSONAL_ACCESS_TOKEN", "AWS_DEFAULT_REGION": "eu-west-1", "TZ": "America/New_York"}},
	  "k8s": {"command": "npx", "args": ["mcp-server-kubernetes-readonly-mode", "mcp-server-sqlite-npx@latest", "modelcontextprotocol-server-everything"]},
	  "py": {"command": "uvx", "args": ["--from", "com.example.mcp.server.Main", "mcp_server_time.main:app", "--db-path", "~/test.db"]},
	  "ids": {"command": "srv", "env": {"PROJECT_ID": "3f1c2a9e-7b4d-4e8a-9c1f-0a2b3c4d5e6f", "SSH_KEY_PATH": "/home/ana/.ssh/id_ed25519", "API_KEY": "<your-api-key>"}}
	}}`
	p, err := models.ParseMCPConfig([]byte(in), modeltest.TestFingerprinter())
	if err != nil {
		t.Fatal(err)
	}
	if found := secretsOf(p); len(found) != 0 {
		t.Errorf("false positives: %v", found)
	}
}
