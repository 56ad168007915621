package models

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxImportSize is the largest MCP client configuration file accepted (1 MiB).
const MaxImportSize = 1 << 20

// ErrImportTooLarge means an imported configuration file exceeds MaxImportSize.
var ErrImportTooLarge = errors.New("the configuration file is larger than 1 MiB")

// ErrNoFingerprinter means the store has no fingerprint key, so secrets
// found in an import could not be recorded safely.
var ErrNoFingerprinter = errors.New("no fingerprint key is configured")

// ConfigError is a precise error in an imported configuration file: where
// (a line and column, and for shape errors the JSON path such as
// mcpServers.github.args[2]) and what is wrong. It never quotes a value.
type ConfigError struct {
	Path    string
	Line    int
	Column  int
	Message string
}

// Error reads like "mcpServers.github.args (line 7): must be an array of strings".
func (e *ConfigError) Error() string {
	var where []string
	if e.Path != "" {
		where = append(where, e.Path)
	}
	switch {
	case e.Line > 0 && e.Column > 0:
		where = append(where, fmt.Sprintf("line %d, column %d", e.Line, e.Column))
	case e.Line > 0:
		where = append(where, fmt.Sprintf("line %d", e.Line))
	}
	if len(where) == 0 {
		return e.Message
	}
	if e.Path != "" && e.Line > 0 {
		return fmt.Sprintf("%s (%s): %s", where[0], where[1], e.Message)
	}
	return where[0] + ": " + e.Message
}

// ImportPreview is what an import of an MCP client configuration file would
// create. It holds no secret: only fingerprints, last four characters and
// endpoints with secrets replaced by [redacted], so it may travel to the
// browser and back (signed) between preview and apply.
type ImportPreview struct {
	// ID identifies this preview; applying the same preview twice is refused.
	ID string `json:"id"`
	// Format names the shape recognised, e.g. "Claude Desktop / Cursor (mcpServers)".
	Format  string         `json:"format"`
	Servers []ImportServer `json:"servers"`
}

// ImportServer is one server entry of an imported configuration file.
type ImportServer struct {
	// Path is the entry's JSON path in the file, e.g. mcpServers.github.
	Path      string        `json:"path"`
	Slug      string        `json:"slug"`
	Name      string        `json:"name"`
	Transport Transport     `json:"transport"`
	Endpoint  string        `json:"endpoint"`
	Secrets   []FoundSecret `json:"secrets,omitempty"`
}

// FoundSecret is a secret found in plain text in a configuration file: where
// it was, what it looks like, and its keyed fingerprint. Never the secret.
type FoundSecret struct {
	// Location is relative to the server entry: env.GITHUB_TOKEN,
	// headers.Authorization, args[3], url?api_key, url.password, url.path.
	Location    string `json:"location"`
	Kind        string `json:"kind"`
	Fingerprint string `json:"fingerprint"`
	Last4       string `json:"last4"`
}

// SecretCount is the number of secrets found in the whole file.
func (p ImportPreview) SecretCount() int {
	n := 0
	for _, s := range p.Servers {
		n += len(s.Secrets)
	}
	return n
}

// ParseMCPConfig reads an MCP client configuration file: Claude Desktop's
// claude_desktop_config.json and Cursor's mcp.json ({"mcpServers": {…}}),
// VS Code's mcp.json ({"servers": {…}, "inputs": […]}) or a VS Code
// settings file ({"mcp": {"servers": {…}}}). Secrets in env, headers, args
// and URLs are fingerprinted with fp and left out of the preview.
func ParseMCPConfig(data []byte, fp *Fingerprinter) (ImportPreview, error) {
	if len(data) > MaxImportSize {
		return ImportPreview{}, ErrImportTooLarge
	}
	if fp == nil {
		return ImportPreview{}, ErrNoFingerprinter
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return ImportPreview{}, &ConfigError{Message: "The file is empty."}
	}
	if !utf8.Valid(data) {
		return ImportPreview{}, &ConfigError{Message: "The file is not UTF-8 text."}
	}
	root, err := decodeJSONTree(data)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return ImportPreview{}, ce
		}
		return ImportPreview{}, &ConfigError{Message: "This is not valid JSON: " + err.Error()}
	}
	p := &mcpParser{data: data, fp: fp, slugs: map[string]bool{}}
	if root.kind != jsonObject {
		return ImportPreview{}, p.shapeError("", root, "the file must hold a JSON object, like {\"mcpServers\": {…}}")
	}
	preview := ImportPreview{ID: RandomToken(12)}
	var formats []string
	type section struct{ path, format string }
	sections := []section{{"mcpServers", "Claude Desktop / Cursor (mcpServers)"}, {"servers", "VS Code (servers)"}}
	nodes := []*jsonNode{root.member("mcpServers"), root.member("servers")}
	if mcp := root.member("mcp"); mcp != nil && mcp.kind == jsonObject {
		sections = append(sections, section{"mcp.servers", "VS Code settings (mcp.servers)"})
		nodes = append(nodes, mcp.member("servers"))
	}
	for i, sec := range sections {
		n := nodes[i]
		if n == nil {
			continue
		}
		if n.kind != jsonObject {
			return ImportPreview{}, p.shapeError(sec.path, n, "must be an object mapping server names to their settings")
		}
		formats = append(formats, sec.format)
		for j, name := range n.keys {
			srv, err := p.server(jsonPath(sec.path, name), name, n.vals[j])
			if err != nil {
				return ImportPreview{}, err
			}
			preview.Servers = append(preview.Servers, srv)
		}
	}
	if len(formats) == 0 {
		return ImportPreview{}, &ConfigError{Message: `No MCP servers found: the file needs a "mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code mcp.json) object.`}
	}
	if len(preview.Servers) == 0 {
		return ImportPreview{}, &ConfigError{Path: sections[0].path, Message: "The file lists no server."}
	}
	preview.Format = strings.Join(formats, ", ")
	return preview, nil
}

