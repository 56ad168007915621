package models

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// A journal line decodes, with encoding/json, into the record it was
// written from, whatever its strings hold.
func TestJournalLineRoundTrips(t *testing.T) {
	team, rule := uint(7), uint(42)
	at := time.Date(2026, 12, 6, 17, 0, 0, 123456000, time.UTC)
	for _, s := range []string{"", "plain", `quo"te`, `back\slash`, "new\nline\ttab\r\x00\x1f", "ünïcødé ✓ \u2028", "</script>&"} {
		rec := &DecisionRecord{ID: 9, At: at, TeamID: &team, Subject: s, OnBehalfOf: s, Resource: "srv/" + s,
			Outcome: OutcomeAllow, Reason: s, Risk: RiskLow, RuleID: &rule, TaskID: s, LatencyMicros: -3}
		line := appendJournalLine(nil, rec)
		if line[len(line)-1] != '\n' {
			t.Fatalf("%q: no newline", line)
		}
		var got DecisionRecord
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if !reflect.DeepEqual(&got, rec) {
			t.Errorf("%q:\n got %+v\nwant %+v", s, got, *rec)
		}
	}
}

func FuzzJournalLine(f *testing.F) {
	f.Add("agent", "reason \"x\"")
	f.Fuzz(func(t *testing.T, subject, reason string) {
		rec := &DecisionRecord{ID: 1, At: time.Unix(0, 0).UTC(), Subject: subject, Reason: reason}
		var got DecisionRecord
		if err := json.Unmarshal(appendJournalLine(nil, rec), &got); err != nil {
			t.Fatalf("%q %q: %v", subject, reason, err)
		}
		var want DecisionRecord // what encoding/json makes of the same strings (invalid UTF-8 becomes U+FFFD)
		b, _ := json.Marshal(rec)
		_ = json.Unmarshal(b, &want)
		if got.Subject != want.Subject || got.Reason != want.Reason {
			t.Errorf("%q %q: got %q %q, want %q %q", subject, reason, got.Subject, got.Reason, want.Subject, want.Reason)
		}
	})
}
