package web

import (
	"net/http"

	"github.com/countersign/countersign/handlers"
	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// route is one entry of the route table: a method and path, the permission
// it requires, the handler, and its label when it is in the navigation.
type route struct {
	method  string
	path    string
	perm    authz.Permission
	handler echo.HandlerFunc
	nav     string
}

// RouteInfo describes a route for tests and documentation.
type RouteInfo struct {
	Method     string
	Path       string
	Permission authz.Permission
}

// handlerSet is every handler the routes use, built once in New.
type handlerSet struct {
	health   *handlers.Health
	home     *handlers.Home
	sessions *handlers.Sessions
	users    *handlers.Users
	teams    *handlers.Teams
	audit    *handlers.Audit
	servers  *handlers.Servers
	tools    *handlers.Tools
	findings *handlers.Findings
	keyTypes *handlers.KeyTypes
	envs     *handlers.Environments
	desktop  *handlers.Desktop
	creds    *handlers.Credentials
	api      *handlers.API
	rviews   *handlers.ReportViews
	imports  *handlers.Import
	access   *handlers.Access
	reviews  *handlers.ReviewAPI
	rots     *handlers.Rotations
	gateway  *handlers.Gateway
	jobs     *handlers.Jobs
	queue    *handlers.Reviews
	grants   *handlers.Grants
	rules    *handlers.ReviewRules
	clients  *handlers.Clients
	notify   *handlers.Notifications
	static   echo.HandlerFunc
	metrics  echo.HandlerFunc
}

var (
	usersRead  = authz.Permission{Object: authz.ObjUsers, Action: authz.ActRead}
	usersWrite = authz.Permission{Object: authz.ObjUsers, Action: authz.ActWrite}
	teamsRead  = authz.Permission{Object: authz.ObjTeams, Action: authz.ActRead}
	teamsWrite = authz.Permission{Object: authz.ObjTeams, Action: authz.ActWrite}
	auditRead  = authz.Permission{Object: authz.ObjAudit, Action: authz.ActRead}
	invRead    = authz.Permission{Object: authz.ObjInventory, Action: authz.ActRead}
	invWrite   = authz.Permission{Object: authz.ObjInventory, Action: authz.ActWrite}
	findRead   = authz.Permission{Object: authz.ObjFindings, Action: authz.ActRead}
	excWrite   = authz.Permission{Object: authz.ObjExceptions, Action: authz.ActWrite}
	repRead    = authz.Permission{Object: authz.ObjReports, Action: authz.ActRead}
	repExport  = authz.Permission{Object: authz.ObjReports, Action: authz.ActExport}
	decide     = authz.Permission{Object: authz.ObjReviews, Action: authz.ActDecide}
	rotRead    = authz.Permission{Object: authz.ObjRotations, Action: authz.ActRead}
	rotWrite   = authz.Permission{Object: authz.ObjRotations, Action: authz.ActWrite}
	jobsRead   = authz.Permission{Object: authz.ObjJobs, Action: authz.ActRead}
	jobsRun    = authz.Permission{Object: authz.ObjJobs, Action: authz.ActRun}
	revRead    = authz.Permission{Object: authz.ObjReviews, Action: authz.ActRead}
	revoke     = authz.Permission{Object: authz.ObjGrants, Action: authz.ActRevoke}
	rulesRead  = authz.Permission{Object: authz.ObjReviewRules, Action: authz.ActRead}
	rulesWrite = authz.Permission{Object: authz.ObjReviewRules, Action: authz.ActWrite}
	cliRead    = authz.Permission{Object: authz.ObjClients, Action: authz.ActRead}
	cliWrite   = authz.Permission{Object: authz.ObjClients, Action: authz.ActWrite}
	notiRead   = authz.Permission{Object: authz.ObjNotifications, Action: authz.ActRead}
	notiWrite  = authz.Permission{Object: authz.ObjNotifications, Action: authz.ActWrite}
	// evaluate is held by API clients (bearer tokens), never by people.
	evaluate = authz.ClientScope(models.ScopeEvaluate)
)

// routeTable is the one route table of Countersign. Every route declares
// the permission it needs; the route × role test in routes_test.go checks
// each of them for every role.
func routeTable(h handlerSet) []route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return []route{
		// Operations and assets.
		{get, "/healthz", authz.Public, h.health.Live, ""},
		{get, "/readyz", authz.Public, h.health.Ready, ""},
		{get, "/metrics", authz.Public, h.metrics, ""},
		{get, "/static/*", authz.Public, h.static, ""},

		// Sign-in and the user's own account.
		{get, "/login", authz.Public, h.sessions.LoginForm, ""},
		{post, "/login", authz.Public, h.sessions.Login, ""},
		{post, "/logout", authz.SignedIn, h.sessions.Logout, ""},
		{get, "/desktop/signin", authz.Public, h.desktop.SignIn, ""},
		{post, "/desktop/quit", authz.SignedIn, h.desktop.QuitApp, ""},
		{get, "/account/sessions", authz.SignedIn, h.sessions.List, ""},
		{post, "/account/sessions/end-all", authz.SignedIn, h.sessions.EndAll, ""},
		{post, "/account/sessions/:id/end", authz.SignedIn, h.sessions.End, ""},

		// Overview.
		{get, "/", authz.SignedIn, h.home.Show, "Overview"},

		// Inventory: MCP servers and their tools.
		{get, "/servers", invRead, h.servers.List, "Servers"},
		{get, "/servers/new", invWrite, h.servers.New, ""},
		{post, "/servers", invWrite, h.servers.Create, ""},
		{get, "/servers/:id", invRead, h.servers.Show, ""},
		{get, "/servers/:id/edit", invWrite, h.servers.Edit, ""},
		{post, "/servers/:id", invWrite, h.servers.Update, ""},
		{get, "/servers/:id/tools/new", invWrite, h.tools.New, ""},
		{post, "/servers/:id/tools", invWrite, h.tools.Create, ""},
		{post, "/servers/:id/tools/import", invWrite, h.tools.Import, ""},
		{get, "/tools/:id", invRead, h.tools.Show, ""},
		{post, "/tools/:id/risk", invWrite, h.tools.SetRisk, ""},
		{post, "/tools/:id/review", invWrite, h.tools.Review, ""},
		{post, "/tools/:id/delete", invWrite, h.tools.Delete, ""},

		// Inventory: credentials (records, never secrets).
		{get, "/credentials", invRead, h.creds.List, "Credentials"},
		{get, "/credentials/new", invWrite, h.creds.New, ""},
		{post, "/credentials", invWrite, h.creds.Create, ""},
		{get, "/credentials/:id", invRead, h.creds.Show, ""},
		{get, "/credentials/:id/edit", invWrite, h.creds.Edit, ""},
		{post, "/credentials/:id", invWrite, h.creds.Update, ""},
		{post, "/credentials/:id/revoke", invWrite, h.creds.Revoke, ""},
		{post, "/credentials/:id/delete", invWrite, h.creds.Delete, ""},

		// Posture findings, the rule catalog and risk exceptions.
		{get, "/findings", findRead, h.findings.List, "Findings"},
		{get, "/findings/rules", findRead, h.findings.Rules, ""},
		{get, "/findings/:id", findRead, h.findings.Show, ""},
		{post, "/findings/:id/exceptions", excWrite, h.findings.RequestException, ""},
		{get, "/exceptions", findRead, h.findings.Exceptions, ""},
		{post, "/exceptions/:id/approve", excWrite, h.findings.Approve, ""},
		{post, "/exceptions/:id/reject", excWrite, h.findings.Reject, ""},
		// Inventory: allowed key types and environments. Environment defaults
		// are written by governance of any team (handlers.Base.CanWriteDefaults).
		{get, "/servers/:id/key-types/new", invWrite, h.keyTypes.NewForServer, ""},
		{post, "/servers/:id/key-types", invWrite, h.keyTypes.CreateForServer, ""},
		{get, "/key-types/preview", invRead, h.keyTypes.Preview, ""},
		{get, "/key-types/:id/edit", invWrite, h.keyTypes.Edit, ""},
		{post, "/key-types/:id", invWrite, h.keyTypes.Update, ""},
		{post, "/key-types/:id/delete", invWrite, h.keyTypes.Delete, ""},
		{get, "/environments", invRead, h.envs.List, "Environments"},
		{get, "/environments/:id", invRead, h.envs.Show, ""},
		{get, "/environments/:id/key-types/new", invWrite, h.envs.NewDefault, ""},
		{post, "/environments/:id/key-types", invWrite, h.envs.CreateDefault, ""},
		// Inventory: import of MCP client configuration files.
		{get, "/import", invWrite, h.imports.Form, "Import"},
		{post, "/import/preview", invWrite, h.imports.Preview, ""},
		{post, "/import/apply", invWrite, h.imports.Apply, ""},

		// JSON API: the inventory (session-authenticated; same permissions).
		{get, "/api/v1/openapi.json", authz.Public, h.api.OpenAPI, ""},
		{get, "/api/v1/servers", invRead, h.api.ListServers, ""},
		{post, "/api/v1/servers", invWrite, h.api.CreateServer, ""},
		{get, "/api/v1/servers/:id", invRead, h.api.GetServer, ""},
		{put, "/api/v1/servers/:id", invWrite, h.api.UpdateServer, ""},
		{get, "/api/v1/servers/:id/tools", invRead, h.api.ListTools, ""},
		{post, "/api/v1/servers/:id/tools", invWrite, h.api.SyncTools, ""},
		{get, "/api/v1/tools/:id", invRead, h.api.GetTool, ""},
		{get, "/api/v1/servers/:id/key-types", invRead, h.api.ServerKeyTypes, ""},
		{post, "/api/v1/servers/:id/key-types", invWrite, h.api.CreateServerKeyType, ""},
		{put, "/api/v1/key-types/:id", invWrite, h.api.UpdateKeyType, ""},
		{del, "/api/v1/key-types/:id", invWrite, h.api.DeleteKeyType, ""},
		{get, "/api/v1/environments/:id/key-types", invRead, h.api.EnvironmentKeyTypes, ""},
		{post, "/api/v1/environments/:id/key-types", invWrite, h.api.CreateEnvironmentKeyType, ""},
		{get, "/api/v1/credentials", invRead, h.api.ListCredentials, ""},
		{post, "/api/v1/credentials", invWrite, h.api.CreateCredential, ""},
		{get, "/api/v1/credentials/:id", invRead, h.api.GetCredential, ""},
		{put, "/api/v1/credentials/:id", invWrite, h.api.UpdateCredential, ""},
		{del, "/api/v1/credentials/:id", invWrite, h.api.DeleteCredential, ""},

		// Runtime decisions. Machine clients get a bearer token from the
		// client-credentials grant and call the AuthZEN endpoints with it;
		// approvers decide over the API with their session (and CSRF header).
		{post, "/oauth/token", authz.Public, h.access.Token, ""},
		{get, "/.well-known/authzen-configuration", authz.Public, h.access.Configuration, ""},
		{post, "/access/v1/evaluation", evaluate, h.access.Evaluate, ""},
		{post, "/access/v1/evaluations", evaluate, h.access.EvaluateBatch, ""},
		{get, "/api/v1/reviews/:id", evaluate, h.access.Review, ""},
		{post, "/api/v1/tasks/:task_id/complete", evaluate, h.access.CompleteTask, ""},
		// The MCP gateway: a Streamable HTTP proxy per registered server,
		// for API clients' bearer tokens, and its OAuth metadata.
		{post, "/mcp/:slug", evaluate, h.gateway.Serve, ""},
		{get, "/mcp/:slug", evaluate, h.gateway.Serve, ""},
		{del, "/mcp/:slug", evaluate, h.gateway.Serve, ""},
		{get, "/.well-known/oauth-protected-resource/mcp/:slug", authz.Public, h.gateway.ResourceMetadata, ""},
		{get, "/.well-known/oauth-authorization-server", authz.Public, h.gateway.AuthorizationServer, ""},
		{post, "/api/v1/reviews/:id/approve", decide, h.reviews.Approve, ""},
		{post, "/api/v1/reviews/:id/deny", decide, h.reviews.Deny, ""},

		// Rotations: the calendar, tasks and their completion. The webhook
		// callback is public at the route: it is authenticated by the
		// signature of its body (handlers.Rotations.Callback), and skips CSRF.
		{get, "/rotations", rotRead, h.rots.Calendar, "Rotations"},
		{get, "/rotations/tasks", rotRead, h.rots.Tasks, ""},
		{get, "/rotations/tasks/:id", rotRead, h.rots.Show, ""},
		{post, "/rotations/tasks/:id/complete", rotWrite, h.rots.Complete, ""},
		{post, "/credentials/:id/rotation-webhook", rotWrite, h.rots.SetWebhook, ""},
		{post, "/api/v1/rotations/:id/complete", authz.Public, h.rots.Callback, ""},
		// Runtime review: the approvers' live queue (the badge and the
		// results are polled by htmx), request pages, grants.
		{get, "/reviews", revRead, h.queue.Queue, "Reviews"},
		{get, "/reviews/live", revRead, h.queue.Live, ""},
		{get, "/reviews/badge", revRead, h.queue.Badge, ""},
		{get, "/reviews/:id", revRead, h.queue.Show, ""},
		{post, "/reviews/:id/approve", decide, h.queue.Approve, ""},
		{post, "/reviews/:id/deny", decide, h.queue.Deny, ""},
		{get, "/grants", revRead, h.grants.List, ""},
		{post, "/grants/:id/revoke", revoke, h.grants.Revoke, ""},

		// Compliance reports: dashboard, framework view, review analytics, evidence.
		{get, "/reports", repRead, h.rviews.Dashboard, "Reports"},
		{get, "/reports/frameworks", repRead, h.rviews.Frameworks, ""},
		{get, "/reports/reviews", repRead, h.rviews.Reviews, ""},
		{get, "/reports/rotations", repRead, h.rviews.Rotations, ""},
		{get, "/reports/evidence-pack", repExport, h.rviews.EvidencePage, ""},
		{get, "/reports/evidence", repExport, h.rviews.Evidence, ""},

		// Audit log.
		{get, "/audit", auditRead, h.audit.List, "Audit log"},
		{post, "/audit/verify", auditRead, h.audit.Verify, ""},

		// Administration: scheduled jobs.
		{get, "/admin/jobs", jobsRead, h.jobs.List, "Jobs"},
		{post, "/admin/jobs/:name/run", jobsRun, h.jobs.RunNow, ""},

		// Administration: teams.
		{get, "/admin/teams", teamsRead, h.teams.List, "Teams"},
		{get, "/admin/teams/new", teamsWrite, h.teams.New, ""},
		{post, "/admin/teams", teamsWrite, h.teams.Create, ""},
		{get, "/admin/teams/:id", teamsRead, h.teams.Show, ""},
		{get, "/admin/teams/:id/edit", teamsWrite, h.teams.Edit, ""},
		{post, "/admin/teams/:id", teamsWrite, h.teams.Update, ""},

		// Administration: review rules, API clients, notification channels.
		{get, "/admin/review-rules", rulesRead, h.rules.List, "Review rules"},
		{get, "/admin/review-rules/new", rulesWrite, h.rules.New, ""},
		{post, "/admin/review-rules", rulesWrite, h.rules.Create, ""},
		{get, "/admin/review-rules/:id/edit", rulesWrite, h.rules.Edit, ""},
		{post, "/admin/review-rules/:id", rulesWrite, h.rules.Update, ""},
		{post, "/admin/review-rules/:id/move", rulesWrite, h.rules.Move, ""},
		{post, "/admin/review-rules/:id/delete", rulesWrite, h.rules.Delete, ""},
		{get, "/admin/clients", cliRead, h.clients.List, ""},
		{get, "/admin/clients/new", cliWrite, h.clients.New, ""},
		{post, "/admin/clients", cliWrite, h.clients.Create, ""},
		{post, "/admin/clients/:id/rotate", cliWrite, h.clients.Rotate, ""},
		{post, "/admin/clients/:id/webhook", cliWrite, h.clients.SetWebhook, ""},
		{post, "/admin/clients/:id/revoke", cliWrite, h.clients.Revoke, ""},
		{get, "/admin/notifications", notiRead, h.notify.List, ""},
		{get, "/admin/notifications/new", notiWrite, h.notify.New, ""},
		{post, "/admin/notifications", notiWrite, h.notify.Create, ""},
		{get, "/admin/notifications/:id/edit", notiWrite, h.notify.Edit, ""},
		{post, "/admin/notifications/:id", notiWrite, h.notify.Update, ""},
		{post, "/admin/notifications/:id/delete", notiWrite, h.notify.Delete, ""},
		{post, "/admin/notifications/outbox/:id/retry", notiWrite, h.notify.Retry, ""},

		// Administration: users and role assignments.
		{get, "/admin/users", usersRead, h.users.List, "Users"},
		{get, "/admin/users/new", usersWrite, h.users.New, ""},
		{post, "/admin/users", usersWrite, h.users.Create, ""},
		{get, "/admin/users/:id", usersRead, h.users.Show, ""},
		{post, "/admin/users/:id/deactivate", usersWrite, h.users.Deactivate, ""},
		{post, "/admin/users/:id/reactivate", usersWrite, h.users.Reactivate, ""},
		{post, "/admin/users/:id/password", usersWrite, h.users.SetPassword, ""},
		{post, "/admin/users/:id/roles", usersWrite, h.users.AssignRole, ""},
		{post, "/admin/users/:id/roles/:rid/revoke", usersWrite, h.users.RevokeRole, ""},
	}
}
