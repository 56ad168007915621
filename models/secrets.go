package models

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// FingerprintKeySize is the size in bytes of the HMAC key of fingerprints.
const FingerprintKeySize = 32

// Fingerprinter turns a secret into a keyed fingerprint (HMAC-SHA-256 with a
// server-side key) that finds the same secret in several places without
// keeping it. Without the key, a fingerprint cannot be tested against a
// guessed secret.
type Fingerprinter struct {
	key []byte
}

// NewFingerprinter returns a Fingerprinter using key, which must hold at
// least 32 bytes.
func NewFingerprinter(key []byte) (*Fingerprinter, error) {
	if len(key) < FingerprintKeySize {
		return nil, fmt.Errorf("fingerprint key must hold at least %d bytes, it holds %d", FingerprintKeySize, len(key))
	}
	return &Fingerprinter{key: append([]byte(nil), key...)}, nil
}

// Fingerprint returns the hex HMAC-SHA-256 of the secret, after trimming the
// surrounding spaces a paste adds.
func (f *Fingerprinter) Fingerprint(secret string) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(strings.TrimSpace(secret)))
	return hex.EncodeToString(m.Sum(nil))
}

// Last4 returns the last four characters of the secret, the only part of it
// ever shown or stored. Secrets shorter than 12 characters give nothing, so
// that a short secret is never mostly revealed.
func Last4(secret string) string {
	secret = strings.TrimSpace(secret)
	n := utf8.RuneCountInString(secret)
	if n < 12 {
		return ""
	}
	r := []rune(secret)
	return string(r[n-4:])
}

// LoadOrCreateFingerprintKey reads the fingerprint key from path (hex, 64
// characters) or, when the file does not exist, generates a random key and
// writes it there with mode 0600. The key lives outside the database so that
// a copy of the database alone cannot test guesses against fingerprints.
func LoadOrCreateFingerprintKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, derr := hex.DecodeString(strings.TrimSpace(string(data)))
		if derr != nil || len(key) < FingerprintKeySize {
			return nil, fmt.Errorf("fingerprint key file %s must hold %d hex characters", path, 2*FingerprintKeySize)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read fingerprint key: %w", err)
	}
	key := make([]byte, FingerprintKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate fingerprint key: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create fingerprint key directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write fingerprint key: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write fingerprint key: %w", werr)
	}
	return key, nil
}

// secretPrefixes are the prefixes of well-known secret formats.
var secretPrefixes = []struct{ prefix, kind string }{
	{"github_pat_", "GitHub fine-grained token"}, {"ghp_", "GitHub token"}, {"gho_", "GitHub OAuth token"},
	{"ghu_", "GitHub user token"}, {"ghs_", "GitHub app token"}, {"glpat-", "GitLab token"},
	{"sk-ant-", "Anthropic API key"}, {"sk-proj-", "OpenAI API key"}, {"sk_live_", "Stripe live key"},
	{"rk_live_", "Stripe restricted key"}, {"sk-", "API key (sk-)"}, {"xoxb-", "Slack bot token"},
	{"xoxp-", "Slack user token"}, {"xapp-", "Slack app token"}, {"AKIA", "AWS access key id"},
	{"ASIA", "AWS temporary access key id"}, {"AIza", "Google API key"}, {"npm_", "npm token"},
	{"pypi-", "PyPI token"}, {"SG.", "SendGrid key"}, {"dop_v1_", "DigitalOcean token"},
}

// DetectSecret reports whether value looks like a secret: it starts with a
// known prefix, or it is a long high-entropy token. kind says why. A value
// after "Bearer " or "Basic " is judged on its own.
func DetectSecret(value string) (kind string, ok bool) {
	v := strings.TrimSpace(value)
	for _, scheme := range []string{"Bearer ", "bearer ", "Basic ", "basic ", "token "} {
		if strings.HasPrefix(v, scheme) {
			v = strings.TrimSpace(v[len(scheme):])
			if len(v) >= 12 {
				if k, ok := DetectSecret(v); ok {
					return k, true
				}
				return "bearer credential", true
			}
		}
	}
	if strings.ContainsAny(v, " \t\n") || len(v) < 16 {
		return "", false
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(v, p.prefix) && len(v) >= len(p.prefix)+12 {
			return p.kind, true
		}
	}
	if looksLikePathOrURL(v) {
		return "", false
	}
	// Random tokens of 24+ characters nearly always mix letters and digits;
	// names such as GITHUB_PERSONAL_ACCESS_TOKEN or kebab-case-identifiers
	// have no digits and are not secrets.
	if len(v) >= 24 && shannonEntropy(v) >= 3.5 && charClasses(v) >= 2 && strings.ContainsAny(v, "0123456789") &&
		strings.ContainsFunc(v, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) {
		return "high-entropy value", true
	}
	return "", false
}

// looksLikePathOrURL keeps file paths, URLs and package names out of the
// entropy check.
func looksLikePathOrURL(v string) bool {
	return strings.Contains(v, "://") || strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") ||
		strings.HasPrefix(v, "~") || strings.HasPrefix(v, "@") || strings.Count(v, "/") >= 2 ||
		strings.HasPrefix(v, "-") || strings.Contains(v, "\\")
}

// shannonEntropy is the entropy in bits per character of s.
func shannonEntropy(s string) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var h float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// charClasses counts the classes (lower, upper, digit, other) present in s.
func charClasses(s string) int {
	var lower, upper, digit, other int
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = 1
		case r >= 'A' && r <= 'Z':
			upper = 1
		case r >= '0' && r <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	return lower + upper + digit + other
}
