package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/countersign/countersign/web/scheduler"
	"github.com/labstack/echo/v4"
)

// JobsRun is the permission to run a job now.
var JobsRun = authz.Permission{Object: authz.ObjJobs, Action: authz.ActRun}

// JobRunner is what the Jobs page needs of the scheduler.
type JobRunner interface {
	Jobs() []scheduler.JobInfo
	RunNow(ctx context.Context, name string, actor models.Actor) (models.JobRun, error)
}

// Jobs is the admins' page of scheduled jobs: schedules, last runs,
// failures, and "run now".
type Jobs struct {
	*Base
	Store  *models.Store
	Runner JobRunner
}

// runsPerJob is how many recent runs the page shows per job.
const runsPerJob = 8

// List shows every job with its recent runs and the latest failures.
func (h *Jobs) List(c echo.Context) error {
	ctx := c.Request().Context()
	var rows []views.JobRow
	for _, j := range h.Runner.Jobs() {
		runs, err := h.Store.JobRuns(ctx, j.Name, runsPerJob)
		if err != nil {
			return err
		}
		rows = append(rows, views.JobRow{Info: j, Runs: runs})
	}
	failures, err := h.Store.FailedJobRuns(ctx, 20)
	if err != nil {
		return err
	}
	u, _ := auth.CurrentUser(c)
	canRun, err := h.Authz.CanAnywhere(u.ID, JobsRun)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.JobsPage(views.JobsProps{Layout: h.Layout(c, "Jobs"), Jobs: rows,
		Failures: failures, CanRun: canRun}))
}

// RunNow runs a job at once through the scheduler's own path (the claim,
// panic recovery and run record), recording who asked.
func (h *Jobs) RunNow(c echo.Context) error {
	name := c.Param("name")
	run, err := h.Runner.RunNow(c.Request().Context(), name, auth.Actor(c))
	if errors.Is(err, scheduler.ErrUnknownJob) {
		return echo.NewHTTPError(http.StatusNotFound, "No job named "+name+".")
	}
	if err != nil {
		return err
	}
	if run.Outcome == models.JobFailed {
		SetFlash(c, "error", fmt.Sprintf("%s failed: %s", name, run.Error))
	} else {
		SetFlash(c, "success", fmt.Sprintf("%s ran in %s.", name, run.Duration().Round(1e6)))
	}
	return SeeOther(c, "/admin/jobs")
}
