package models_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/countersign/countersign/models/modeltest"
)

// TestWALIsCheckpointedInTheBackground: rows written through the store
// reach the database file itself (not only the WAL) without the writer
// checkpointing (its threshold is far above the few pages written here).
// A copy of the main file alone, without its WAL, must hold them.
func TestWALIsCheckpointedInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := modeltest.SQLiteDSN(t)
	s := modeltest.OpenDSN(t, path, modeltest.NewClock())
	w := s.RawForTest(ctx)
	if err := w.Exec("CREATE TABLE probe (n integer)").Error; err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := w.Exec("INSERT INTO probe (n) VALUES (?)", i).Error; err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := rowsInMainFile(t, path)
		if n == 50 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file holds %d of 50 rows after 5 s: the WAL was not checkpointed", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rowsInMainFile copies the database file without its WAL and counts the
// probe rows in the copy (-1: the table is not there yet).
func rowsInMainFile(t *testing.T, path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", cp)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM probe").Scan(&n); err != nil {
		return -1
	}
	return n
}
