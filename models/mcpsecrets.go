package models

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a secret in an endpoint or command line.
const Redacted = "[redacted]"

// secretScanner finds secrets in the values of one server entry and keeps
// only their fingerprints.
type secretScanner struct {
	fp    *Fingerprinter
	found []FoundSecret
}

// referencePattern matches VS Code / Cursor variable references such as
// ${input:token}, ${env:GITHUB_TOKEN} or ${workspaceFolder}: they name a
// secret kept elsewhere and are not secrets themselves.
var referencePattern = regexp.MustCompile(`\$\{[^}]*\}`)

// wholeReference matches a value that is only a shell-style reference to an
// environment variable: $GITHUB_TOKEN, %GITHUB_TOKEN%.
var wholeReference = regexp.MustCompile(`^(\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%)$`)

// tokenLike keeps identifiers out of the high-entropy secrets: package and
// module names, variable names and word lists are long and varied, but
// made of words. A token has a long run of letters mixed with digits (or of
// mixed-case letters, as in base64).
func tokenLike(v string) bool {
	for _, part := range strings.FieldsFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		classes := charClasses(part)
		hasDigit := strings.ContainsAny(part, "0123456789")
		if len(part) >= 16 && classes >= 2 && hasDigit || len(part) >= 20 && classes >= 2 {
			return true
		}
	}
	return false
}

// check records value as a secret found at location when it looks like one.
// name is the setting that holds it (an env variable, a header, a flag),
// which makes a weaker value count when it is named like a secret.
func (s *secretScanner) check(location, value, name string) bool {
	candidate := strings.TrimSpace(referencePattern.ReplaceAllString(value, ""))
	if candidate == "" {
		return false
	}
	if wholeReference.MatchString(candidate) {
		return false
	}
	kind, ok := DetectSecret(candidate)
	if ok && kind == "high-entropy value" && !tokenLike(candidate) {
		ok = false
	}
	bare := stripAuthScheme(candidate)
	if !ok && secretName(name) && plausibleSecret(bare) {
		kind, ok = "value of a setting named like a secret", true
	}
	if !ok {
		return false
	}
	s.found = append(s.found, FoundSecret{Location: location, Kind: kind,
		Fingerprint: s.fp.Fingerprint(bare), Last4: Last4(bare)})
	return true
}

// stripAuthScheme removes "Bearer ", "Basic " or "token " so that the token
// itself is fingerprinted, and matches the same token recorded elsewhere.
func stripAuthScheme(v string) string {
	for _, scheme := range []string{"bearer ", "basic ", "token "} {
		if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
			return strings.TrimSpace(v[len(scheme):])
		}
	}
	return v
}

// secretWords are the parts of a setting name that say it holds a secret.
var secretWords = []string{"token", "secret", "password", "passwd", "apikey", "accesskey", "privatekey", "authorization", "credential", "cookie"}

// secretName reports whether a setting name (GITHUB_TOKEN, X-API-Key,
// --api-key, apiKey) says it holds a secret.
func secretName(name string) bool {
	lower := strings.ToLower(name)
	flat := strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(lower)
	for _, w := range secretWords {
		if strings.Contains(flat, w) {
			return true
		}
	}
	for _, part := range strings.FieldsFunc(lower, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }) {
		switch part {
		case "key", "pat", "auth", "pwd", "pass":
			return true
		}
	}
	return false
}

// plausibleSecret keeps placeholders, paths, URLs, numbers and words out of
// the secrets found by name alone.
func plausibleSecret(v string) bool {
	lower := strings.ToLower(v)
	if len(v) < 8 || strings.ContainsAny(v, " \t\n<>") || looksLikePathOrURL(v) {
		return false
	}
	for _, p := range []string{"your", "xxxx", "changeme", "placeholder", "example", "replace", "insert", "todo", "redacted"} {
		if strings.Contains(lower, p) {
			return false
		}
	}
	return strings.Trim(lower, "0123456789.") != "" && strings.Trim(lower, "abcdefghijklmnopqrstuvwxyz") != ""
}

var (
	envAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	headerArg     = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*):\s*(.+)$`)
)

// commandLine rebuilds a stdio server's command line with every secret
// argument replaced by [redacted]: plain values, --flag=VALUE, KEY=VALUE,
// "Header: value" (mcp-remote --header) and URLs with secrets in them.
func (s *secretScanner) commandLine(command string, args []string) string {
	parts := []string{quoteArg(command)}
	for i, a := range args {
		loc := fmt.Sprintf("args[%d]", i)
		out := a
		switch {
		case strings.Contains(a, "://") && !strings.ContainsAny(a, " \t"):
			if u, err := url.Parse(a); err == nil && u.Host != "" {
				out = s.url(loc, u)
			}
		case strings.HasPrefix(a, "-") && strings.Contains(a, "="):
			flag, val, _ := strings.Cut(a, "=")
			if s.check(loc, val, flag) {
				out = flag + "=" + Redacted
			}
		case envAssignment.MatchString(a):
			key, val, _ := strings.Cut(a, "=")
			if s.check(loc, val, key) {
				out = key + "=" + Redacted
			}
		case headerArg.MatchString(a):
			m := headerArg.FindStringSubmatch(a)
			if s.check(loc, m[2], m[1]) {
				out = m[1] + ": " + Redacted
			}
		default:
			prev := ""
			if i > 0 && strings.HasPrefix(args[i-1], "-") {
				prev = args[i-1]
			}
			if !strings.HasPrefix(a, "-") && s.check(loc, a, prev) {
				out = Redacted
			}
		}
		parts = append(parts, quoteArg(out))
	}
	return strings.Join(parts, " ")
}

// url returns u as a string with secrets removed: the password of its user
// info, query values that look like (or are named like) secrets, and path
// segments that look like secrets (some vendors put the key in the path).
func (s *secretScanner) url(loc string, u *url.URL) string {
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			if !s.check(loc+".password", pw, "password") {
				s.found = append(s.found, FoundSecret{Location: loc + ".password", Kind: "password in URL",
					Fingerprint: s.fp.Fingerprint(pw), Last4: Last4(pw)})
			}
		}
		u.User = nil
	}
	segments := strings.Split(u.EscapedPath(), "/")
	changed := false
	for i, seg := range segments {
		if plain, err := url.PathUnescape(seg); err == nil && plain != "" && s.check(loc+".path", plain, "") {
			segments[i], changed = Redacted, true
		}
	}
	if changed {
		u.RawPath = ""
		u.Path = strings.Join(segments, "/")
	}
	if u.RawQuery != "" {
		pairs := strings.Split(u.RawQuery, "&")
		for i, pair := range pairs {
			k, v, _ := strings.Cut(pair, "=")
			key, _ := url.QueryUnescape(k)
			val, err := url.QueryUnescape(v)
			if err != nil {
				val = v
			}
			if s.check(loc+"?"+key, val, key) {
				pairs[i] = k + "=" + Redacted
			}
		}
		u.RawQuery = strings.Join(pairs, "&")
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// quoteArg quotes an argument that holds spaces, for display.
func quoteArg(a string) string {
	if a == "" || strings.ContainsAny(a, " \t\"'") {
		return fmt.Sprintf("%q", a)
	}
	return a
}
