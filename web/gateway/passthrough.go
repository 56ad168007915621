package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The fast path of tools/call. Sessions are opened, listed and closed by
// the SDK's server (serverFor); a tools/call on an established session is
// decided here and, when allowed, its JSON-RPC body is relayed as is to the
// upstream on a relay session of its own (one per client session, so that
// request ids never collide), and the upstream's answer is copied back.
// This saves decoding the call into SDK types and encoding it again twice.

// sessionInfo is what the gateway learned when a client session started.
type sessionInfo struct {
	clientID    uint
	slug        string
	urlElicit   bool
	relayMu     sync.Mutex
	relay       *mcp.ClientSession
	lastRequest atomic.Int64 // unix nanoseconds of the last call
}

// sessionIdle is how long a client session may stay silent before the
// gateway forgets it and closes its relay (clients rarely send DELETE).
const sessionIdle = 30 * time.Minute

// rpcMessage is the part of a JSON-RPC message the fast path reads.
type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// initializeParams is the part of initialize the gateway keeps.
type initializeParams struct {
	Capabilities struct {
		Elicitation *struct {
			URL *struct{} `json:"url"`
		} `json:"elicitation"`
	} `json:"capabilities"`
}

// callParams are the params of tools/call.
type callParams struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Meta      mcp.Meta        `json:"_meta,omitempty"`
}

// maxBody bounds a request body the gateway reads itself.
const maxBody = 4 << 20

// readBody reads and restores the request body.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the request body is larger than %d bytes", maxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// sessionRecorder captures the session id the SDK hands out on initialize.
type sessionRecorder struct {
	http.ResponseWriter
	onHeader func(h http.Header)
	done     bool
}