// mcpParser holds the state of one ParseMCPConfig call.
type mcpParser struct {
	data  []byte
	fp    *Fingerprinter
	slugs map[string]bool
}

func (p *mcpParser) shapeError(path string, n *jsonNode, msg string) *ConfigError {
	line, _ := positionOf(p.data, max(n.end-1, 0))
	return &ConfigError{Path: path, Line: line, Message: msg}
}

// stringField returns an optional string member.
func (p *mcpParser) stringField(path string, entry *jsonNode, key string) (string, error) {
	n := entry.member(key)
	if n == nil || n.kind == jsonNull {
		return "", nil
	}
	if n.kind != jsonString {
		return "", p.shapeError(jsonPath(path, key), n, "must be a string, not "+jsonKindNames[n.kind])
	}
	return strings.TrimSpace(n.str), nil
}

// stringMap returns an optional object member whose values are strings, in
// file order.
func (p *mcpParser) stringMap(path string, entry *jsonNode, key string) ([]string, []string, error) {
	n := entry.member(key)
	if n == nil || n.kind == jsonNull {
		return nil, nil, nil
	}
	path = jsonPath(path, key)
	if n.kind != jsonObject {
		return nil, nil, p.shapeError(path, n, "must be an object of names to string values, not "+jsonKindNames[n.kind])
	}
	vals := make([]string, len(n.vals))
	for i, v := range n.vals {
		if v.kind != jsonString {
			return nil, nil, p.shapeError(jsonPath(path, n.keys[i]), v, "must be a string, not "+jsonKindNames[v.kind])
		}
		vals[i] = v.str
	}
	return n.keys, vals, nil
}

// server reads one server entry.
func (p *mcpParser) server(path, name string, entry *jsonNode) (ImportServer, error) {
	if entry.kind != jsonObject {
		return ImportServer{}, p.shapeError(path, entry, "must be an object with command or url")
	}
	srv := ImportServer{Path: path, Name: truncateRunes(strings.TrimSpace(name), 120), Slug: p.uniqueSlug(name)}
	if srv.Name == "" {
		srv.Name = srv.Slug
	}
	typ, err := p.stringField(path, entry, "type")
	if err != nil {
		return srv, err
	}
	command, err := p.stringField(path, entry, "command")
	if err != nil {
		return srv, err
	}
	rawURL, err := p.stringField(path, entry, "url")
	if err != nil {
		return srv, err
	}
	if rawURL == "" {
		if rawURL, err = p.stringField(path, entry, "serverUrl"); err != nil { // Windsurf
			return srv, err
		}
	}
	var args []string
	if n := entry.member("args"); n != nil && n.kind != jsonNull {
		if n.kind != jsonArray {
			return srv, p.shapeError(jsonPath(path, "args"), n, "must be an array of strings, not "+jsonKindNames[n.kind])
		}
		for i, a := range n.vals {
			if a.kind != jsonString {
				return srv, p.shapeError(fmt.Sprintf("%s[%d]", jsonPath(path, "args"), i), a, "must be a string, not "+jsonKindNames[a.kind])
			}
			args = append(args, a.str)
		}
	}
	envKeys, envVals, err := p.stringMap(path, entry, "env")
	if err != nil {
		return srv, err
	}
	hdrKeys, hdrVals, err := p.stringMap(path, entry, "headers")
	if err != nil {
		return srv, err
	}
	sc := &secretScanner{fp: p.fp}
	switch {
	case typ != "" && typ != "stdio" && typ != "http" && typ != "sse" && typ != "streamable-http" && typ != "streamableHttp":
		return srv, p.shapeError(jsonPath(path, "type"), entry.member("type"), `must be "stdio", "http" or "sse"`)
	case command != "" && (typ == "" || typ == "stdio"):
		srv.Transport = TransportStdio
		srv.Endpoint = truncateRunes(sc.commandLine(command, args), 500)
	case rawURL != "":
		srv.Transport = TransportStreamableHTTP
		if typ == "sse" {
			srv.Transport = TransportSSE
		}
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return srv, p.shapeError(jsonPath(path, "url"), entry.member("url"), "must be an http:// or https:// URL")
		}
		srv.Endpoint = truncateRunes(sc.url("url", u), 500)
	case typ == "http" || typ == "sse" || typ == "streamable-http":
		return srv, p.shapeError(path, entry, `needs a "url" for type `+typ)
	default:
		return srv, p.shapeError(path, entry, `needs a "command" (stdio) or a "url" (http, sse)`)
	}
	for i, k := range envKeys {
		sc.check(jsonPath("env", k), envVals[i], k)
	}
	for i, k := range hdrKeys {
		sc.check(jsonPath("headers", k), hdrVals[i], k)
	}
	srv.Secrets = sc.found
	return srv, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueSlug makes a valid slug of an entry name, unique within the file.
func (p *mcpParser) uniqueSlug(name string) string {
	base := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(base) > 60 {
		base = strings.TrimRight(base[:60], "-")
	}
	if base == "" {
		base = "server"
	}
	slug := base
	for n := 2; p.slugs[slug]; n++ {
		slug = fmt.Sprintf("%s-%d", base, n)
	}
	p.slugs[slug] = true
	return slug
}

// truncateRunes cuts s to at most n runes, marking the cut with "…".
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
