// Package views holds the templ components of every page. Each page has one
// props struct; the layout receives LayoutData built by the handlers.
package views

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// NavItem is one entry of the main navigation, shown only to roles that may
// open it.
type NavItem struct {
	Label  string
	URL    string
	Active bool
	Count  int
	// CountURL, when set, is polled by htmx to refresh Count.
	CountURL string
}

// Flash is a one-time message shown at the top of a page.
type Flash struct {
	Kind    string // success, error, info, warning
	Message string
}

// AssetURLs are the content-hashed URLs of the shared assets.
type AssetURLs struct {
	CSS, HTMX, AppJS, Favicon string
}

// LayoutData is what every page's shell needs.
type LayoutData struct {
	Title     string
	UserID    uint
	UserName  string
	UserEmail string
	Nav       []NavItem
	CSRF      string
	Flashes   []Flash
	Desktop   bool
	Assets    AssetURLs
	Version   string
	RequestID string
	// Open reports whether the user may open the page at a path (nil: no
	// signed-in user).
	Open func(path string) bool
}

// CanOpen reports whether the user may open the page at path; views link
// only to such pages.
func (l LayoutData) CanOpen(path string) bool { return l.Open != nil && l.Open(path) }

// SignedIn reports whether a user is signed in.
func (l LayoutData) SignedIn() bool { return l.UserID != 0 }

// CSRFHeaders is the hx-headers value that sends the CSRF token with every
// htmx request.
func (l LayoutData) CSRFHeaders() string {
	return fmt.Sprintf(`{"X-CSRF-Token": %q}`, l.CSRF)
}

// Pager renders pagination and sort links that keep the list's filters.
type Pager struct {
	Path    string
	Query   url.Values
	Page    int
	Pages   int
	Total   int64
	PerPage int
	Sort    string
	Desc    bool
}

// Link returns the URL of another page of the same list.
func (p Pager) Link(page int) string {
	q := cloneValues(p.Query)
	q.Set("page", strconv.Itoa(page))
	return p.Path + "?" + q.Encode()
}

// SortLink returns the URL that sorts by key, toggling the direction when the
// list is already sorted by it. It goes back to the first page.
func (p Pager) SortLink(key string) string {
	q := cloneValues(p.Query)
	q.Del("page")
	q.Set("sort", key)
	if p.Sort == key && !p.Desc {
		q.Set("dir", "desc")
	} else {
		q.Del("dir")
	}
	return p.Path + "?" + q.Encode()
}

// FilterLink returns the URL of the same list with one filter set (or
// removed, when value is empty), back on the first page.
func (p Pager) FilterLink(key, value string) string {
	q := cloneValues(p.Query)
	q.Del("page")
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	return p.Path + "?" + q.Encode()
}

// ExportLink returns the URL of the whole filtered list in another format.
func (p Pager) ExportLink(format string) string {
	q := cloneValues(p.Query)
	q.Del("page")
	q.Del("per_page")
	q.Set("format", format)
	return p.Path + "?" + q.Encode()
}

// SortClass marks the header of the current sort column.
func (p Pager) SortClass(key string) string {
	switch {
	case p.Sort != key:
		return ""
	case p.Desc:
		return "sort-desc"
	default:
		return "sort-asc"
	}
}

// AriaSort is the aria-sort value of a column header.
func (p Pager) AriaSort(key string) string {
	switch {
	case p.Sort != key:
		return "none"
	case p.Desc:
		return "descending"
	default:
		return "ascending"
	}
}

// PastEnd reports whether the page asked for lies beyond the last one (an
// old link to a list that has shrunk).
func (p Pager) PastEnd() bool { return p.Total > 0 && p.Page > p.Pages }

// Summary is the "21–40 of 130" text of a list.
func (p Pager) Summary() string {
	if p.Total == 0 {
		return "No results"
	}
	if p.PastEnd() {
		return fmt.Sprintf("Nothing on page %d: the list has %d results on %d pages", p.Page, p.Total, p.Pages)
	}
	first := int64((p.Page-1)*p.PerPage + 1)
	last := first + int64(p.PerPage) - 1
	if last > p.Total {
		last = p.Total
	}
	return fmt.Sprintf("%d–%d of %d", first, last, p.Total)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if len(vs) > 0 && vs[0] != "" {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// FormatTime renders a time for tables, in UTC.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// FormatTimePtr renders an optional time.
func FormatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return FormatTime(*t)
}

// ISOTime renders a machine-readable time for <time datetime>.
func ISOTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// YesNo renders a boolean.
func YesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// HintText renders an optional MCP annotation.
func HintText(b *bool) string {
	if b == nil {
		return "not declared"
	}
	return fmt.Sprint(*b)
}

// Itoa is strconv.Itoa for templates.
func Itoa[T ~int | ~int64 | ~uint | ~uint64](n T) string { return fmt.Sprint(n) }
