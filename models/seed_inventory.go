package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// InventorySeedSummary reports what SeedDemoInventory created.
type InventorySeedSummary struct {
	Servers, Tools, Policies, Credentials int
	Findings                              int
	Skipped                               bool
}

type demoServer struct {
	slug, name, team, env, transport, endpoint, hosting, vendor, owner, classes, status string
	prodData, writes, multiTenant, chains                                               bool
	tools                                                                               []demoTool
	policy                                                                              []KeyType // own key policy; nil inherits
}

type demoTool struct {
	name                     string
	readOnly, destr, openWld *bool
}

func b(v bool) *bool { return &v }

var (
	roClosed = demoTool{readOnly: b(true), openWld: b(false)}
	roOpen   = demoTool{readOnly: b(true), openWld: b(true)}
	write    = demoTool{readOnly: b(false), destr: b(false), openWld: b(false)}
	destroy  = demoTool{readOnly: b(false), destr: b(true), openWld: b(false)}
)

func tool(name string, kind demoTool) demoTool { kind.name = name; return kind }

var demoServers = []demoServer{
	{slug: "billing-prod", name: "Billing (prod)", team: "payments", env: "prod", transport: "streamable-http", endpoint: "https://mcp.billing.internal/mcp",
		hosting: "self", owner: "grace.governance@example.com", classes: "financial,pii", prodData: true, writes: true,
		tools:  []demoTool{tool("get_invoice", roClosed), tool("refund_payment", destroy), tool("create_credit_note", write)},
		policy: []KeyType{KeyOAuthDelegated, KeyShortLivedToken}},
	{slug: "billing-test", name: "Billing (test)", team: "payments", env: "test", transport: "streamable-http", endpoint: "https://mcp.billing.test.internal/mcp",
		hosting: "self", owner: "grace.governance@example.com", classes: "financial", writes: true,
		tools: []demoTool{tool("get_invoice", roClosed), tool("refund_payment", destroy)}},
	{slug: "stripe-gateway", name: "Stripe gateway", team: "payments", env: "prod", transport: "streamable-http", endpoint: "https://mcp.stripe.example.com/v1",
		hosting: "vendor", vendor: "Stripe", owner: "amir.approver@example.com", classes: "financial,pii", prodData: true, writes: true, multiTenant: true,
		tools:  []demoTool{tool("list_charges", roOpen), tool("create_refund", destroy)},
		policy: []KeyType{KeyScopedAPIKey, KeyOAuthDelegated}},
	{slug: "ledger-reader", name: "Ledger reader", team: "payments", env: "prod", transport: "stdio", endpoint: "ledger-mcp --read-only",
		hosting: "self", owner: "grace.governance@example.com", classes: "financial", prodData: true,
		tools: []demoTool{tool("query_ledger", roClosed)}},
	{slug: "payments-sandbox", name: "Payments sandbox", team: "payments", env: "dev", transport: "stdio", endpoint: "npx -y payments-sandbox-mcp",
		hosting: "self", owner: "", tools: []demoTool{tool("simulate_charge", write)}},
	{slug: "zendesk-prod", name: "Zendesk desk", team: "support", env: "prod", transport: "streamable-http", endpoint: "https://mcp.zendesk.example.com/mcp",
		hosting: "vendor", vendor: "Zendesk", owner: "grace.governance@example.com", classes: "pii", prodData: true, writes: true, multiTenant: true,
		tools: []demoTool{tool("search_tickets", roOpen), tool("reply_to_ticket", write), tool("merge_tickets", destroy)}},
	{slug: "crm-prod", name: "CRM", team: "support", env: "prod", transport: "streamable-http", endpoint: "https://mcp.crm.internal/mcp",
		hosting: "self", owner: "bea.approver@example.com", classes: "pii", prodData: true, writes: true,
		tools:  []demoTool{tool("lookup_customer", roClosed), tool("update_customer", write), tool("delete_customer", destroy)},
		policy: []KeyType{KeyOAuthDelegated}},
	{slug: "kb-search", name: "Knowledge base search", team: "support", env: "prod", transport: "sse", endpoint: "https://kb.internal/sse",
		hosting: "self", owner: "bea.approver@example.com", tools: []demoTool{tool("search_articles", roClosed)}},
	{slug: "support-slack", name: "Support Slack bot", team: "support", env: "prod", transport: "stdio", endpoint: "npx -y @modelcontextprotocol/server-slack",
		hosting: "self", owner: "", writes: true, chains: true, tools: []demoTool{tool("post_message", write), {name: "list_channels"}}},
	{slug: "support-staging", name: "Support tools (staging)", team: "support", env: "test", transport: "streamable-http", endpoint: "https://mcp.support.test.internal/mcp",
		hosting: "self", owner: "grace.governance@example.com", tools: []demoTool{tool("reply_to_ticket", write)}},
	{slug: "warehouse-prod", name: "Warehouse (prod)", team: "data-platform", env: "prod", transport: "streamable-http", endpoint: "https://mcp.warehouse.internal/mcp",
		hosting: "self", owner: "dana.data@example.com", classes: "pii,analytics", prodData: true, chains: true,
		tools: []demoTool{tool("run_query", roClosed), tool("export_table", roOpen), tool("drop_table", destroy)}},
	{slug: "warehouse-dev", name: "Warehouse (dev)", team: "data-platform", env: "dev", transport: "streamable-http", endpoint: "https://mcp.warehouse.dev.internal/mcp",
		hosting: "self", owner: "dana.data@example.com", tools: []demoTool{tool("run_query", roClosed), tool("drop_table", destroy)}},
	{slug: "airflow-prod", name: "Airflow", team: "data-platform", env: "prod", transport: "streamable-http", endpoint: "https://mcp.airflow.internal/mcp",
		hosting: "self", owner: "carl.approver@example.com", prodData: true, writes: true,
		tools:  []demoTool{tool("list_dags", roClosed), tool("trigger_dag", write), tool("clear_task_instances", destroy)},
		policy: []KeyType{KeyWorkloadIdentity, KeyShortLivedToken}},
	{slug: "github-tools", name: "GitHub", team: "data-platform", env: "dev", transport: "stdio", endpoint: "npx -y @modelcontextprotocol/server-github",
		hosting: "vendor", vendor: "GitHub", owner: "dana.data@example.com", writes: true,
		tools: []demoTool{tool("search_code", roOpen), tool("create_pull_request", write)}},
	{slug: "s3-archive", name: "S3 archive", team: "data-platform", env: "prod", transport: "stdio", endpoint: "s3-mcp --bucket archive",
		hosting: "self", owner: "dana.data@example.com", classes: "pii", prodData: true, status: "retired",
		tools: []demoTool{tool("get_object", roClosed)}},
}

