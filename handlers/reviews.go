package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Permissions of the review pages.
var (
	ReviewsRead  = authz.Permission{Object: authz.ObjReviews, Action: authz.ActRead}
	GrantsRevoke = authz.Permission{Object: authz.ObjGrants, Action: authz.ActRevoke}
)

// Reviews is the approvers' side of runtime review: the live queue, the
// request page with its approve and deny forms, and the navigation badge.
type Reviews struct {
	*Base
	Store *models.Store
}

// reviewStatuses are the queue's status filter values ("all": any state).
var reviewStatuses = map[string]bool{"pending": true, "approved": true, "denied": true, "expired": true, "cancelled": true, "all": true}

// queueProps reads the filters and loads one page of the queue.
func (h *Reviews) queueProps(c echo.Context, withChoices bool) (views.ReviewQueueProps, error) {
	scope, err := h.Scope(c, ReviewsRead)
	if err != nil {
		return views.ReviewQueueProps{}, err
	}
	status := c.QueryParam("status")
	if !reviewStatuses[status] {
		status = string(models.ReviewPending)
	}
	f := models.ReviewFilter{ListParams: ListParams(c), Scope: scope}
	if status != "all" {
		f.Status = models.ReviewStatus(status)
	}
	f.TeamID, _ = optionalID(c.QueryParam("team"))
	f.EnvironmentID, _ = optionalID(c.QueryParam("environment"))
	page, err := h.Store.ReviewRequests(c.Request().Context(), f)
	if err != nil {
		return views.ReviewQueueProps{}, err
	}
	p := views.ReviewQueueProps{Page: page, Pager: PagerFor(c, page), Now: h.Store.Now(),
		Filter: views.ReviewFilterData{Search: f.Search, Status: status, Team: c.QueryParam("team"), Environment: c.QueryParam("environment")}}
	if withChoices {
		if p.Filter.Teams, p.Filter.Environments, err = FilterOptions(c, h.Store, scope); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Queue shows the review requests of the user's teams: pending ones oldest
// first by default, with filters, refreshed every few seconds by htmx.
func (h *Reviews) Queue(c echo.Context) error {
	p, err := h.queueProps(c, true)
	if err != nil {
		return err
	}
	if p.Links, err = h.RuntimeLinks(c); err != nil {
		return err
	}
	p.Layout = h.Layout(c, "Reviews")
	return Render(c, http.StatusOK, views.ReviewQueue(p))
}

// Live is the polled fragment of the queue: the results (table and
// pagination) for the same filters, and the navigation badge out of band.
func (h *Reviews) Live(c echo.Context) error {
	p, err := h.queueProps(c, false)
	if err != nil {
		return err
	}
	n, ok, err := h.NavBadge(c)
	if err != nil {
		return err
	}
	// The pagination links keep pointing at the page, not the fragment.
	p.Pager.Path = "/reviews"
	var badge *views.NavCount
	if ok {
		badge = &views.NavCount{Count: n, URL: ReviewBadgeURL, OOB: true}
	}
	return Render(c, http.StatusOK, views.ReviewQueueLive(p, badge))
}

// ReviewBadgeURL is the polled URL of the navigation badge.
const ReviewBadgeURL = "/reviews/badge"

// Badge is the polled navigation badge: how many requests wait for the
// user's decision.
func (h *Reviews) Badge(c echo.Context) error {
	n, err := h.WaitingCount(c)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.NavCountBadge(views.NavCount{Count: n, URL: ReviewBadgeURL}))
}

// WaitingCount counts the pending requests (before their deadline) of the
// teams where the user may decide: the navigation badge.
func (h *Reviews) WaitingCount(c echo.Context) (int, error) {
	n, _, err := h.NavBadge(c)
	return n, err
}

// NavBadge is WaitingCount for the navigation; ok is false for users who
// decide in no team, who get no badge (and no polling).
func (h *Reviews) NavBadge(c echo.Context) (n int, ok bool, err error) {
	scope, err := h.Scope(c, ReviewsDecide)
	if err != nil || (!scope.All && len(scope.IDs) == 0) {
		return 0, false, err
	}
	count, err := h.Store.PendingReviewCount(c.Request().Context(), scope)
	return int(count), true, err
}

// readableReview loads the request of the :id parameter (numeric or public
// id); a request outside the user's teams is not found.
func (h *Reviews) readableReview(c echo.Context) (models.ReviewRequest, error) {
	r, err := h.Store.ReviewRequestByRef(c.Request().Context(), c.Param("id"))
	if err != nil {
		return r, err
	}
	if ok, err := h.Can(c, r.TeamID, ReviewsRead); err != nil {
		return r, err
	} else if !ok {
		return r, models.ErrNotFound
	}
	return r, nil
}

// Show renders a request with everything an approver needs to decide it.
func (h *Reviews) Show(c echo.Context) error {
	r, err := h.readableReview(c)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, r, views.DecisionForm{})
}

