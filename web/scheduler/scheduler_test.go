package scheduler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
	"github.com/countersign/countersign/web/scheduler"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestEachSlotRunsOnceAcrossReplicas drives two schedulers, each with its
// own connection pool on one database, through 100 slots at the same time.
func TestEachSlotRunsOnceAcrossReplicas(t *testing.T) {
	for _, e := range modeltest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			clock := modeltest.NewClock()
			dsn := e.DSN(t)
			var runs atomic.Int64
			job := scheduler.Job{Name: "rotation-due-check", Spec: "* * * * *", Run: func(context.Context) (map[string]int64, error) {
				runs.Add(1)
				return map[string]int64{"checked": 1}, nil
			}}
			var replicas []*scheduler.Scheduler
			var stores []*models.Store
			for i := range 2 {
				store := modeltest.OpenDSN(t, dsn, clock)
				s := scheduler.New(store, quiet, scheduler.Options{Now: clock.Now, Instance: string(rune('a' + i))})
				if err := s.Add(job); err != nil {
					t.Fatal(err)
				}
				replicas, stores = append(replicas, s), append(stores, store)
			}
			ctx := context.Background()
			var wg sync.WaitGroup
			var ran [2]atomic.Int64
			for slot := range 100 {
				at := modeltest.Epoch.Add(time.Duration(slot) * time.Minute)
				for i, r := range replicas {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ok, err := r.RunSlot(ctx, job.Name, at)
						if err != nil {
							t.Error(err)
						}
						if ok {
							ran[i].Add(1)
						}
					}()
				}
			}
			wg.Wait()
			if runs.Load() != 100 || ran[0].Load()+ran[1].Load() != 100 {
				t.Fatalf("job ran %d times (%d + %d), want 100", runs.Load(), ran[0].Load(), ran[1].Load())
			}
			for slot := range 100 {
				at := models.SlotKey(modeltest.Epoch.Add(time.Duration(slot) * time.Minute))
				if n, err := stores[0].JobRunsOfSlot(ctx, job.Name, at); err != nil || n != 1 {
					t.Fatalf("slot %s has %d runs (%v)", at, n, err)
				}
			}
			history, _ := stores[1].JobRuns(ctx, job.Name, 200)
			for _, r := range history {
				if r.Outcome != models.JobOK || r.FinishedAt == nil || r.CountMap()["checked"] != 1 {
					t.Fatalf("run not recorded: %+v", r)
				}
			}
		})
	}
}

func TestPanicIsRecordedAndTheSchedulerGoesOn(t *testing.T) {
	clock := modeltest.NewClock()
	store := modeltest.OpenSQLite(t, clock)
	s := scheduler.New(store, quiet, scheduler.Options{Now: clock.Now})
	calls := 0
	if err := s.Add(scheduler.Job{Name: "flaky", Spec: "@every 1m", Run: func(context.Context) (map[string]int64, error) {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, err := s.RunSlot(ctx, "flaky", modeltest.Epoch); !ok || err != nil {
		t.Fatalf("panicking run: %v %v", ok, err)
	}
	if ok, err := s.RunSlot(ctx, "flaky", modeltest.Epoch.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("next run: %v %v", ok, err)
	}
	runs, _ := store.JobRuns(ctx, "flaky", 10)
	if len(runs) != 2 || runs[1].Outcome != models.JobFailed || !strings.Contains(runs[1].Error, "boom") || runs[0].Outcome != models.JobOK {
		t.Fatalf("runs = %+v", runs)
	}
}

func TestRunNowRecordsWhoAsked(t *testing.T) {
	clock := modeltest.NewClock()
	store := modeltest.OpenSQLite(t, clock)
	s := scheduler.New(store, quiet, scheduler.Options{Now: clock.Now})
	s.Add(scheduler.Job{Name: "findings-recompute", Spec: "*/15 * * * *", Run: func(context.Context) (map[string]int64, error) {
		return nil, errors.New("database went away")
	}})
	ctx := context.Background()
	run, err := s.RunNow(ctx, "findings-recompute", models.Actor{UserID: 1, Label: "ana@example.com"})
	if err != nil || run.Trigger != "manual" || run.RequestedBy != "ana@example.com" || run.Outcome != models.JobFailed {
		t.Fatalf("run now = %+v, %v", run, err)
	}
	if _, err := s.RunNow(ctx, "nope", models.Actor{}); !errors.Is(err, scheduler.ErrUnknownJob) {
		t.Fatalf("unknown job: %v", err)
	}
	if s.Jobs()[0].Next.IsZero() {
		t.Error("no next run time")
	}
}

func TestStopWaitsForRunningJobs(t *testing.T) {
	clock := modeltest.NewClock()
	store := modeltest.OpenSQLite(t, clock)
	s := scheduler.New(store, quiet, scheduler.Options{Now: clock.Now})
	started, finished := make(chan struct{}), atomic.Bool{}
	s.Add(scheduler.Job{Name: "slow", Spec: "@daily", Run: func(context.Context) (map[string]int64, error) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		finished.Store(true)
		return nil, nil
	}})
	s.Start()
	go s.RunNow(context.Background(), "slow", models.Actor{Label: "t"})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil || !finished.Load() {
		t.Fatalf("stop returned before the job finished (%v)", err)
	}
}
