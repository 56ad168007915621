package handlers

import "testing"

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"billing key": "billing key",
		"=1+1":        "'=1+1",
		"+1":          "'+1",
		"@SUM(A1)":    "'@SUM(A1)",
		"\t=1":        "'\t=1",
		"\r=1":        "'\r=1",
		"-2+3":        "'-2+3",
		"-12":         "-12",
		"-0.5":        "-0.5",
		"a=b":         "a=b",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}
