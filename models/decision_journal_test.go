package models_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// allDecisions reads every recorded decision of s: id → subject.
func allDecisions(t *testing.T, s *models.Store) map[uint]string {
	t.Helper()
	out := map[uint]string{}
	for p := 1; ; p++ {
		page, err := s.Decisions(ctx, models.DecisionFilter{ListParams: models.ListParams{Page: p, PerPage: 100}, Scope: models.AllTeams})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range page.Items {
			if _, dup := out[rec.ID]; dup {
				t.Fatalf("decision %d listed twice", rec.ID)
			}
			out[rec.ID] = rec.Subject
		}
		if len(page.Items) == 0 || len(out) >= int(page.Total) {
			return out
		}
	}
}

// logHoldsExactly checks that the recorded decisions of s are the answered
// ones (id → subject), no more and no fewer.
func logHoldsExactly(t *testing.T, s *models.Store, answered map[uint]string) {
	t.Helper()
	logged := allDecisions(t, s)
	if len(logged) != len(answered) {
		t.Errorf("%d decisions recorded, %d answered", len(logged), len(answered))
	}
	for id, subject := range answered {
		if logged[id] != subject {
			t.Errorf("decision %d: recorded for %q, answered to %q", id, logged[id], subject)
		}
	}
}

// tableDecisions counts the rows of the decisions table through a
// connection of its own (no flush of the decision log).
func tableDecisions(t *testing.T, dsn string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM decisions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A decision is answered once its record is in the decision log; if the
// process dies before the log reaches the table, the next start moves it
// there with the ids the callers were given, and a record the crash cut
// short (never answered) is dropped.
func TestDecisionLogSurvivesACrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run [1] *") // glob characters in the path
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dsn, clock := filepath.Join(dir, "countersign.db"), modeltest.NewClock()
	s := modeltest.OpenDSN(t, dsn, clock)
	f := newRuntimeFixture(t, s, clock)
	if !s.HoldDecisionLogForTest() {
		t.Fatal("a SQLite store with a file keeps a decision log")
	}
	answered := map[uint]string{}
	for i := range 30 {
		in := f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`)
		in.Subject = fmt.Sprintf("agent-%d", i)
		d, err := s.Evaluate(ctx, f.client, in)
		if err != nil || d.Outcome != models.OutcomeAllow || d.ID == 0 {
			t.Fatalf("call %d: %+v, %v", i, d, err)
		}
		if _, dup := answered[d.ID]; dup {
			t.Fatalf("decision id %d given twice", d.ID)
		}
		answered[d.ID] = in.Subject
	}
	if n := tableDecisions(t, dsn); n != 0 {
		t.Fatalf("%d decisions in the table while the log is held, want 0 (answered from the log)", n)
	}
	segment := s.DecisionLogPathForTest()
	torn, err := os.OpenFile(segment, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(torn, `{"ID":999999,"Subject":"cut short`)
	torn.Close()
	s.CrashForTest()

	reopened := modeltest.OpenDSN(t, dsn, clock)
	logHoldsExactly(t, reopened, answered)
	if _, err := os.Stat(segment); !os.IsNotExist(err) {
		t.Errorf("the ingested segment %s is still there (%v)", filepath.Base(segment), err)
	}

	// New ids never meet old ones, from the log or from the table's own
	// numbering (a held call is recorded with its review request).
	held, err := reopened.Evaluate(ctx, f.client, f.call("billing-prod/refund_payment", `{"invoice":"INV-1"}`))
	if err != nil || held.Outcome != models.OutcomeReviewRequired {
		t.Fatalf("refund: %+v, %v", held, err)
	}
	allowed, err := reopened.Evaluate(ctx, f.client, f.call("billing-prod/get_invoice", `{"invoice":"INV-2"}`))
	if err != nil || allowed.Outcome != models.OutcomeAllow {
		t.Fatalf("get_invoice: %+v, %v", allowed, err)
	}
	for _, id := range []uint{held.ID, allowed.ID} {
		if _, old := answered[id]; old || id == 0 {
			t.Errorf("decision id %d reused", id)
		}
	}
	if held.ID == allowed.ID {
		t.Errorf("two decisions share id %d", held.ID)
	}
	if got := allDecisions(t, reopened); len(got) != len(answered)+2 {
		t.Errorf("%d decisions, want %d", len(got), len(answered)+2)
	}
}

// Two stores on one SQLite file (a second process, a replica in tests):
// the first owns the decision log, the second writes into the table, and
// both hand out distinct ids that name their own records.
func TestSecondStoreOnTheFileWritesDecisionsDirectly(t *testing.T) {
	dsn, clock := modeltest.SQLiteDSN(t), modeltest.NewClock()
	first := modeltest.OpenDSN(t, dsn, clock)
	second := modeltest.OpenDSN(t, dsn, clock)
	if first.DecisionLogPathForTest() == "" || second.DecisionLogPathForTest() != "" {
		t.Fatalf("log owners: first %q, second %q; want the first only",
			first.DecisionLogPathForTest(), second.DecisionLogPathForTest())
	}
	f := newRuntimeFixture(t, first, clock)
	var mu sync.Mutex
	answered := map[uint]string{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := first
			if i%2 == 1 {
				s = second
			}
			in := f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`)
			in.Subject = fmt.Sprintf("agent-%d", i)
			for range 25 {
				d, err := s.Evaluate(ctx, f.client, in)
				if err != nil || d.Outcome != models.OutcomeAllow {
					t.Errorf("%s: %+v, %v", in.Subject, d, err)
					return
				}
				mu.Lock()
				if prev, dup := answered[d.ID]; dup {
					t.Errorf("decision id %d given to %s and %s", d.ID, prev, in.Subject)
				}
				answered[d.ID] = in.Subject
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	logHoldsExactly(t, first, answered)
}

// A log line damaged in the middle of a segment (not a write cut short)
// stops the start with a message that names the file, rather than
// dropping records silently.
func TestDamagedDecisionLogStopsTheStart(t *testing.T) {
	dsn := modeltest.SQLiteDSN(t)
	segment := dsn + ".decision-log.3"
	if err := os.WriteFile(segment, []byte("{\"ID\":5,\"Subject\":\"a\"}\nnot json\n{\"ID\":6}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := models.Open(ctx, models.Options{DSN: dsn})
	if err == nil || !strings.Contains(err.Error(), segment) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("open with a damaged log: %v", err)
	}
}

// A decision whose record cannot be written is denied, and leaves nothing
// behind in the log; the next one is recorded as usual.
func TestDecisionLogWriteFailureFailsClosed(t *testing.T) {
	dsn, clock := modeltest.SQLiteDSN(t), modeltest.NewClock()
	s := modeltest.OpenDSN(t, dsn, clock)
	f := newRuntimeFixture(t, s, clock)
	restore := s.BreakDecisionLogForTest()
	d, err := s.Evaluate(ctx, f.client, f.call("billing-prod/get_invoice", `{"invoice":"INV-1"}`))
	if err != nil || d.Outcome != models.OutcomeDeny || d.ID != 0 {
		t.Fatalf("with the log failing: %+v, %v; want an unrecorded deny", d, err)
	}
	restore()
	d, err = s.Evaluate(ctx, f.client, f.call("billing-prod/get_invoice", `{"invoice":"INV-2"}`))
	if err != nil || d.Outcome != models.OutcomeAllow || d.ID == 0 {
		t.Fatalf("after the log recovered: %+v, %v", d, err)
	}
	logHoldsExactly(t, s, map[uint]string{d.ID: "support-bot"})
}
