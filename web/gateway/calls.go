package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CodeDenied is the JSON-RPC error code of a call Countersign denied (in
// the implementation-defined server error range).
const CodeDenied = -32001

// CodeUpstream is the JSON-RPC error code of an upstream failure.
const CodeUpstream = -32002

// Metadata keys a client may send in a tools/call request's _meta.
const (
	MetaAgent         = "countersign/agent"         // the agent's id (default: the API client id)
	MetaOnBehalfOf    = "countersign/on_behalf_of"  // the user the agent acts for
	MetaTaskID        = "countersign/task_id"       // the task the call belongs to
	MetaJustification = "countersign/justification" // why the call is needed
)

func metaString(m mcp.Meta, key string) string {
	if v, ok := m[key].(string); ok {
		return v
	}
	return ""
}

// evaluationOf is the decision request of a tools/call.
func evaluationOf(req *request, srv models.Server, tool string, args json.RawMessage, meta mcp.Meta) models.EvaluationRequest {
	in := models.EvaluationRequest{Subject: metaString(meta, MetaAgent), SubjectType: "agent",
		OnBehalfOf: metaString(meta, MetaOnBehalfOf), Action: models.ActionToolsCall, Resource: srv.Slug + "/" + tool,
		Arguments: args, TaskID: metaString(meta, MetaTaskID), Justification: metaString(meta, MetaJustification)}
	if in.Subject == "" {
		in.Subject = req.client.ClientID
	}
	if len(in.Arguments) == 0 || string(in.Arguments) == "null" {
		in.Arguments = json.RawMessage(`{}`)
	}
	return in
}

// refusal turns an evaluation error into the JSON-RPC error of the call:
// a malformed request is invalid params; anything else is a deny (fail
// closed).
func refusal(err error) *jsonrpc.Error {
	if err == nil {
		return nil
	}
	if v, isValidation := models.AsValidation(err); isValidation {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Countersign refused the call: " + v.Error()}
	}
	return &jsonrpc.Error{Code: CodeDenied, Message: "Countersign denied the call: " + err.Error()}
}

// denial is the JSON-RPC error of a denied call, naming the decision.
func denial(srv models.Server, tool string, d models.Decision) *jsonrpc.Error {
	data, _ := json.Marshal(map[string]any{"decision_id": d.ID, "reason": d.Reason, "rule": d.RuleName, "risk": d.Risk})
	return &jsonrpc.Error{Code: CodeDenied, Data: data,
		Message: fmt.Sprintf("Countersign denied %s/%s: %s (decision %d).", srv.Slug, tool, d.Reason, d.ID)}
}

// toolHandler decides every call of one tool that reaches the SDK's server
// (the fast path in passthrough.go takes most) and forwards the allowed
// ones.
func (g *Gateway) toolHandler(srv models.Server, tool string) mcp.ToolHandler {
	return func(ctx context.Context, call *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		req, ok := ctx.Value(requestKey{}).(*request)
		if !ok {
			return nil, &jsonrpc.Error{Code: CodeDenied, Message: "Countersign could not identify the caller: denied (fail closed)."}
		}
		d, err := g.store.Evaluate(ctx, req.client, evaluationOf(req, srv, tool, call.Params.Arguments, call.Params.Meta))
		if rpc := refusal(err); rpc != nil {
			return nil, rpc
		}
		switch d.Outcome {
		case models.OutcomeAllow:
			return g.forward(ctx, srv, tool, call)
		case models.OutcomeReviewRequired:
			return reviewAnswer(declaresURLElicitation(call), req, d)
		default:
			return nil, denial(srv, tool, d)
		}
	}
}

// reviewAnswer tells the client that the call waits for a countersignature:
// a URL elicitation (-32042) when the client declared URL elicitation,
// otherwise a tool error whose structured content names the review.
func reviewAnswer(urlElicit bool, req *request, d models.Decision) (*mcp.CallToolResult, error) {
	r := d.Review
	url := req.base + "/reviews/" + r.PublicID
	text := fmt.Sprintf("This call needs a countersignature: %s. Review %s waits for %d approval(s) at %s until %s. "+
		"Retry the same call with the same arguments once it is approved.", d.Reason, r.PublicID, r.ApprovalsNeeded, url,
		r.Deadline.UTC().Format(time.RFC3339))
	if urlElicit {
		return nil, mcp.URLElicitationRequiredError([]*mcp.ElicitParams{{Mode: "url", URL: url, ElicitationID: r.PublicID,
			Message: text}})
	}
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}},
		StructuredContent: map[string]any{"status": "review_required", "review_id": r.PublicID, "url": url,
			"expires_at": r.Deadline.UTC().Format(time.RFC3339), "decision_id": d.ID, "reason": d.Reason}}, nil
}

