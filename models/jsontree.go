package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// jsonKind is the type of a JSON value in a jsonNode.
type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

var jsonKindNames = map[jsonKind]string{jsonNull: "null", jsonBool: "a boolean", jsonNumber: "a number",
	jsonString: "a string", jsonArray: "an array", jsonObject: "an object"}

// jsonNode is a decoded JSON value that remembers where it ends in the
// input, so that shape errors can name a line.
type jsonNode struct {
	kind jsonKind
	end  int64
	str  string
	keys []string // object member names, in file order
	vals []*jsonNode
}

// member returns the last value of the object member named key (JSON
// allows duplicates; like JavaScript, the last one wins).
func (n *jsonNode) member(key string) *jsonNode {
	var out *jsonNode
	for i, k := range n.keys {
		if k == key {
			out = n.vals[i]
		}
	}
	return out
}

const maxJSONDepth = 64

// decodeJSONTree decodes data into a jsonNode tree. Syntax errors are
// reported as *ConfigError with the line and column of the bad character.
func decodeJSONTree(data []byte) (*jsonNode, error) {
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, syntaxConfigError(data, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return readJSONNode(dec, 0)
}

func readJSONNode(dec *json.Decoder, depth int) (*jsonNode, error) {
	if depth > maxJSONDepth {
		return nil, &ConfigError{Line: 0, Message: fmt.Sprintf("the JSON is nested more than %d levels deep", maxJSONDepth)}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &jsonNode{end: dec.InputOffset()}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			n.kind = jsonArray
		} else {
			n.kind = jsonObject
		}
		for dec.More() {
			if n.kind == jsonObject {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, kt.(string))
			}
			v, err := readJSONNode(dec, depth+1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	case string:
		n.kind, n.str = jsonString, t
	case json.Number:
		n.kind = jsonNumber
	case bool:
		n.kind = jsonBool
	case nil:
		n.kind = jsonNull
	}
	return n, nil
}

// syntaxConfigError turns a JSON syntax error into a ConfigError pointing
// at the bad character, with a hint for the two usual mistakes.
func syntaxConfigError(data []byte, err error) *ConfigError {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &ConfigError{Message: "This is not valid JSON: " + err.Error()}
	}
	at := se.Offset - 1
	if at < 0 {
		at = 0
	}
	line, col := positionOf(data, at)
	msg := "This is not valid JSON: " + se.Error()
	before := strings.TrimRight(string(data[:min(int(at), len(data))]), " \t\r\n")
	switch {
	case strings.HasSuffix(before, ",") && (strings.Contains(se.Error(), "beginning of object key") || strings.Contains(se.Error(), "beginning of value")):
		msg += " (remove the trailing comma before it)"
	case int(at) < len(data) && data[at] == '/':
		msg += " (JSON does not allow comments; remove them)"
	}
	return &ConfigError{Line: line, Column: col, Message: msg}
}

// positionOf returns the 1-based line and column of the byte at offset.
func positionOf(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	prefix := data[:offset]
	line = bytes.Count(prefix, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(prefix, '\n')
	return line, col
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// jsonPath appends a member name to a path, quoting names that are not
// plain identifiers: mcpServers.github, mcpServers["my server"].
func jsonPath(base, key string) string {
	if plainKey.MatchString(key) {
		if base == "" {
			return key
		}
		return base + "." + key
	}
	q, _ := json.Marshal(key)
	return base + "[" + string(q) + "]"
}
