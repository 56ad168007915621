package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// CanonicalArguments returns the canonical JSON of a tool call's arguments:
// object keys sorted, no insignificant white space, strings re-encoded the
// same way, numbers kept exactly as written (so two different numbers never
// share a digest; 1 and 1.0 do not either, which can only cause one review
// more, never one less). Absent or null arguments are "{}"-equivalent "null".
func CanonicalArguments(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("arguments hold more than one JSON value")
	}
	var buf bytes.Buffer
	if err := writeCanonical(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			if err := writeCanonical(buf, x[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case json.Number:
		buf.WriteString(x.String())
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}

// ArgumentDigest is the hex SHA-256 of the canonical JSON of the arguments.
func ArgumentDigest(raw json.RawMessage) (string, error) {
	canon, err := CanonicalArguments(raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// secretKeyWords mark argument names whose values are masked whatever they
// look like.
var secretKeyWords = []string{"password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "credential", "private_key"}

// RedactArguments returns a short JSON summary of the arguments for
// approvers: values that look like secrets (models.DetectSecret) or sit
// under a secret-sounding key are masked, long strings are cut, and the
// whole summary is at most maxLen bytes.
func RedactArguments(raw json.RawMessage, maxLen int) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	var buf bytes.Buffer
	_ = writeCanonical(&buf, redactValue("", v))
	out := buf.String()
	if len(out) > maxLen {
		out = out[:maxLen] + "…"
	}
	return out
}

func redactValue(key string, v any) any {
	lk := strings.ToLower(key)
	for _, w := range secretKeyWords {
		if strings.Contains(lk, w) {
			if v == nil {
				return nil
			}
			return "[masked]"
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactValue(k, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(key, e)
		}
		return out
	case string:
		if kind, ok := DetectSecret(x); ok {
			return "[masked: " + kind + "]"
		}
		if len(x) > 200 {
			return x[:200] + "…"
		}
	}
	return v
}
