package views

import "github.com/a-h/templ"

// invalidAttrs marks a hand-written control (a textarea, a group of
// checkboxes) as invalid and described by its message, id+"-error", when msg
// is set, as Field and SelectField do for theirs: screen readers then read
// the message, and app.js puts the focus on the first invalid field.
func invalidAttrs(id, msg string) templ.Attributes {
	if msg == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": id + "-error"}
}