func (h *Reviews) render(c echo.Context, status int, r models.ReviewRequest, form views.DecisionForm) error {
	ctx := c.Request().Context()
	v, err := h.Store.ReviewViewByID(ctx, r.ID)
	if err != nil {
		return err
	}
	similar, err := h.Store.SimilarReviews(ctx, v.Request, 10)
	if err != nil {
		return err
	}
	u, _ := auth.CurrentUser(c)
	canDecide, why, err := h.Store.CanDecideReview(ctx, u.ID, v.Request)
	if err != nil {
		return err
	}
	canRevoke, err := h.Can(c, v.Request.TeamID, GrantsRevoke)
	if err != nil {
		return err
	}
	risk, _ := models.EffectiveRisk(v.Tool)
	title := "Review " + v.Server.Slug + "/" + v.Tool.Name
	return Render(c, status, views.ReviewDetail(views.ReviewDetailProps{Layout: h.Layout(c, title), View: v, Similar: similar,
		Now: h.Store.Now(), CanDecide: canDecide, WhyNot: why, CanRevoke: canRevoke, ToolRisk: risk, Form: form}))
}

// Approve records the user's approval; Deny the user's deny (a comment is
// required). Refusals (separation of duties, a decided or expired request)
// re-render the page with the reason and a 4xx, and change nothing.
func (h *Reviews) Approve(c echo.Context) error { return h.decide(c, true) }

// Deny records the user's deny of a request.
func (h *Reviews) Deny(c echo.Context) error { return h.decide(c, false) }

func (h *Reviews) decide(c echo.Context, approve bool) error {
	r, err := h.readableReview(c)
	if err != nil {
		return err
	}
	form := views.DecisionForm{Comment: c.FormValue("comment"), Approve: approve}
	ctx := c.Request().Context()
	if approve {
		r, err = h.Store.ApproveReview(ctx, auth.Actor(c), r.ID, form.Comment)
	} else {
		r, err = h.Store.DenyReview(ctx, auth.Actor(c), r.ID, form.Comment)
	}
	var status int
	switch {
	case err == nil:
	case Errors(err) != nil:
		form.Errors, status = Errors(err), http.StatusUnprocessableEntity
	case errors.Is(err, models.ErrForbidden):
		form.Message, status = userMessage(err), http.StatusForbidden
	case errors.Is(err, models.ErrInvalidTransition):
		form.Message, status = userMessage(err), http.StatusConflict
	default:
		return err
	}
	if status != 0 {
		current, lerr := h.readableReview(c)
		if lerr != nil {
			return lerr
		}
		return h.render(c, status, current, form)
	}
	switch r.Status {
	case models.ReviewApproved:
		SetFlash(c, "success", "Approved. The caller's next identical call is allowed once, with the grant below.")
	case models.ReviewDenied:
		SetFlash(c, "success", "Denied. The caller is told the request was denied.")
	default:
		SetFlash(c, "success", "Your approval is recorded. The request needs "+views.Itoa(r.ApprovalsNeeded-r.Approvals)+" more.")
	}
	return SeeOther(c, "/reviews/"+r.PublicID)
}

// safeReturn keeps a post-action redirect on one of the review pages.
func safeReturn(target, fallback string) string {
	if (strings.HasPrefix(target, "/reviews/") || strings.HasPrefix(target, "/grants")) && !strings.Contains(target, "//") &&
		!strings.ContainsAny(target, "\\\r\n") {
		return target
	}
	return fallback
}

// RuntimeLinks tells which runtime review pages the user may open, for the
// links between them (the admin ones are not in the navigation).
func (b *Base) RuntimeLinks(c echo.Context) (views.RuntimeLinks, error) {
	u, _ := auth.CurrentUser(c)
	var l views.RuntimeLinks
	for _, x := range []struct {
		p   authz.Permission
		dst *bool
	}{{ReviewsRead, &l.Reviews}, {RulesRead, &l.Rules}, {ClientsRead, &l.Clients}, {NotificationsRead, &l.Notifications}} {
		ok, err := b.Authz.CanAnywhere(u.ID, x.p)
		if err != nil {
			return l, err
		}
		*x.dst = ok
	}
	return l, nil
}