// envPolicies are the environment defaults every server inherits unless it
// documents its own (stricter) policy.
var envPolicies = map[string][]struct {
	kt        KeyType
	days      int
	spec, why string
}{
	"dev":  {{KeyStaticAPIKey, 365, "0 9 1 */3 *", "Development systems hold no customer data; static keys are tolerated with a quarterly rotation."}, {KeyScopedAPIKey, 365, "0 9 1 */3 *", "Scoped keys are preferred over static ones in development."}, {KeyShortLivedToken, 1, "", "Short-lived tokens expire by themselves."}, {KeyOAuthDelegated, 90, "", "Delegated OAuth acts for a person and is revocable."}, {KeyWorkloadIdentity, 1, "", "Workload identity has no shared secret."}},
	"test": {{KeyScopedAPIKey, 180, "0 9 1 * *", "Test systems mirror production shapes; keys must be scoped and rotated monthly."}, {KeyShortLivedToken, 1, "", "Short-lived tokens expire by themselves."}, {KeyOAuthDelegated, 90, "", "Delegated OAuth acts for a person and is revocable."}, {KeyWorkloadIdentity, 1, "", "Workload identity has no shared secret."}},
	"prod": {{KeyShortLivedToken, 1, "", "Production access uses tokens that live minutes, minted per task."}, {KeyOAuthDelegated, 30, "0 6 * * 1", "Delegated OAuth keeps the acting person visible; refresh tokens rotate weekly."}, {KeyWorkloadIdentity, 1, "", "Workload identity (SPIFFE SVID) for service-to-service calls."}, {KeyMTLSCertificate, 90, "0 6 1 * *", "mTLS certificates from the internal CA, rotated monthly."}},
}

