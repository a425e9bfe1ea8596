package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// webFiles is the dashboard: a page, its script and styles, and the
// vendored chart library with its license. The files are named one by one
// rather than embedding web/ whole, so that what else lives there
// (vendor/package.json, update.sh, a node_modules left by hand) is never
// served.
//
//go:embed web/index.html web/app.js web/style.css web/icon.svg
//go:embed web/vendor/uPlot.iife.min.js web/vendor/uPlot.min.css web/vendor/uPlot.LICENSE.txt
var webFiles embed.FS

// dashboardCSP is the dashboard's Content-Security-Policy. The page holds
// a bearer token once it has asked for one, so it runs only the scripts
// the sidecar ships (nothing inline, nothing from elsewhere), talks only
// to the sidecar, and cannot be framed by another site or post a form
// anywhere: the token form is handled by the script, never submitted.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// contentTypes are the types of the dashboard's files, by extension. They
// are fixed here rather than taken from the system's MIME table, which
// differs between machines; a browser runs an ES module only if it is
// served as JavaScript.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".txt":  "text/plain; charset=utf-8",
}

// asset is one file of the dashboard, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// dashboard serves the page at / and its other files under /static/. It
// holds no data and needs no token: everything the page shows it fetches
// from /v1/, with the token the person gives it. It is safe for concurrent
// use.
type dashboard struct {
	assets map[string]asset // by URL path
}

// newDashboard reads the embedded files once. A file with an extension
// missing from contentTypes is a bug in this file, caught by any test that
// builds a server.
func newDashboard() *dashboard {
	d := &dashboard{assets: map[string]asset{}}
	err := fs.WalkDir(webFiles, "web", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := webFiles.ReadFile(name)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			panic("dashboard: no content type for " + name)
		}
		sum := sha256.Sum256(body)
		a := asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		rel := strings.TrimPrefix(name, "web/")
		if rel == "index.html" {
			d.assets["/"] = a
		} else {
			d.assets["/static/"+rel] = a
		}
		return nil
	})
	if err != nil {
		panic("dashboard: " + err.Error()) // the files are compiled in
	}
	return d
}

// ServeHTTP serves one file, or 404. Files are revalidated on every load
// (Cache-Control: no-cache, with an ETag of their content), so a new
// sidecar binary's page is never mixed with an old cached script.
func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := d.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
