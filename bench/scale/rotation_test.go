package scale

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
)

// TestRotationDueCheckReport times the every-minute rotation due check on
// the scale database: the first tick (every credential already past due
// gets its task), quiet ticks (nothing new), and a tick where 1,000
// credentials fall due at once. It changes the database (tasks, next due
// times): run it on a copy.
func TestRotationDueCheckReport(t *testing.T) {
	e := open(t)
	ctx := context.Background()
	var creds, scheduled int64
	e.store.RawForTest(ctx).Table("credentials").Count(&creds)
	e.store.RawForTest(ctx).Table("credentials").Where("next_due_at IS NOT NULL").Count(&scheduled)
	fmt.Printf("credentials: %d, with a schedule: %d\n", creds, scheduled)
	tick := func(label string) {
		start := time.Now()
		res, err := e.store.RunRotationDueCheck(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%-34s %8.1f ms  (due %d, overdue %d)\n", label, ms(time.Since(start)), res.Due, res.Overdue)
	}
	tick("first tick (backlog)")
	for i := range 5 {
		tick(fmt.Sprintf("quiet tick %d", i+1))
	}
	// 1,000 credentials fall due now (their next due moves into the past).
	now := e.store.Now()
	err := e.store.RawForTest(ctx).Exec(`UPDATE credentials SET next_due_at = ? WHERE id IN
		(SELECT id FROM credentials WHERE status = ? AND next_due_at > ? ORDER BY id LIMIT 1000)`,
		now.Add(-time.Minute), models.CredentialActive, now).Error
	if err != nil {
		t.Fatal(err)
	}
	tick("tick with 1,000 newly due")
	tick("quiet tick after")
}
