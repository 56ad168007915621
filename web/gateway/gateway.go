// Package gateway is Countersign's enforcement point for MCP traffic: a
// Streamable HTTP MCP endpoint at /mcp/{server-slug} in front of a
// registered server's upstream endpoint. Clients authenticate with a
// Countersign API client token; the upstream is reached with the
// credential configured for the server on the Countersign host, never with
// the caller's token. Every tools/call is decided by the same code as
// POST /access/v1/evaluation (models.Store.Evaluate): allowed calls are
// forwarded, denied ones are JSON-RPC errors, and calls that need a
// countersignature return the review to approve (a URL elicitation for
// clients that declared it, a tool error with structured content
// otherwise). A retry after approval consumes the grant and runs once.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure a Gateway.
type Options struct {
	// Logger receives gateway errors (never tokens or arguments).
	Logger *slog.Logger
	// Getenv reads the upstream credentials (default os.Getenv).
	Getenv func(string) string
	// Transport carries upstream requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Version is reported as the gateway's MCP implementation version.
	Version string
}

// Gateway serves /mcp/{slug} for every registered server with an HTTP
// endpoint.
type Gateway struct {
	store *models.Store
	opts  Options

	mu        sync.Mutex
	handlers  map[string]*mcp.StreamableHTTPHandler // by server slug
	servers   map[serverKey]*builtServer            // by slug and API client
	upstreams map[uint]*mcp.ClientSession           // by server id
	sessions  map[string]*sessionInfo               // client sessions, by Mcp-Session-Id
}

type serverKey struct {
	slug     string
	clientID uint
}

type builtServer struct {
	server *mcp.Server
	built  time.Time
	gen    uint64
}

// serverTTL is how long a client's view of a server (the upstream's tool
// list, filtered by the team's rules) is reused for new sessions before the
// upstream's tools/list is read again. A change of rules, tools or tokens
// through Countersign rebuilds it at once (the store's policy generation).
const serverTTL = time.Minute

// New returns a gateway on the store.
func New(store *models.Store, opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	return &Gateway{store: store, opts: opts, handlers: map[string]*mcp.StreamableHTTPHandler{},
		servers: map[serverKey]*builtServer{}, upstreams: map[uint]*mcp.ClientSession{}, sessions: map[string]*sessionInfo{}}
}

// CredentialEnv is the environment variable holding the upstream bearer
// credential of a server: COUNTERSIGN_UPSTREAM_TOKEN_ and the slug in upper
// case with dashes as underscores (billing-prod → ..._BILLING_PROD).
func CredentialEnv(slug string) string {
	return "COUNTERSIGN_UPSTREAM_TOKEN_" + strings.ToUpper(strings.ReplaceAll(slug, "-", "_"))
}

// ResourcePath is the path of the proxy of a server; MetadataPath the path
// of its RFC 9728 protected resource metadata.
func ResourcePath(slug string) string { return "/mcp/" + slug }

// MetadataPath is where the server's protected resource metadata is served.
func MetadataPath(slug string) string { return "/.well-known/oauth-protected-resource/mcp/" + slug }

// request carries what the gateway knows about the caller to the MCP
// server and tool handlers.
type request struct {
	client models.APIClient
	server models.Server
	base   string
}

type requestKey struct{}

// Call is one authenticated request to the proxy: the API client (already
// authenticated by the route's bearer check), the server slug, and the
// public base URL of Countersign.
type Call struct {
	Client models.APIClient
	Token  models.APIToken
	Slug   string
	Base   string
}

// ErrNoServer is a slug that names no server of the client's team.
var ErrNoServer = errors.New("no such MCP server for this API client")

// ServeHTTP proxies one MCP request of an authenticated client.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, call Call) {
	ctx := r.Context()
	srv, err := g.store.CachedServerBySlug(ctx, call.Slug)
	if err != nil || srv.TeamID != call.Client.TeamID {
		writeHTTPError(w, http.StatusNotFound, "No MCP server "+call.Slug+" for this API client's team.")
		return
	}
	if srv.Status == models.ServerRetired {
		writeHTTPError(w, http.StatusForbidden, "The server "+call.Slug+" is retired: calls to it are denied.")
		return
	}
	if srv.Endpoint == "" || srv.Transport != models.TransportStreamableHTTP {
		writeHTTPError(w, http.StatusBadGateway, "The server "+call.Slug+" has no Streamable HTTP endpoint registered in Countersign.")
		return
	}
	req := &request{client: call.Client, server: srv, base: call.Base}
	r = r.WithContext(context.WithValue(ctx, requestKey{}, req))
	sid := r.Header.Get("Mcp-Session-Id")
	if r.Method == http.MethodPost && sid != "" && g.fastCall(w, r, req) {
		return
	}
	if r.Method == http.MethodDelete && sid != "" {
		defer g.endSession(sid)
	}
	if r.Method == http.MethodPost && sid == "" {
		w, r = g.watchInitialize(w, r, req)
		// A new session: build (or reuse) the client's view of the server
		// first, so that an unreachable upstream is a clear 502.
		if _, err := g.serverFor(r.Context(), req); err != nil {
			g.opts.Logger.Warn("gateway: upstream unavailable", slog.String("server", srv.Slug), slog.Any("error", err))
			writeHTTPError(w, http.StatusBadGateway, "The upstream MCP server of "+srv.Slug+" could not be reached: "+err.Error())
			return
		}
	}
	// The SDK binds each session to the token's client (TokenInfo.UserID),
	// so a session id cannot be used by another client.
	verify := func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		client, tok, err := g.store.CheckAPIToken(ctx, token)
		if err != nil {
			return nil, auth.ErrInvalidToken
		}
		// Expiry is the store's to judge (its clock, checked on every request).
		return &auth.TokenInfo{UserID: client.ClientID, Scopes: models.SplitList(tok.Scopes)}, nil
	}
	auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{ResourceMetadataURL: call.Base + MetadataPath(srv.Slug),
		AllowMissingExpiration: true})(
		g.handlerFor(srv.Slug)).ServeHTTP(w, r)
}

