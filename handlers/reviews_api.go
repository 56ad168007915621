package handlers

import (
	"net/http"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/labstack/echo/v4"
)

// ReviewAPI lets approvers decide review requests over the JSON API. It
// is authenticated by the signed-in session (cookie), and as every unsafe
// request with a cookie it needs the CSRF token in the X-CSRF-Token header
// (or a same-origin browser request).
type ReviewAPI struct {
	Store *models.Store
}

// decisionBody is the optional body of approve and deny.
type decisionBody struct {
	Comment string `json:"comment"`
}

// Approve records the signed-in user's approval of a request.
func (h *ReviewAPI) Approve(c echo.Context) error { return h.decide(c, true) }

// Deny records the signed-in user's deny of a request (a comment is required).
func (h *ReviewAPI) Deny(c echo.Context) error { return h.decide(c, false) }

func (h *ReviewAPI) decide(c echo.Context, approve bool) error {
	var body decisionBody
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		if c.Request().ContentLength != 0 {
			if err := DecodeJSON(c, &body); err != nil {
				return err
			}
		}
	} else {
		body.Comment = c.FormValue("comment")
	}
	ctx := c.Request().Context()
	r, err := h.Store.ReviewRequestByPublicID(ctx, c.Param("id"))
	if err != nil {
		return NewAPIError(http.StatusNotFound, "not_found", "No review request with this id.")
	}
	if approve {
		r, err = h.Store.ApproveReview(ctx, auth.Actor(c), r.ID, body.Comment)
	} else {
		r, err = h.Store.DenyReview(ctx, auth.Actor(c), r.ID, body.Comment)
	}
	if err != nil {
		return err
	}
	out, err := reviewJSON(c, h.Store, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
