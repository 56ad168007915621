// Package static embeds the front-end files (CSS, htmx, icons) and serves
// them under content-hashed URLs with long cache lifetimes.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed css js img
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// Assets maps asset names to hashed URLs and serves them.
type Assets struct {
	hashed   map[string]string // "css/app.css" -> "css/app.1a2b3c4d5e.css"
	urls     map[string]string // "css/app.css" -> "/static/css/app.1a2b3c4d5e.css"
	original map[string]string // the reverse
	content  map[string][]byte
}

// New reads the embedded files and computes their content hashes.
func New() (*Assets, error) {
	a := &Assets{hashed: map[string]string{}, urls: map[string]string{}, original: map[string]string{}, content: map[string][]byte{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		h := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.hashed[p], a.urls[p], a.original[h], a.content[p] = h, Prefix+h, p, b
		return nil
	})
	return a, err
}

// Content returns the bytes of an asset (nil if unknown), e.g. to inline
// the stylesheet in a document meant to be opened offline.
func (a *Assets) Content(name string) string { return string(a.content[name]) }

// URL returns the content-hashed URL of an asset, e.g. URL("css/app.css").
// An unknown name yields its plain URL, which answers 404.
func (a *Assets) URL(name string) string {
	if u, ok := a.urls[name]; ok {
		return u
	}
	return Prefix + name
}

// ServeHTTP serves hashed names with a one-year immutable cache lifetime and
// plain names with revalidation.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	orig, hashed := a.original[name]
	if hashed {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		orig = name
		w.Header().Set("Cache-Control", "no-cache")
	}
	b, ok := a.content[orig]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, path.Base(orig), time.Time{}, strings.NewReader(string(b)))
}
