// Package scheduler runs Countersign's named background jobs on
// robfig/cron: one cron.Cron in UTC, every job wrapped so that a panic is
// recovered and runs of one job never overlap, and every run first claims its
// (job, slot) row in job_runs, so that with several replicas each slot runs
// exactly once. "Run now" goes through the same code path and records who
// asked.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/robfig/cron/v3"
)

// Func is the work of a job. It returns counts of what it did, for the run
// record. It should honour ctx: Stop cancels it after the grace period.
type Func func(ctx context.Context) (map[string]int64, error)

// Job is a named job and its schedule (a 5-field cron spec, UTC).
type Job struct {
	Name        string
	Spec        string
	Description string
	Run         Func
}

// JobInfo describes a registered job for the Jobs page.
type JobInfo struct {
	Job
	Next time.Time
}

// Scheduler owns the cron instance and the registered jobs.
type Scheduler struct {
	cron     *cron.Cron
	store    *models.Store
	log      *slog.Logger
	now      func() time.Time
	instance string

	mu      sync.Mutex
	jobs    map[string]*entry
	ctx     context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup
}

type entry struct {
	job      Job
	schedule cron.Schedule
	id       cron.EntryID
	// busy serialises runs of one job in this process (scheduled and manual).
	busy sync.Mutex
}

// Options configure New.
type Options struct {
	// Now is the clock (nil: time.Now); tests inject a fake one.
	Now func() time.Time
	// Instance names this replica in run records (default: the host name).
	Instance string
}

// New returns a scheduler; add jobs, then Start.
func New(store *models.Store, log *slog.Logger, opts Options) *Scheduler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Instance == "" {
		host, _ := os.Hostname()
		opts.Instance = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{store: store, log: log, now: opts.Now, instance: opts.Instance, jobs: map[string]*entry{},
		ctx: ctx, cancel: cancel}
	logger := cron.VerbosePrintfLogger(slogPrintf{log})
	s.cron = cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cron.DiscardLogger),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	return s
}

// slogPrintf adapts slog to cron's Printf logger.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, args ...any) { l.log.Warn(fmt.Sprintf(format, args...)) }

// Add registers a job. The spec is a standard 5-field cron spec in UTC.
func (s *Scheduler) Add(job Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[job.Name]; dup {
		return fmt.Errorf("job %s registered twice", job.Name)
	}
	sched, err := cron.ParseStandard(job.Spec)
	if err != nil {
		return fmt.Errorf("job %s: spec %q: %w", job.Name, job.Spec, err)
	}
	e := &entry{job: job, schedule: sched}
	e.id = s.cron.Schedule(sched, cron.FuncJob(func() {
		// The slot is the scheduled time this firing stands for: the
		// first due time after a minute ago. Replicas agree on it even
		// when they fire a little apart.
		slot := sched.Next(s.now().UTC().Add(-time.Minute))
		if _, err := s.RunSlot(s.ctx, job.Name, slot); err != nil {
			s.log.Error("job run", slog.String("job", job.Name), slog.Any("error", err))
		}
	}))
	s.jobs[job.Name] = e
	return nil
}

// Start starts the cron loop.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops scheduling and waits for running jobs, up to ctx's deadline;
// then it cancels them and waits for them to return.
func (s *Scheduler) Stop(ctx context.Context) error {
	stopped := s.cron.Stop()
	all := make(chan struct{})
	go func() {
		<-stopped.Done()
		s.running.Wait()
		close(all)
	}()
	select {
	case <-all:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-all
		return errors.New("scheduler: running jobs were cancelled at shutdown")
	}
}

// ErrUnknownJob is returned for a job name that is not registered.
var ErrUnknownJob = errors.New("unknown job")

// RunSlot runs the job for one scheduled slot if this instance claims it.
// It returns whether it ran. A panic in the job is recovered and recorded
// as a failed run.
func (s *Scheduler) RunSlot(ctx context.Context, name string, slot time.Time) (bool, error) {
	return s.run(ctx, name, models.JobRun{Job: name, Slot: models.SlotKey(slot), Trigger: "schedule", Instance: s.instance})
}

// RunNow runs a job at once, outside its schedule, recording who asked. It
// uses the same path as a scheduled run.
func (s *Scheduler) RunNow(ctx context.Context, name string, actor models.Actor) (models.JobRun, error) {
	now := s.now().UTC()
	run := models.JobRun{Job: name, Slot: "manual " + now.Format(time.RFC3339Nano), Trigger: "manual",
		RequestedBy: actor.Label, Instance: s.instance}
	if _, err := s.run(ctx, name, run); err != nil {
		return run, err
	}
	runs, err := s.store.JobRuns(ctx, name, 1)
	if err != nil || len(runs) == 0 {
		return run, err
	}
	return runs[0], nil
}

func (s *Scheduler) run(ctx context.Context, name string, run models.JobRun) (bool, error) {
	s.mu.Lock()
	e, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return false, fmt.Errorf("%w: %s", ErrUnknownJob, name)
	}
	s.running.Add(1)
	defer s.running.Done()
	e.busy.Lock()
	defer e.busy.Unlock()
	run.StartedAt = s.now().UTC()
	claimed, ok, err := s.store.ClaimJobRun(ctx, run)
	if err != nil || !ok {
		return false, err
	}
	counts, runErr := safeRun(ctx, e.job.Run)
	level := slog.LevelInfo
	if runErr != nil {
		level = slog.LevelError
	}
	s.log.Log(ctx, level, "job run", slog.String("job", name), slog.String("slot", claimed.Slot),
		slog.String("trigger", claimed.Trigger), slog.Any("counts", counts), slog.Any("error", runErr))
	// Record the end even if ctx was cancelled meanwhile.
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return true, s.store.FinishJobRun(finishCtx, claimed.ID, runErr, counts)
}

// safeRun calls fn, turning a panic into an error.
func safeRun(ctx context.Context, fn Func) (counts map[string]int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx)
}

// Jobs lists the registered jobs by name, with their next run.
func (s *Scheduler) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.jobs))
	for _, e := range s.jobs {
		out = append(out, JobInfo{Job: e.job, Next: e.schedule.Next(s.now().UTC())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
