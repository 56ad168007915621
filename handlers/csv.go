package handlers

import (
	"encoding/csv"
	"io"
	"strconv"
)

// safeCSV writes CSV whose cells a spreadsheet never runs as formulas. A
// cell that starts with = + - @, a tab or a carriage return is prefixed
// with an apostrophe (OWASP's advice on CSV injection): names, subjects and
// justifications come from people and from API clients, and an exported
// file ends up in auditors' spreadsheets. Plain numbers (-12, -0.5) are
// left as they are.
type safeCSV struct {
	w   *csv.Writer
	buf []string
}

func newSafeCSV(w io.Writer) *safeCSV { return &safeCSV{w: csv.NewWriter(w)} }

// Write writes one record.
func (s *safeCSV) Write(record []string) error {
	s.buf = s.buf[:0]
	for _, cell := range record {
		s.buf = append(s.buf, csvCell(cell))
	}
	return s.w.Write(s.buf)
}

// Flush writes any buffered data and returns the first error of the writer.
func (s *safeCSV) Flush() error {
	s.w.Flush()
	return s.w.Error()
}

// csvCell neutralises a cell a spreadsheet would evaluate.
func csvCell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + v
	case '-':
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return v
		}
		return "'" + v
	}
	return v
}