func declaresURLElicitation(call *mcp.CallToolRequest) bool {
	ss := call.Session
	if ss == nil {
		return false
	}
	p := ss.InitializeParams()
	return p != nil && p.Capabilities != nil && p.Capabilities.Elicitation != nil && p.Capabilities.Elicitation.URL != nil
}

// forward sends an allowed call upstream and returns its result as is. A
// failure of the upstream is surfaced as a JSON-RPC error, never hidden.
func (g *Gateway) forward(ctx context.Context, srv models.Server, tool string, call *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	up, err := g.upstream(ctx, srv)
	if err != nil {
		return nil, &jsonrpc.Error{Code: CodeUpstream, Message: "The upstream MCP server could not be reached: " + err.Error()}
	}
	args := call.Params.Arguments
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	res, err := up.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		var rpc *jsonrpc.Error
		if errors.As(err, &rpc) {
			return nil, rpc // the upstream's own error, passed through
		}
		g.dropUpstream(srv.ID, up)
		return nil, &jsonrpc.Error{Code: CodeUpstream, Message: "The upstream MCP server failed: " + err.Error()}
	}
	return res, nil
}

// upstream returns the gateway's session with a server's upstream,
// connecting on first use. It carries the server's credential from the
// Countersign host (CredentialEnv), never the caller's token.
func (g *Gateway) upstream(ctx context.Context, srv models.Server) (*mcp.ClientSession, error) {
	g.mu.Lock()
	cs, ok := g.upstreams[srv.ID]
	g.mu.Unlock()
	if ok {
		return cs, nil
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "countersign-gateway", Version: g.opts.Version}, nil)
	cs, err := connect(ctx, client, g.transportTo(srv))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", srv.Endpoint, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if existing, ok := g.upstreams[srv.ID]; ok { // another request connected first
		_ = cs.Close()
		return existing, nil
	}
	g.upstreams[srv.ID] = cs
	return cs, nil
}

// connectTimeout bounds the connection and handshake with an upstream.
const connectTimeout = 15 * time.Second

// connect opens a client session with an upstream on behalf of a request:
// the session outlives the request (an SSE upstream's event stream lives
// as long as the context it was opened with), the handshake does not
// outlast connectTimeout.
func connect(ctx context.Context, client *mcp.Client, t mcp.Transport) (*mcp.ClientSession, error) {
	sessionCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	timer := time.AfterFunc(connectTimeout, cancel)
	cs, err := client.Connect(sessionCtx, t, nil)
	if !timer.Stop() && err == nil { // the handshake finished as time ran out
		_ = cs.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return cs, nil
}

// dropUpstream forgets a broken upstream session; the next call reconnects.
func (g *Gateway) dropUpstream(serverID uint, cs *mcp.ClientSession) {
	g.mu.Lock()
	if g.upstreams[serverID] == cs {
		delete(g.upstreams, serverID)
	}
	g.mu.Unlock()
	_ = cs.Close()
}

// Close ends every upstream session and relay, after the background
// refreshes of tool lists.
func (g *Gateway) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.refreshes.Wait()
	g.mu.Lock()
	var sids []string
	for id, cs := range g.upstreams {
		_ = cs.Close()
		delete(g.upstreams, id)
	}
	for sid := range g.sessions {
		sids = append(sids, sid)
	}
	g.mu.Unlock()
	for _, sid := range sids {
		g.endSession(sid)
	}
}

// definitionOf turns an upstream tool into the inventory's definition.
func definitionOf(t *mcp.Tool) models.ToolDefinition {
	d := models.ToolDefinition{Name: t.Name, Title: t.Title, Description: t.Description}
	if t.InputSchema != nil {
		d.InputSchema, _ = json.Marshal(t.InputSchema)
	}
	if a := t.Annotations; a != nil {
		readOnly, idempotent := a.ReadOnlyHint, a.IdempotentHint
		d.Annotations = &models.ToolHints{Title: a.Title, ReadOnlyHint: &readOnly, DestructiveHint: a.DestructiveHint,
			IdempotentHint: &idempotent, OpenWorldHint: a.OpenWorldHint}
	}
	return d
}

// writeHTTPError answers a plain JSON error before the MCP layer.
func writeHTTPError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	data, _ := json.Marshal(map[string]string{"error": http.StatusText(status), "message": message})
	_, _ = w.Write(data)
}
