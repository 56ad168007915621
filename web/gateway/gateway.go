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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
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
	closed    bool
	// credentials reads the upstream credentials (upstream.go).
	credentials credentials
	// refreshes counts the background refreshes of views (refreshLater).
	refreshes sync.WaitGroup
}

type serverKey struct {
	slug     string
	clientID uint
}

// builtServer is a client's view of a server: one MCP server whose tools
// are the upstream's that the client may ever call. Every session of that
// client and server uses it, and it is updated in place, so that a change
// reaches open sessions too (the SDK sends them tools/list_changed).
type builtServer struct {
	server *mcp.Server
	// mu guards the rest and is held while the view is rebuilt.
	mu    sync.Mutex
	tools map[string]string // the tools offered: name → definition as JSON; nil until built
	built time.Time
	gen   uint64
	// refreshing is set while a background refresh runs.
	refreshing atomic.Bool
}

// stale reports whether the view must be read again from the upstream;
// b.mu is held.
func (b *builtServer) stale(gen uint64) bool {
	return b.tools == nil || time.Since(b.built) >= serverTTL || b.gen != gen
}

// serverTTL is how long a client's view of a server (the upstream's tool
// list, filtered by the team's rules) is reused before the upstream's
// tools/list is read again. A change of rules, tools or tokens through
// Countersign makes it stale at once (the store's policy generation).
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
	if srv.Endpoint == "" || !proxied(srv.Transport) {
		writeHTTPError(w, http.StatusBadGateway, "The server "+call.Slug+" has no HTTP endpoint (Streamable HTTP or SSE) registered in Countersign.")
		return
	}
	req := &request{client: call.Client, server: srv, base: call.Base}
	r = r.WithContext(context.WithValue(ctx, requestKey{}, req))
	sid := r.Header.Get("Mcp-Session-Id")
	if sid != "" {
		g.refreshLater(req)
	}
	// The fast path relays a call's body to a Streamable HTTP upstream; an
	// SSE upstream's calls go through the SDK's client session.
	if r.Method == http.MethodPost && sid != "" && srv.Transport == models.TransportStreamableHTTP && g.fastCall(w, r, req) {
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
					return b.server // the same server for the client's every session
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
// ever call, each enforced by Countersign. A stale view is read again from
// the upstream and updated in place: tools that went away or became denied
// are removed, new and changed ones added, and open sessions are told.
func (g *Gateway) serverFor(ctx context.Context, req *request) (*mcp.Server, error) {
	b := g.view(req)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stale(g.store.PolicyGeneration()) {
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
	offered := make(map[string]*mcp.Tool, len(tools))
	for _, t := range tools {
		if !g.neverAllowed(ctx, req, t.Name) {
			offered[t.Name] = t
		}
	}
	var gone []string
	for name := range b.tools {
		if offered[name] == nil {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		b.server.RemoveTools(gone...)
	}
	defs := make(map[string]string, len(offered))
	for name, t := range offered {
		def, _ := json.Marshal(t)
		defs[name] = string(def)
		if old, ok := b.tools[name]; !ok || old != defs[name] {
			b.server.AddTool(t, g.toolHandler(req.server, name))
		}
	}
	b.tools, b.built, b.gen = defs, time.Now(), gen
	return b.server, nil
}

// view returns the client's view of the server, creating an empty one (to
// be built by serverFor) on first use.
func (g *Gateway) view(req *request) *builtServer {
	key := serverKey{slug: req.server.Slug, clientID: req.client.ID}
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.servers[key]
	if !ok {
		b = &builtServer{server: mcp.NewServer(&mcp.Implementation{Name: "countersign-gateway/" + req.server.Slug, Version: g.opts.Version},
			&mcp.ServerOptions{Capabilities: &mcp.ServerCapabilities{Logging: &mcp.LoggingCapabilities{},
				Tools: &mcp.ToolCapabilities{ListChanged: true}}})}
		g.servers[key] = b
	}
	return b
}

// refreshLater brings the client's view up to date in the background when
// it is stale, so that open sessions learn of a new deny rule or a changed
// upstream without waiting for a new session; at most one refresh of a
// view runs at a time, and the request that noticed does not wait.
func (g *Gateway) refreshLater(req *request) {
	g.mu.Lock()
	b, ok := g.servers[serverKey{slug: req.server.Slug, clientID: req.client.ID}]
	g.mu.Unlock()
	if !ok || !b.mu.TryLock() {
		return // no view yet, or being rebuilt right now
	}
	stale := b.stale(g.store.PolicyGeneration())
	b.mu.Unlock()
	if !stale || !b.refreshing.CompareAndSwap(false, true) {
		return
	}
	// Counted under mu, so that Close, which sets closed under mu before
	// it waits, either sees this refresh or prevents it.
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		b.refreshing.Store(false)
		return
	}
	g.refreshes.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.refreshes.Done()
		defer b.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := g.serverFor(ctx, req); err != nil {
			g.opts.Logger.Warn("gateway: refreshing the tool list failed", slog.String("server", req.server.Slug), slog.Any("error", err))
		}
	}()
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