// handlerFor returns the streamable HTTP handler of a slug; its sessions
// belong to that server only.
func (g *Gateway) handlerFor(slug string) *mcp.StreamableHTTPHandler {
	g.mu.Lock()
	defer g.mu.Unlock()
	h, ok := g.handlers[slug]
	if !ok {
		h = mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
			req, ok := r.Context().Value(requestKey{}).(*request)
			if !ok {
				return nil
			}
			if r.Header.Get("Mcp-Session-Id") != "" {
				// An existing session keeps the server it was created with;
				// the SDK asks only for protocol versions here.
				g.mu.Lock()
				b, ok := g.servers[serverKey{slug: req.server.Slug, clientID: req.client.ID}]
				g.mu.Unlock()
				if ok {
					return b.server
				}
			}
			s, err := g.serverFor(r.Context(), req)
			if err != nil {
				return nil
			}
			return s
		}, &mcp.StreamableHTTPOptions{Logger: g.opts.Logger, MaxRequestBodyBytes: 4 << 20})
		g.handlers[slug] = h
	}
	return h
}

// serverFor returns the MCP server a client sees for a registered server:
// the upstream's tools (recorded in the inventory) that the client may
// ever call, each enforced by Countersign.
func (g *Gateway) serverFor(ctx context.Context, req *request) (*mcp.Server, error) {
	key := serverKey{slug: req.server.Slug, clientID: req.client.ID}
	g.mu.Lock()
	b, ok := g.servers[key]
	g.mu.Unlock()
	if ok && time.Since(b.built) < serverTTL && b.gen == g.store.PolicyGeneration() {
		return b.server, nil
	}
	up, err := g.upstream(ctx, req.server)
	if err != nil {
		return nil, err
	}
	tools, err := listTools(ctx, up)
	if err != nil {
		g.dropUpstream(req.server.ID, up)
		return nil, err
	}
	if err := g.recordTools(ctx, req.server, tools); err != nil {
		return nil, err
	}
	gen := g.store.PolicyGeneration() // after the sync, which may bump it
	s := mcp.NewServer(&mcp.Implementation{Name: "countersign-gateway/" + req.server.Slug, Version: g.opts.Version}, nil)
	for _, t := range tools {
		if g.neverAllowed(ctx, req, t.Name) {
			continue
		}
		s.AddTool(t, g.toolHandler(req.server, t.Name))
	}
	g.mu.Lock()
	g.servers[key] = &builtServer{server: s, built: time.Now(), gen: gen}
	g.mu.Unlock()
	return s, nil
}

// neverAllowed reports whether the team's rules deny the tool to this
// client whatever the arguments (rules do not look at arguments).
func (g *Gateway) neverAllowed(ctx context.Context, req *request, tool string) bool {
	test, err := g.store.TestReviewRules(ctx, req.client.TeamID, req.server.Slug+"/"+tool, req.client.ClientID)
	return err == nil && test.Outcome == models.OutcomeDeny
}

// listTools reads every page of the upstream's tools/list.
func listTools(ctx context.Context, up *mcp.ClientSession) ([]*mcp.Tool, error) {
	var out []*mcp.Tool
	for t, err := range up.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// recordTools syncs the upstream's tool definitions into the inventory: new
// tools are added unreviewed, changed definitions keep their reviewed hash
// and so raise CS-011 and a review.
func (g *Gateway) recordTools(ctx context.Context, srv models.Server, tools []*mcp.Tool) error {
	defs := make([]models.ToolDefinition, 0, len(tools))
	for _, t := range tools {
		defs = append(defs, definitionOf(t))
	}
	res, err := g.store.SyncTools(ctx, models.SystemActor("gateway"), srv.ID, defs, false)
	if err != nil {
		return fmt.Errorf("record the upstream's tools: %w", err)
	}
	if len(res.ChangedNames) > 0 {
		g.opts.Logger.Warn("gateway: tool definitions changed since their review",
			slog.String("server", srv.Slug), slog.Any("tools", res.ChangedNames))
	}
	return nil
}
