package web_test

import (
	"context"
	"encoding/json"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// Objects of the runtime review pages, made on first use.

// apiClient returns an API client of the fixture's team (made once).
func (f *fixture) apiClient() models.APIClient {
	f.t.Helper()
	if f.extra["client"] == 0 {
		c, _, err := f.store.CreateAPIClient(context.Background(), modeltest.Admin, models.APIClientInput{Name: "gateway",
			TeamID: f.team.ID, Scopes: []string{models.ScopeEvaluate}})
		if err != nil {
			f.t.Fatal(err)
		}
		f.extra["client"] = c.ID
	}
	c, err := f.store.APIClientByID(context.Background(), f.extra["client"])
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// reviewTool is the tool the held calls use: wire_transfer, destructive,
// on the fixture's prod server (its own tool, so that the route test's
// delete of the fixture tool leaves it alone).
func (f *fixture) reviewTool() string {
	f.t.Helper()
	if f.extra["review_tool"] == 0 {
		yes := true
		t, err := f.store.AddTool(context.Background(), modeltest.Admin, f.server.ID, models.ToolDefinition{Name: "wire_transfer",
			Annotations: &models.ToolHints{DestructiveHint: &yes}})
		if err != nil {
			f.t.Fatal(err)
		}
		f.extra["review_tool"] = t.ID
	}
	return "wire_transfer"
}

// holdCall asks for a decision on wire_transfer (a destructive tool of a
// prod server: held for review) and returns the review request.
func (f *fixture) holdCall(subject, onBehalfOf, args string) models.ReviewRequest {
	f.t.Helper()
	d, err := f.store.Evaluate(context.Background(), f.apiClient(), models.EvaluationRequest{Subject: subject, SubjectType: "agent",
		OnBehalfOf: onBehalfOf, Action: models.ActionToolsCall, Resource: f.server.Slug + "/" + f.reviewTool(),
		Arguments: json.RawMessage(args), TaskID: "T-981", Justification: "customer ticket 4411"})
	if err != nil {
		f.t.Fatal(err)
	}
	if d.Review == nil {
		f.t.Fatalf("the call was not held: %s (%s)", d.Outcome, d.Reason)
	}
	return *d.Review
}

// reviewID returns a pending request of the fixture's team.
func (f *fixture) reviewID() uint {
	f.t.Helper()
	if f.extra["review"] == 0 {
		f.extra["review"] = f.holdCall("support-bot", "", `{"invoice":"INV-1","amount":10}`).ID
	}
	return f.extra["review"]
}

// grantID returns a live grant: a request approved by the approver.
func (f *fixture) grantID() uint {
	f.t.Helper()
	if f.extra["grant"] == 0 {
		r := f.holdCall("support-bot", "", `{"invoice":"INV-2","amount":20}`)
		u := f.users["approver"]
		if _, err := f.store.ApproveReview(context.Background(), models.Actor{UserID: u.ID, Label: u.Email}, r.ID, ""); err != nil {
			f.t.Fatal(err)
		}
		grants, err := f.store.GrantsOfReview(context.Background(), r.ID)
		if err != nil || len(grants) != 1 {
			f.t.Fatalf("grants of the approved request: %v %v", grants, err)
		}
		f.extra["grant"] = grants[0].ID
	}
	return f.extra["grant"]
}

// ruleID returns a review rule of the team that matches no fixture call.
func (f *fixture) ruleID() uint {
	f.t.Helper()
	if f.extra["rule"] == 0 {
		r, err := f.store.CreateReviewRule(context.Background(), modeltest.Admin, models.ReviewRuleInput{TeamID: f.team.ID,
			Name: "reads are fine", ToolPattern: "get_*", Outcome: models.RuleAllow, Enabled: true})
		if err != nil {
			f.t.Fatal(err)
		}
		f.extra["rule"] = r.ID
	}
	return f.extra["rule"]
}

// clientID returns the id of the fixture's API client.
func (f *fixture) clientID() uint { return f.apiClient().ID }

// channelID returns a webhook channel of the team.
func (f *fixture) channelID() uint {
	f.t.Helper()
	if f.extra["channel"] == 0 {
		c, err := f.store.CreateNotificationChannel(context.Background(), modeltest.Admin, models.NotificationChannelInput{
			TeamID: f.team.ID, Name: "payments approvals", Kind: models.ChannelWebhook, URL: "https://hooks.example.com/cs", Enabled: true})
		if err != nil {
			f.t.Fatal(err)
		}
		f.extra["channel"] = c.ID
	}
	return f.extra["channel"]
}

// failedOutboxID returns an outbox message of the team whose delivery
// failed for good.
func (f *fixture) failedOutboxID() uint {
	f.t.Helper()
	if f.extra["outbox"] == 0 {
		if err := f.store.Enqueue(context.Background(), models.Notification{Event: "review.requested", TeamID: f.team.ID,
			Subject: "test message", Payload: map[string]any{"n": 1}}); err != nil {
			f.t.Fatal(err)
		}
		msgs, err := f.store.OutboxMessages(context.Background(), models.OutboxPending, 1)
		if err != nil || len(msgs) != 1 {
			f.t.Fatalf("outbox: %v %v", msgs, err)
		}
		if _, err := f.store.SQLDB().Exec(`UPDATE outbox_messages SET status = 'failed', attempts = 8, last_error = 'webhook answered 500 Internal Server Error' WHERE id = ?`, msgs[0].ID); err != nil {
			f.t.Fatal(err)
		}
		f.extra["outbox"] = msgs[0].ID
	}
	return f.extra["outbox"]
}