// demoCredential describes one seeded credential. secret names a shared
// random secret: two credentials with the same name share a fingerprint.
type demoCredential struct {
	name, server, kt, owner, secret, issuer, spec string
	ageDays, expiresInDays                        int
	overdueDays                                   int
	revoked                                       bool
}

var demoCredentials = []demoCredential{
	{name: "billing-prod stripe live key", server: "billing-prod", kt: "static_api_key", owner: "grace.governance@example.com", secret: "stripe-live", issuer: "Stripe dashboard", ageDays: 410},
	{name: "billing-prod oauth client", server: "billing-prod", kt: "oauth_delegated", owner: "grace.governance@example.com", issuer: "Okta", ageDays: 20, expiresInDays: 10, spec: "0 6 * * 1"},
	{name: "billing-prod ledger token", server: "billing-prod", kt: "short_lived_token", owner: "amir.approver@example.com", issuer: "Vault", ageDays: 1, expiresInDays: 1},
	{name: "billing-test stripe test key", server: "billing-test", kt: "scoped_api_key", owner: "grace.governance@example.com", secret: "stripe-live", issuer: "Stripe dashboard", ageDays: 200, expiresInDays: 30, spec: "0 9 1 * *"},
	{name: "billing-test db password", server: "billing-test", kt: "static_api_key", owner: "grace.governance@example.com", issuer: "Vault", ageDays: 90, expiresInDays: 90},
	{name: "stripe-gateway restricted key", server: "stripe-gateway", kt: "scoped_api_key", owner: "amir.approver@example.com", issuer: "Stripe dashboard", ageDays: 60, expiresInDays: 120, spec: "0 9 1 * *"},
	{name: "stripe-gateway webhook secret", server: "stripe-gateway", kt: "static_api_key", owner: "amir.approver@example.com", issuer: "Stripe dashboard", ageDays: 700},
	{name: "ledger-reader token", server: "ledger-reader", kt: "short_lived_token", owner: "grace.governance@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "ledger-reader mTLS cert", server: "ledger-reader", kt: "mtls_certificate", owner: "grace.governance@example.com", issuer: "Internal CA", ageDays: 40, expiresInDays: 50, spec: "0 6 1 * *", overdueDays: 9},
	{name: "payments-sandbox key", server: "payments-sandbox", kt: "static_api_key", owner: "", issuer: "Sandbox", ageDays: 30, expiresInDays: 300, spec: "0 9 1 */3 *"},
	{name: "payments-sandbox token", server: "payments-sandbox", kt: "short_lived_token", owner: "grace.governance@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "zendesk api token", server: "zendesk-prod", kt: "static_api_key", owner: "grace.governance@example.com", secret: "zendesk", issuer: "Zendesk admin", ageDays: 500},
	{name: "zendesk oauth", server: "zendesk-prod", kt: "oauth_delegated", owner: "bea.approver@example.com", issuer: "Zendesk", ageDays: 10, expiresInDays: 20, spec: "0 6 * * 1"},
	{name: "crm oauth client", server: "crm-prod", kt: "oauth_delegated", owner: "bea.approver@example.com", issuer: "Okta", ageDays: 15, expiresInDays: 15, spec: "0 6 * * 1"},
	{name: "crm service key", server: "crm-prod", kt: "scoped_api_key", owner: "bea.approver@example.com", issuer: "CRM admin", ageDays: 120},
	{name: "crm export token", server: "crm-prod", kt: "short_lived_token", owner: "bea.approver@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "kb-search token", server: "kb-search", kt: "short_lived_token", owner: "bea.approver@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "kb-search workload id", server: "kb-search", kt: "workload_identity", owner: "bea.approver@example.com", issuer: "SPIRE", ageDays: 0, expiresInDays: 1},
	{name: "support slack bot token", server: "support-slack", kt: "static_api_key", owner: "", secret: "slack-bot", issuer: "Slack admin", ageDays: 300},
	{name: "support slack signing secret", server: "support-slack", kt: "static_api_key", owner: "grace.governance@example.com", issuer: "Slack admin", ageDays: 300, expiresInDays: 60},
	{name: "support-staging key", server: "support-staging", kt: "scoped_api_key", owner: "grace.governance@example.com", secret: "zendesk", issuer: "Zendesk admin", ageDays: 100, expiresInDays: 100, spec: "0 9 1 * *"},
	{name: "support-staging token", server: "support-staging", kt: "short_lived_token", owner: "grace.governance@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "warehouse-prod service account", server: "warehouse-prod", kt: "workload_identity", owner: "dana.data@example.com", issuer: "SPIRE", ageDays: 0, expiresInDays: 1},
	{name: "warehouse-prod analyst oauth", server: "warehouse-prod", kt: "oauth_delegated", owner: "dana.data@example.com", issuer: "Okta", ageDays: 25, expiresInDays: 5, spec: "0 6 * * 1"},
	{name: "warehouse-prod legacy password", server: "warehouse-prod", kt: "static_api_key", owner: "dana.data@example.com", secret: "warehouse", issuer: "Snowflake", ageDays: 900},
	{name: "warehouse-dev password", server: "warehouse-dev", kt: "static_api_key", owner: "dana.data@example.com", secret: "warehouse", issuer: "Snowflake", ageDays: 400, expiresInDays: 30, spec: "0 9 1 */3 *"},
	{name: "warehouse-dev token", server: "warehouse-dev", kt: "short_lived_token", owner: "dana.data@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "airflow workload id", server: "airflow-prod", kt: "workload_identity", owner: "carl.approver@example.com", issuer: "SPIRE", ageDays: 0, expiresInDays: 1},
	{name: "airflow api token", server: "airflow-prod", kt: "short_lived_token", owner: "carl.approver@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "airflow admin key", server: "airflow-prod", kt: "scoped_api_key", owner: "carl.approver@example.com", issuer: "Airflow", ageDays: 200, expiresInDays: 10, spec: "0 9 1 * *", overdueDays: 5},
	{name: "github pat (data)", server: "github-tools", kt: "static_api_key", owner: "dana.data@example.com", secret: "github", issuer: "GitHub", ageDays: 150, expiresInDays: 30, spec: "0 9 1 */3 *"},
	{name: "github app key", server: "github-tools", kt: "scoped_api_key", owner: "dana.data@example.com", issuer: "GitHub", ageDays: 50, expiresInDays: 300, spec: "0 9 1 */3 *"},
	{name: "s3 archive access key", server: "s3-archive", kt: "static_api_key", owner: "dana.data@example.com", issuer: "AWS IAM", ageDays: 1000, revoked: true},
	{name: "ledger-reader old key", server: "ledger-reader", kt: "static_api_key", owner: "grace.governance@example.com", issuer: "Vault", ageDays: 800, revoked: true},
	{name: "billing-prod vault token", server: "billing-prod", kt: "short_lived_token", owner: "grace.governance@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "crm sandbox key", server: "support-staging", kt: "scoped_api_key", owner: "bea.approver@example.com", issuer: "CRM admin", ageDays: 20, expiresInDays: 160, spec: "0 9 1 * *"},
	{name: "warehouse-prod dbt token", server: "warehouse-prod", kt: "short_lived_token", owner: "dana.data@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "stripe-gateway oauth", server: "stripe-gateway", kt: "oauth_delegated", owner: "amir.approver@example.com", issuer: "Stripe Connect", ageDays: 5, expiresInDays: 25, spec: "0 6 * * 1"},
	{name: "zendesk staging token", server: "support-staging", kt: "short_lived_token", owner: "bea.approver@example.com", issuer: "Vault", ageDays: 0, expiresInDays: 1},
	{name: "airflow mTLS cert", server: "airflow-prod", kt: "mtls_certificate", owner: "carl.approver@example.com", issuer: "Internal CA", ageDays: 10, expiresInDays: 80, spec: "0 6 1 * *"},
}

// SeedDemoInventory fills the demo organisation's inventory: about fifteen
// servers in dev, test and prod with their tools, environment and server key
// policies, and forty credentials, including a secret reused between a dev
// and a prod server and a static key on a prod write server. Secrets are
// random strings made up for the seed; only their fingerprints are kept. It
// needs the demo teams and people (SeedDemo) and does nothing when the demo
// servers exist already. Findings are recomputed at the end.
func (s *Store) SeedDemoInventory(ctx context.Context) (InventorySeedSummary, error) {
	var sum InventorySeedSummary
	if _, err := s.ServerBySlug(ctx, demoServers[0].slug); err == nil {
		sum.Skipped = true
		return sum, nil
	} else if !errors.Is(err, ErrNotFound) {
		return sum, err
	}
	if s.fp == nil {
		return sum, errors.New("seed: the store has no fingerprinter")
	}
	actor := SystemActor("seed")
	now := s.Now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		ids := seedIDs{teams: map[string]uint{}, envs: map[string]uint{}, users: map[string]uint{}, servers: map[string]Server{}}
		if err := ids.load(tx); err != nil {
			return err
		}
		for env, entries := range envPolicies {
			for _, e := range entries {
				envID := ids.envs[env]
				p := AllowedKeyType{EnvironmentID: &envID, KeyType: e.kt, MaxLifetimeDays: e.days, RotationSpec: e.spec,
					RotationTZ: tzIf(e.spec), Rationale: e.why}
				if err := s.seedPolicy(tx, actor, p, "environment", envID); err != nil {
					return err
				}
				sum.Policies++
			}
		}
		for _, d := range demoServers {
			srv, err := s.seedServer(tx, actor, d, &ids)
			if err != nil {
				return err
			}
			ids.servers[d.slug] = srv
			sum.Servers++
			sum.Tools += len(d.tools)
			sum.Policies += len(d.policy)
		}
		secrets := map[string]string{}
		for i, d := range demoCredentials {
			if err := s.seedCredential(tx, actor, d, i, now, &ids, secrets); err != nil {
				return err
			}
			sum.Credentials++
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	res, err := s.RecomputeFindings(ctx)
	sum.Findings = res.Open
	return sum, err
}

type seedIDs struct {
	teams, envs, users map[string]uint
	servers            map[string]Server
}

func (ids *seedIDs) load(tx *gorm.DB) error {
	var teams []Team
	var envs []Environment
	var users []User
	if err := tx.Find(&teams).Error; err != nil {
		return err
	}
	if err := tx.Find(&envs).Error; err != nil {
		return err
	}
	if err := tx.Find(&users).Error; err != nil {
		return err
	}
	for _, t := range teams {
		ids.teams[t.Slug] = t.ID
	}
	for _, e := range envs {
		ids.envs[e.Name] = e.ID
	}
	for _, u := range users {
		ids.users[u.Email] = u.ID
	}
	for _, team := range []string{"payments", "support", "data-platform"} {
		if ids.teams[team] == 0 {
			return fmt.Errorf("seed: team %s is missing; run the demo seed of teams and people first", team)
		}
	}
	return nil
}

func tzIf(spec string) string {
	if spec == "" {
		return ""
	}
	return "Europe/Berlin"
}

func (s *Store) seedPolicy(tx *gorm.DB, actor Actor, p AllowedKeyType, objType string, objID uint) error {
	if err := tx.Create(&p).Error; err != nil {
		return fmt.Errorf("seed key policy: %w", err)
	}
	return s.appendAudit(tx, actor, AuditEntry{Action: "keytype.create", ObjectType: objType, ObjectID: fmt.Sprint(objID),
		After: map[string]any{"key_type": p.KeyType, "max_lifetime_days": p.MaxLifetimeDays, "rotation_spec": p.RotationSpec, "rationale": p.Rationale}})
}

func (s *Store) seedServer(tx *gorm.DB, actor Actor, d demoServer, ids *seedIDs) (Server, error) {
	status := ServerActive
	if d.status != "" {
		status = ServerStatus(d.status)
	}
	in := ServerInput{Slug: d.slug, Name: d.name, TeamID: ids.teams[d.team], EnvironmentID: ids.envs[d.env],
		Transport: Transport(d.transport), Endpoint: d.endpoint, Hosting: Hosting(d.hosting), VendorName: d.vendor,
		OwnerID: ids.users[d.owner], Status: status, ProductionData: d.prodData, WriteActions: d.writes,
		MultiTenant: d.multiTenant, ChainsTools: d.chains, DataClasses: d.classes,
		Description: "Demo server: " + d.name + "."}
	in.Normalize()
	srv, err := s.createServer(tx, actor, in)
	if err != nil {
		return srv, fmt.Errorf("seed server %s: %w", d.slug, err)
	}
	for _, t := range d.tools {
		def := ToolDefinition{Name: t.name, Description: strings.ReplaceAll(t.name, "_", " ") + " (demo tool)."}
		if t.readOnly != nil || t.destr != nil || t.openWld != nil {
			def.Annotations = &ToolHints{ReadOnlyHint: t.readOnly, DestructiveHint: t.destr, OpenWorldHint: t.openWld}
		}
		row := Tool{ServerID: srv.ID}
		def.apply(&row)
		row.ReviewedHash = row.DefinitionHash
		if err := tx.Omit("Server").Create(&row).Error; err != nil {
			return srv, fmt.Errorf("seed tool %s/%s: %w", d.slug, t.name, err)
		}
		if err := s.appendAudit(tx, actor, AuditEntry{Action: "tool.create", ObjectType: "server", ObjectID: fmt.Sprint(srv.ID),
			After: toolSummary(row)}); err != nil {
			return srv, err
		}
	}
	for _, kt := range d.policy {
		sid := srv.ID
		p := AllowedKeyType{ServerID: &sid, KeyType: kt, MaxLifetimeDays: 30,
			Rationale: fmt.Sprintf("%s reaches %s; only %s is allowed here.", d.slug, d.env, kt.Label())}
		if err := s.seedPolicy(tx, actor, p, "server", srv.ID); err != nil {
			return srv, err
		}
	}
	return srv, nil
}

func (s *Store) seedCredential(tx *gorm.DB, actor Actor, d demoCredential, i int, now time.Time, ids *seedIDs, secrets map[string]string) error {
	srv := ids.servers[d.server]
	issued := now.AddDate(0, 0, -d.ageDays)
	c := Credential{Name: d.name, TeamID: srv.TeamID, EnvironmentID: srv.EnvironmentID, KeyType: KeyType(d.kt),
		Issuer: d.issuer, IssuedAt: &issued, LastRotatedAt: &issued, Status: CredentialActive, Source: "seed",
		RotationSpec: d.spec, RotationTZ: tzIf(d.spec), Notes: "Demo credential; its secret was made up by the seed."}
	if d.revoked {
		c.Status = CredentialRevoked
	}
	if id := ids.users[d.owner]; id != 0 {
		c.OwnerID = &id
	}
	if d.expiresInDays > 0 {
		exp := now.AddDate(0, 0, d.expiresInDays)
		c.ExpiresAt = &exp
	}
	if d.spec != "" {
		sched, err := ParseRotationSchedule(d.spec, c.RotationTZ, s.sched)
		if err != nil {
			return fmt.Errorf("seed credential %s: %w", d.name, err)
		}
		next := sched.Next(issued)
		if d.overdueDays > 0 {
			next = now.AddDate(0, 0, -d.overdueDays)
		}
		c.NextDueAt = &next
	}
	// Secrets are made up here and dropped; only fingerprints remain. A
	// named secret is shared by every credential that names it.
	secret := secrets[d.secret]
	if secret == "" || d.secret == "" {
		secret = "demo_" + RandomToken(24)
		if d.secret != "" {
			secrets[d.secret] = secret
		}
	}
	if d.secret != "" || i%5 != 4 { // some credentials were recorded without their secret
		c.Fingerprint, c.Last4 = s.fp.Fingerprint(secret), Last4(secret)
	}
	if err := tx.Omit("Team", "Environment", "Owner", "Servers").Create(&c).Error; err != nil {
		return fmt.Errorf("seed credential %s: %w", d.name, err)
	}
	if err := tx.Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", c.ID, srv.ID).Error; err != nil {
		return err
	}
	return s.appendAudit(tx, actor, AuditEntry{Action: "credential.create", ObjectType: "credential", ObjectID: fmt.Sprint(c.ID),
		After: map[string]any{"name": c.Name, "key_type": c.KeyType, "server": srv.Slug, "last4": c.Last4}})
}
