package web

import (
	"context"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/scheduler"
)

// jobs are Countersign's scheduled jobs. Each is a plain function of the
// store; the scheduler adds the exactly-once claim, panic recovery and the
// run record.
func jobs(store *models.Store) []scheduler.Job {
	return []scheduler.Job{
		{Name: "rotation-due-check", Spec: "* * * * *",
			Description: "Open a rotation task for every credential whose rotation fell due (owner and team notified, rotation webhook called); mark tasks past their grace period overdue and escalate them to the team's governance people.",
			Run: func(ctx context.Context) (map[string]int64, error) {
				res, err := store.RunRotationDueCheck(ctx)
				return map[string]int64{"due": int64(res.Due), "overdue": int64(res.Overdue)}, err
			}},
		{Name: "findings-recompute", Spec: "*/15 * * * *",
			Description: "Recompute posture findings from the inventory (they are also recomputed after every change).",
			Run: func(ctx context.Context) (map[string]int64, error) {
				res, err := store.RecomputeFindings(ctx)
				return map[string]int64{"open": int64(res.Open), "opened": int64(res.Opened), "resolved": int64(res.Resolved),
					"ms": res.Duration.Milliseconds()}, err
			}},
		{Name: "compliance-snapshot", Spec: "5 0 * * *",
			Description: "Record today's compliance figures (organisation and each team) for the dashboard's trends; snapshots older than 400 days are deleted.",
			Run: func(ctx context.Context) (map[string]int64, error) {
				res, err := store.TakeComplianceSnapshots(ctx)
				return map[string]int64{"rows": int64(res.Rows), "pruned": res.Pruned}, err
			}},
		{Name: "exceptions-expire", Spec: "*/5 * * * *",
			Description: "Mark risk exceptions past their end date as expired; their findings are open again.",
			Run: func(ctx context.Context) (map[string]int64, error) {
				n, err := store.ExpireExceptions(ctx)
				return map[string]int64{"expired": int64(n)}, err
			}},
		{Name: "outbox-deliver", Spec: "* * * * *",
			Description: "Deliver notifications to team webhooks (generic JSON or Slack) and API client webhooks, with retries and backoff.",
			Run: func(ctx context.Context) (map[string]int64, error) {
				res, err := store.DeliverOutbox(ctx, models.NewHTTPPoster(), 200)
				return map[string]int64{"sent": int64(res.Sent), "retried": int64(res.Retried), "failed": int64(res.Failed)}, err
			}},
		{Name: "reviews-expire", Spec: "* * * * *",
			Description: "Mark pending review requests past their deadline as expired, and expired grants as such.",
			Run: func(ctx context.Context) (map[string]int64, error) {
				reviews, err := store.ExpireReviews(ctx)
				if err != nil {
					return map[string]int64{"reviews": int64(reviews)}, err
				}
				grants, err := store.ExpireGrants(ctx)
				return map[string]int64{"reviews": int64(reviews), "grants": int64(grants)}, err
			}},
	}
}