func (w *sessionRecorder) WriteHeader(code int) {
	if !w.done {
		w.done = true
		w.onHeader(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionRecorder) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed answers through.
func (w *sessionRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// watchInitialize records the session an initialize request opens.
func (g *Gateway) watchInitialize(w http.ResponseWriter, r *http.Request, req *request) (http.ResponseWriter, *http.Request) {
	body, err := readBody(r)
	if err != nil {
		return w, r
	}
	var msg rpcMessage
	if json.Unmarshal(body, &msg) != nil || msg.Method != "initialize" {
		return w, r
	}
	var p initializeParams
	_ = json.Unmarshal(msg.Params, &p)
	info := &sessionInfo{clientID: req.client.ID, slug: req.server.Slug,
		urlElicit: p.Capabilities.Elicitation != nil && p.Capabilities.Elicitation.URL != nil}
	info.lastRequest.Store(time.Now().UnixNano())
	g.forgetIdleSessions()
	return &sessionRecorder{ResponseWriter: w, onHeader: func(h http.Header) {
		if id := h.Get("Mcp-Session-Id"); id != "" {
			g.mu.Lock()
			g.sessions[id] = info
			g.mu.Unlock()
		}
	}}, r
}

// fastCall handles a tools/call of an established session and reports
// whether it did; anything else goes to the SDK's handler.
func (g *Gateway) fastCall(w http.ResponseWriter, r *http.Request, req *request) bool {
	sid := r.Header.Get("Mcp-Session-Id")
	g.mu.Lock()
	info, ok := g.sessions[sid]
	g.mu.Unlock()
	if !ok || info.clientID != req.client.ID || info.slug != req.server.Slug {
		return false // unknown here: the SDK validates the session
	}
	info.lastRequest.Store(time.Now().UnixNano())
	body, err := readBody(r)
	if err != nil {
		return false
	}
	var msg rpcMessage
	if json.Unmarshal(body, &msg) != nil || msg.Method != "tools/call" || len(msg.ID) == 0 {
		return false
	}
	var p callParams
	if err := json.Unmarshal(msg.Params, &p); err != nil || p.Name == "" {
		return false // let the SDK answer the malformed call
	}
	res, rpcErr := g.decide(r.Context(), req, info.urlElicit, p)
	switch {
	case rpcErr != nil:
		writeRPC(w, msg.ID, nil, rpcErr)
	case res != nil:
		writeRPC(w, msg.ID, res, nil)
	default:
		g.relay(w, r, req, info, body)
	}
	return true
}

// decide runs the decision of a call: nil, nil means allowed (relay it).
func (g *Gateway) decide(ctx context.Context, req *request, urlElicit bool, p callParams) (*mcp.CallToolResult, *jsonrpc.Error) {
	in := evaluationOf(req, req.server, p.Name, p.Arguments, p.Meta)
	d, err := g.store.Evaluate(ctx, req.client, in)
	if rpc := refusal(err); rpc != nil {
		return nil, rpc
	}
	switch d.Outcome {
	case models.OutcomeAllow:
		return nil, nil
	case models.OutcomeReviewRequired:
		res, err := reviewAnswer(urlElicit, req, d)
		if err != nil {
			return nil, err.(*jsonrpc.Error)
		}
		return res, nil
	}
	return nil, denial(req.server, p.Name, d)
}

// relay sends the call's body to the upstream on the session's relay
// session and copies the answer back.
func (g *Gateway) relay(w http.ResponseWriter, r *http.Request, req *request, info *sessionInfo, body []byte) {
	fail := func(err error) {
		var id json.RawMessage
		var msg rpcMessage
		if json.Unmarshal(body, &msg) == nil {
			id = msg.ID
		}
		writeRPC(w, id, nil, &jsonrpc.Error{Code: CodeUpstream, Message: "The upstream MCP server could not be reached: " + err.Error()})
	}
	cs, err := g.relaySession(r.Context(), req.server, info)
	if err != nil {
		fail(err)
		return
	}
	up, err := http.NewRequestWithContext(r.Context(), http.MethodPost, req.server.Endpoint, bytes.NewReader(body))
	if err != nil {
		fail(err)
		return
	}
	up.Header.Set("Content-Type", "application/json")
	up.Header.Set("Accept", "application/json, text/event-stream")
	up.Header.Set("Mcp-Session-Id", cs.ID())
	if res := cs.InitializeResult(); res != nil {
		up.Header.Set("Mcp-Protocol-Version", res.ProtocolVersion)
	}
	resp, err := g.upstreamHTTP(req.server).Do(up)
	if err != nil {
		fail(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound { // the upstream forgot the relay session
		info.relayMu.Lock()
		if info.relay == cs {
			info.relay = nil
		}
		info.relayMu.Unlock()
		_ = cs.Close()
	}
	for _, h := range []string{"Content-Type", "Cache-Control"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	bp := relayBuffers.Get().(*[]byte)
	defer relayBuffers.Put(bp)
	buf := *bp
	flusher, _ := w.(http.Flusher)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// relayBuffers holds the buffers that copy upstream answers (32 KiB each:
// one per call in flight instead of one per call).
var relayBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relaySession returns the client session's own session with the upstream.
func (g *Gateway) relaySession(ctx context.Context, srv models.Server, info *sessionInfo) (*mcp.ClientSession, error) {
	info.relayMu.Lock()
	defer info.relayMu.Unlock()
	if info.relay != nil {
		return info.relay, nil
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "countersign-gateway", Version: g.opts.Version}, nil)
	cs, err := connect(ctx, client, g.transportTo(srv))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", srv.Endpoint, err)
	}
	info.relay = cs
	return cs, nil
}

// forgetIdleSessions ends the sessions silent for longer than sessionIdle.
func (g *Gateway) forgetIdleSessions() {
	cutoff := time.Now().Add(-sessionIdle).UnixNano()
	var idle []string
	g.mu.Lock()
	for sid, info := range g.sessions {
		if info.lastRequest.Load() < cutoff {
			idle = append(idle, sid)
		}
	}
	g.mu.Unlock()
	for _, sid := range idle {
		g.endSession(sid)
	}
}

// endSession forgets a client session and closes its relay.
func (g *Gateway) endSession(sid string) {
	g.mu.Lock()
	info, ok := g.sessions[sid]
	delete(g.sessions, sid)
	g.mu.Unlock()
	if ok {
		info.relayMu.Lock()
		if info.relay != nil {
			_ = info.relay.Close()
			info.relay = nil
		}
		info.relayMu.Unlock()
	}
}

// writeRPC answers one JSON-RPC response.
func writeRPC(w http.ResponseWriter, id json.RawMessage, result any, rpcErr *jsonrpc.Error) {
	out := map[string]any{"jsonrpc": "2.0", "id": id}
	if rpcErr != nil {
		e := map[string]any{"code": rpcErr.Code, "message": rpcErr.Message}
		if len(rpcErr.Data) > 0 {
			e["data"] = rpcErr.Data
		}
		out["error"] = e
	} else {
		out["result"] = result
	}
	data, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}
