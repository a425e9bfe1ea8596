package httpapi

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// serveDashboard sends a request without a token to a server that wants
// one, and returns the recorded answer.
func serveDashboard(t *testing.T, f *fixture, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.server.ServeHTTP(w, r)
	return w
}

func TestDashboardFiles(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{Token: "s3cret"})
	tests := []struct {
		name, target string
		status       int
		contentType  string
		contains     string
	}{
		{"page", "/", 200, "text/html; charset=utf-8", `<script src="static/app.js" type="module">`},
		{"script", "/static/app.js", 200, "text/javascript; charset=utf-8", "const MIN_RESPONSES = 10;"},
		{"styles", "/static/style.css", 200, "text/css; charset=utf-8", ".cards"},
		{"icon", "/static/icon.svg", 200, "image/svg+xml", "<svg"},
		{"chart library", "/static/vendor/uPlot.iife.min.js", 200, "text/javascript; charset=utf-8", "var uPlot="},
		{"chart styles", "/static/vendor/uPlot.min.css", 200, "text/css; charset=utf-8", ".uplot"},
		{"chart license", "/static/vendor/uPlot.LICENSE.txt", 200, "text/plain; charset=utf-8", "The MIT License"},
		{"page by name", "/index.html", 404, "", ""},
		{"page under static", "/static/index.html", 404, "", ""},
		{"npm manifest", "/static/vendor/package.json", 404, "", ""},
		{"update script", "/static/vendor/update.sh", 404, "", ""},
		{"static folder", "/static/", 404, "", ""},
		{"unknown file", "/static/nope.js", 404, "", ""},
		{"unknown page", "/dashboard", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serveDashboard(t, f, "GET", tt.target)
			if w.Code != tt.status {
				t.Fatalf("got %d, want %d", w.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			h := w.Header()
			if got := h.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got := h.Get("Content-Security-Policy"); got != dashboardCSP {
				t.Errorf("Content-Security-Policy: got %q, want %q", got, dashboardCSP)
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
			if got := h.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control: got %q, want no-cache", got)
			}
			if !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("body: got %.200q…, want it to contain %q", w.Body.String(), tt.contains)
			}
		})
	}
}

// TestDashboardMethods checks what besides a plain GET does.
func TestDashboardMethods(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	page := serveDashboard(t, f, "GET", "/")
	etag := page.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the page")
	}
	tests := []struct {
		name, method string
		header       []string
		status       int
		body         bool
	}{
		{"HEAD", "HEAD", nil, 200, false},
		{"unchanged since", "GET", []string{"If-None-Match", etag}, 304, false},
		{"changed since", "GET", []string{"If-None-Match", `"other"`}, 200, true},
		{"POST", "POST", nil, 405, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serveDashboard(t, f, tt.method, "/", tt.header...)
			if w.Code != tt.status || (w.Body.Len() > 0) != tt.body {
				t.Errorf("got %d with %d bytes, want %d with a body: %t", w.Code, w.Body.Len(), tt.status, tt.body)
			}
		})
	}
}

// TestDashboardHoldsNoData checks that the dashboard is open because it
// can be: every file is served as it was compiled in, whatever the engine
// holds and without the token, while the API stays closed.
func TestDashboardHoldsNoData(t *testing.T) {
	const token = "s3cret"
	f := newFixture(t, engine.Config{}, Options{Token: token})
	body := event("segment-secret-1", "touchpoint-secret-2", "nps", 9, "customer-secret-3", time.Time{})
	if code, text := f.do("POST", "/v1/events", body, "Authorization", "Bearer "+token); code != 200 {
		t.Fatalf("POST /v1/events: got %d %s", code, text)
	}
	served := 0
	err := fs.WalkDir(webFiles, "web", func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		want, err := webFiles.ReadFile(name)
		if err != nil {
			return err
		}
		target := "/static/" + strings.TrimPrefix(name, "web/")
		if name == "web/index.html" {
			target = "/"
		}
		w := serveDashboard(t, f, "GET", target)
		switch got := w.Body.String(); {
		case w.Code != 200:
			t.Errorf("%s: got %d, want 200 without a token", target, w.Code)
		case got != string(want):
			t.Errorf("%s: got %d bytes that differ from the %d compiled in", target, len(got), len(want))
		case strings.Contains(got, "secret"):
			t.Errorf("%s: holds a name the engine recorded", target)
		}
		served++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if served < 7 {
		t.Errorf("served %d files, want the page, its script, styles and icon, and the chart library's three", served)
	}
	if code, _ := f.do("GET", "/v1/keys", ""); code != 401 {
		t.Errorf("GET /v1/keys without the token: got %d, want 401", code)
	}
}

// TestDashboardPageRules checks the page's own files against the rules the
// Content-Security-Policy enforces and that offline use needs: no inline
// script, style or event handler, nothing from elsewhere, and every file
// the page names served.
func TestDashboardPageRules(t *testing.T) {
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(dashboardCSP, directive) {
			t.Errorf("CSP %q: want %q", dashboardCSP, directive)
		}
	}
	if strings.Contains(dashboardCSP, "unsafe") {
		t.Errorf("CSP %q: want nothing unsafe", dashboardCSP)
	}

	f := newFixture(t, engine.Config{}, Options{})
	page := serveDashboard(t, f, "GET", "/").Body.String()
	for _, tag := range regexp.MustCompile(`(?s)<script[^>]*>.*?</script>`).FindAllString(page, -1) {
		if !strings.Contains(tag, ` src="`) || !strings.HasSuffix(tag, "></script>") {
			t.Errorf("inline script: %s", tag)
		}
	}
	bad := []struct{ what, pattern string }{
		{"a style element", `<style`},
		{"a style attribute", `\sstyle\s*=`},
		{"an event handler attribute", `\son[a-z]+\s*=`},
		{"a javascript: address", `javascript:`},
	}
	for _, b := range bad {
		if m := regexp.MustCompile(b.pattern).FindString(page); m != "" {
			t.Errorf("index.html has %s (%q): the CSP blocks it", b.what, m)
		}
	}
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		text, err := webFiles.ReadFile("web/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`https?://`).Find(text); m != nil {
			t.Errorf("%s names an outside address: the page must work offline", name)
		}
	}
	script, _ := webFiles.ReadFile("web/app.js")
	for _, risky := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function"} {
		if strings.Contains(string(script), risky) {
			t.Errorf("app.js uses %s: segment and touchpoint names are data, and go in as text only", risky)
		}
	}

	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 5 {
		t.Fatalf("index.html names %d files, want its script, styles, icon and chart library", len(refs))
	}
	for _, ref := range refs {
		if w := serveDashboard(t, f, "GET", "/"+ref[1]); w.Code != http.StatusOK {
			t.Errorf("index.html names %s: got %d, want 200", ref[1], w.Code)
		}
	}
}
