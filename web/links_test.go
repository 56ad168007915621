package web_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
)

var hrefPattern = regexp.MustCompile(`href="(/[^"]*)"`)

// No page links a user to a page the route check refuses them: for every
// role, every HTML page of the route table is opened and every link on it
// followed once; none may answer 403.
func TestPagesLinkOnlyToPagesTheUserMayOpen(t *testing.T) {
	f := newFixture(t)
	for _, role := range models.Roles {
		cookie := f.session(f.users[string(role)])
		followed := map[string]bool{}
		var refused []string
		for _, r := range f.srv.Routes() {
			if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api/") || strings.HasPrefix(r.Path, "/static/") ||
				strings.HasPrefix(r.Path, "/.well-known/") || strings.HasPrefix(r.Path, "/mcp/") || strings.HasPrefix(r.Path, "/access/") {
				continue
			}
			page := f.concretePath(r.Path)
			res := f.do(http.MethodGet, page, cookie, nil)
			if res.Code != http.StatusOK || !strings.HasPrefix(res.Header().Get("Content-Type"), "text/html") {
				continue
			}
			for _, m := range hrefPattern.FindAllStringSubmatch(res.Body.String(), -1) {
				link := strings.ReplaceAll(m[1], "&amp;", "&")
				path, _, _ := strings.Cut(link, "?")
				if followed[path] || strings.HasPrefix(path, "/static/") {
					continue
				}
				followed[path] = true
				if got := f.do(http.MethodGet, link, cookie, nil); got.Code == http.StatusForbidden {
					refused = append(refused, path+" (linked from "+page+")")
				}
			}
		}
		if len(followed) < 10 {
			t.Errorf("%s: only %d links followed; the crawl did not reach the pages", role, len(followed))
		}
		sort.Strings(refused)
		for _, r := range refused {
			t.Errorf("%s is shown a link it may not open: %s", role, r)
		}
	}
}
