package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// How the gateway reaches a server's upstream. Countersign never stores a
// secret, so the credential comes from the Countersign host, per server
// slug (billing-prod → BILLING_PROD):
//
//	COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD        the credential itself, or
//	COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD_FILE   a file holding it (container secrets; read again when it changes)
//	COUNTERSIGN_UPSTREAM_HEADER_BILLING_PROD       the header that carries it (default Authorization: Bearer …)

// envName is the environment variable name of a server: prefix and the slug
// in upper case with dashes as underscores.
func envName(prefix, slug string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(slug, "-", "_"))
}

// CredentialEnv is the environment variable holding the upstream
// credential of a server (COUNTERSIGN_UPSTREAM_TOKEN_BILLING_PROD).
func CredentialEnv(slug string) string { return envName("COUNTERSIGN_UPSTREAM_TOKEN_", slug) }

// CredentialFileEnv is the variable naming a file that holds it instead.
func CredentialFileEnv(slug string) string { return CredentialEnv(slug) + "_FILE" }

// HeaderEnv is the variable naming the header that carries the credential
// (X-API-Key, say) when the upstream does not take a bearer token.
func HeaderEnv(slug string) string { return envName("COUNTERSIGN_UPSTREAM_HEADER_", slug) }

// Upstream describes, without the secret, how the gateway reaches a
// server's upstream: for the server page and the docs.
type Upstream struct {
	// Supported is false for transports the gateway cannot proxy (stdio).
	Supported bool
	// Source is where the credential comes from: the variable, or the file
	// and its variable; empty when no credential is configured.
	Source string
	// Header is the header that carries it ("Authorization" means a bearer token).
	Header string
	// Problem says why the configuration cannot be used, if it cannot.
	Problem string
}

// Describe tells how the gateway reaches the upstream of srv, reading the
// configuration but never revealing the credential.
func (g *Gateway) Describe(srv models.Server) Upstream {
	u := Upstream{Supported: proxied(srv.Transport) && srv.Endpoint != ""}
	c, err := g.credentials.of(srv.Slug, g.opts.Getenv)
	u.Source, u.Header = c.source, c.header
	if err != nil {
		u.Problem = err.Error()
	}
	return u
}

// proxied reports whether the gateway can sit in front of a transport.
func proxied(t models.Transport) bool {
	return t == models.TransportStreamableHTTP || t == models.TransportSSE
}

// credential is a server's upstream credential and how it is sent.
type credential struct {
	header string // canonical header name
	value  string // the whole header value, "Bearer …" for Authorization
	source string // where it came from, for messages; never the value
}

// credentialFileTTL is how long a credential file's content is reused
// before the file is read again (so a rotated secret is picked up).
const credentialFileTTL = 10 * time.Second

// credentials reads upstream credentials from the environment and files.
type credentials struct {
	mu    sync.Mutex
	files map[string]fileValue // by path
}

type fileValue struct {
	value string
	read  time.Time
}

// of returns the credential of a slug: the zero credential (no header)
// when none is configured, an error when the configuration is unusable.
// Errors name variables and files, never the secret.
func (cs *credentials) of(slug string, getenv func(string) string) (credential, error) {
	header := http.CanonicalHeaderKey(strings.TrimSpace(getenv(HeaderEnv(slug))))
	if header == "" {
		header = "Authorization"
	}
	c := credential{header: header}
	if !validHeaderName(header) || forbiddenHeader[header] {
		return c, fmt.Errorf("%s names %q, which cannot carry a credential: name a header such as X-API-Key", HeaderEnv(slug), header)
	}
	value, fileVar := getenv(CredentialEnv(slug)), CredentialFileEnv(slug)
	path := strings.TrimSpace(getenv(fileVar))
	switch {
	case value != "" && path != "":
		return c, fmt.Errorf("both %s and %s are set: keep one", CredentialEnv(slug), fileVar)
	case path != "":
		c.source = fileVar + " (" + path + ")"
		v, err := cs.readFile(path)
		if err != nil {
			return c, fmt.Errorf("read the upstream credential from %s: %w", c.source, err)
		}
		value = v
		if value == "" {
			return c, fmt.Errorf("the file of %s is empty", c.source)
		}
	case value != "":
		c.source = CredentialEnv(slug)
	default:
		return c, nil
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return c, fmt.Errorf("the credential from %s holds a line break or NUL: it cannot be sent in a header", c.source)
	}
	if header == "Authorization" {
		value = "Bearer " + value
	}
	c.value = value
	return c, nil
}

// readFile returns a credential file's content without surrounding space,
// reading it at most once per credentialFileTTL.
func (cs *credentials) readFile(path string) (string, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if v, ok := cs.files[path]; ok && time.Since(v.read) < credentialFileTTL {
		return v.value, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return "", err
	}
	if cs.files == nil {
		cs.files = map[string]fileValue{}
	}
	v := strings.TrimSpace(string(data))
	cs.files[path] = fileValue{value: v, read: time.Now()}
	return v, nil
}

// forbiddenHeader are headers the transport or the MCP protocol own.
var forbiddenHeader = map[string]bool{"Host": true, "Content-Length": true, "Content-Type": true, "Accept": true,
	"Connection": true, "Transfer-Encoding": true, "Mcp-Session-Id": true, "Mcp-Protocol-Version": true, "Last-Event-Id": true}

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// credentialTransport sets the server's upstream credential on every
// request, read afresh (files are cached briefly), and strips anything
// that came from the caller.
type credentialTransport struct {
	slug string
	g    *Gateway
	base http.RoundTripper
}

func (t credentialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c, err := t.g.credentials.of(t.slug, t.g.opts.Getenv)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Del("Authorization")
	if c.value != "" {
		r.Header.Set(c.header, c.value)
	}
	return t.base.RoundTrip(r)
}

// upstreamHTTP is the HTTP client of a server's upstream: its credential
// from the Countersign host, never the caller's.
func (g *Gateway) upstreamHTTP(srv models.Server) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: credentialTransport{slug: srv.Slug, g: g, base: g.opts.Transport}}
}

// streamingHTTP is the HTTP client of an SSE upstream, whose event stream
// stays open for the whole session: no overall timeout.
func (g *Gateway) streamingHTTP(srv models.Server) *http.Client {
	return &http.Client{Transport: credentialTransport{slug: srv.Slug, g: g, base: g.opts.Transport}}
}

// transportTo is the MCP client transport to a server's upstream.
func (g *Gateway) transportTo(srv models.Server) mcp.Transport {
	if srv.Transport == models.TransportSSE {
		return &mcp.SSEClientTransport{Endpoint: srv.Endpoint, HTTPClient: g.streamingHTTP(srv)}
	}
	return &mcp.StreamableClientTransport{Endpoint: srv.Endpoint, DisableStandaloneSSE: true, MaxRetries: -1,
		HTTPClient: g.upstreamHTTP(srv)}
}
