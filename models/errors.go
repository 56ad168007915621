package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Sentinel errors returned by the Store and the domain rules. The HTTP error
// handler maps each of them to a status code and a page.
var (
	// ErrNotFound means the requested object does not exist (or is not visible).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the change collides with existing data, e.g. a duplicate slug.
	ErrConflict = errors.New("conflict")
	// ErrInvalidTransition means a state change is not allowed from the current state.
	ErrInvalidTransition = errors.New("invalid state transition")
	// ErrForbidden means the actor may not perform the change, whatever its role.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated means credentials are missing, wrong or expired.
	ErrUnauthenticated = errors.New("unauthenticated")
)

// ValidationError carries one message per invalid field. It is returned by
// form and input validation and rendered as a 422 with the form kept.
type ValidationError struct {
	Fields map[string]string
}

// NewValidationError returns an empty ValidationError ready for Add.
func NewValidationError() *ValidationError {
	return &ValidationError{}
}

// Add records a message for a field; the first message per field wins.
func (v *ValidationError) Add(field, message string) {
	if v.Fields == nil {
		v.Fields = map[string]string{} // made on the first problem: most input is valid
	}
	if _, ok := v.Fields[field]; !ok {
		v.Fields[field] = message
	}
}

// Has reports whether the field has a message.
func (v *ValidationError) Has(field string) bool {
	_, ok := v.Fields[field]
	return ok
}

// Get returns the field's message, or "".
func (v *ValidationError) Get(field string) string {
	if v == nil {
		return ""
	}
	return v.Fields[field]
}

// Err returns v when it holds at least one message and nil otherwise, so that
// Validate methods can end with `return v.Err()`.
func (v *ValidationError) Err() error {
	if v == nil || len(v.Fields) == 0 {
		return nil
	}
	return v
}

// Error lists the invalid fields and their messages in a stable order.
func (v *ValidationError) Error() string {
	keys := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+v.Fields[k])
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// AsValidation returns the ValidationError inside err, if any.
func AsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	if errors.As(err, &v) {
		return v, true
	}
	return nil, false
}

// checkName adds the problem of a required name to v: missing, or longer
// than max characters. example, if any, shows what a good name looks like.
func (v *ValidationError) checkName(name string, max int, example string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0 && example != "":
		v.Add("name", "Enter a name, like "+example+".")
	case n == 0:
		v.Add("name", "Enter a name.")
	case n > max:
		v.Add("name", fmt.Sprintf("Use at most %d characters (this name has %d).", max, n))
	}
}
