package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cxscore/cxscore/engine"
)

// TestBrowserAttacks plays a web page that a user of the machine opens
// while the sidecar runs without a token: it makes the browser send what a
// page may send. Each attempt is refused with a JSON error, and nothing
// recorded changes.
func TestBrowserAttacks(t *testing.T) {
	// example.com is the Host of httptest's requests, which the fixture's
	// helpers send.
	f := newFixture(t, engine.Config{}, Options{CheckHost: true, AllowedHosts: []string{"cx.internal", "example.com"}})
	if code, resp := f.post("", event("s", "t", "nps", 9, "c-1", t0)); code != 200 || resp.Accepted != 1 {
		t.Fatalf("posting the first event: got %d %+v", code, resp)
	}
	snap := string(snapshotOf(f))
	ev := event("s", "t", "nps", 0, "", t0)
	tests := []struct {
		name, method, target, body string
		header                     []string // name, value pairs; Host is set as the request's
		status                     int
		want                       string
	}{
		{"text/plain POST, a simple request", "POST", "/v1/events", ev, []string{"Content-Type", "text/plain;charset=UTF-8"},
			415, "Content-Type text/plain is not taken"},
		{"form POST", "POST", "/v1/events", ev, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "not taken"},
		{"POST of a Blob without a type", "POST", "/v1/events", ev, []string{"Content-Type", ""}, 415, "no Content-Type"},
		{"cross-site POST", "POST", "/v1/events", ev, []string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"},
			403, "cross-origin request refused"},
		{"same-site POST (another port)", "POST", "/v1/events", ev, []string{"Content-Type", "application/json", "Sec-Fetch-Site", "same-site"},
			403, "cross-origin"},
		{"POST with a foreign Origin, no Sec-Fetch-Site", "POST", "/v1/events", ev,
			[]string{"Content-Type", "application/json", "Origin", "http://evil.example", "Host", "localhost:8080"}, 403, "cross-origin"},
		{"cross-site DELETE", "DELETE", "/v1/keys?segment=s", "", []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-origin"},
		{"cross-site merge, even with the token", "POST", "/v1/merge", snap,
			[]string{"Sec-Fetch-Site", "cross-site", "Authorization", "Bearer " + adminToken}, 403, "cross-origin"},
		{"DNS rebinding: a read under the page's name", "GET", "/v1/snapshot", "", []string{"Host", "evil.example:8080"},
			403, `Host "evil.example:8080" is not served here`},
		{"DNS rebinding: a write under the page's name", "POST", "/v1/events", ev,
			[]string{"Content-Type", "application/json", "Host", "evil.example"}, 403, "is not served here"},
		{"an allowed name as a prefix", "GET", "/v1/keys", "", []string{"Host", "cx.internal.evil.example"}, 403, "is not served here"},
		{"an address of another interface", "GET", "/v1/keys", "", []string{"Host", "192.168.1.7:8080"}, 403, "is not served here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for i := 0; i+1 < len(tt.header); i += 2 {
				if tt.header[i] == "Host" {
					r.Host = tt.header[i+1]
				} else {
					r.Header.Set(tt.header[i], tt.header[i+1])
				}
			}
			code, text := f.serve(r)
			if e := decodeJSON[Error](t, text); code != tt.status || !strings.Contains(e.Error, tt.want) {
				t.Errorf("got %d %s, want %d with %q", code, text, tt.status, tt.want)
			}
			if got := string(snapshotOf(f)); got != snap {
				t.Error("the engine's state changed")
			}
		})
	}

	// What a program (or the dashboard, same-origin) sends still works.
	for _, tt := range []struct {
		name   string
		header []string
	}{
		{"no browser headers", nil},
		{"same-origin", []string{"Sec-Fetch-Site", "same-origin"}},
		{"typed in the address bar", []string{"Sec-Fetch-Site", "none"}},
		{"Origin of the server itself", []string{"Origin", "http://localhost:8080", "Host", "localhost:8080"}},
		{"127.0.0.1", []string{"Host", "127.0.0.1:8080"}},
		{"another loopback address", []string{"Host", "127.0.0.2"}},
		{"IPv6 loopback", []string{"Host", "[::1]:8080"}},
		{"localhost, upper case, with a dot", []string{"Host", "LocalHost.:8080"}},
		{"a subdomain of localhost", []string{"Host", "cx.localhost:8080"}},
		{"an allowed host", []string{"Host", "CX.internal:8080"}},
		{"HTTP/1.0, no Host", []string{"Host", ""}},
	} {
		r := httptest.NewRequest("POST", "/v1/events", strings.NewReader(ev))
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(tt.header); i += 2 {
			if tt.header[i] == "Host" {
				r.Host = tt.header[i+1]
			} else {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
		}
		if code, text := f.serve(r); code != 200 {
			t.Errorf("%s: got %d %s, want 200", tt.name, code, text)
		}
	}
}

// Without CheckHost, any Host is served: the server may be reached
// through a name the handler cannot know.
func TestHostUnchecked(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	r := httptest.NewRequest("GET", "/v1/keys", nil)
	r.Host = "cxscore.example.com"
	if code, text := f.serve(r); code != 200 {
		t.Errorf("got %d %s, want 200", code, text)
	}
}

func TestGuardOptions(t *testing.T) {
	e, err := engine.New(engine.Config{CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{"merge without a token", Options{Merge: true}, "merge needs a token or an admin token"},
		{"admin token with a space", Options{Merge: true, AdminToken: "a b"}, "white space"},
		{"allowed host with a port", Options{AllowedHosts: []string{"cx.internal:8080"}}, `allowed host "cx.internal:8080"`},
		{"allowed host as a URL", Options{AllowedHosts: []string{"http://cx.internal"}}, "without scheme"},
		{"empty allowed host", Options{AllowedHosts: []string{""}}, "allowed host"},
	} {
		if _, err := New(e, tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	for _, o := range []Options{{Merge: true, Token: "t"}, {Merge: true, AdminToken: "a"}, {AllowedHosts: []string{"::1", "[fd00::1]", "cx"}}} {
		if _, err := New(e, o); err != nil {
			t.Errorf("%+v: got %v, want no error", o, err)
		}
	}
}

// With an admin token, merges take it and only it.
func TestAdminToken(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{Token: "user", AdminToken: "admin"})
	src := newFixture(t, engine.Config{}, Options{})
	src.post(ndjson, event("s", "t", "nps", 9, "", t0))
	snap := snapshotOf(src)
	for auth, want := range map[string]int{"": 401, "Bearer user": 401, "Bearer admin": 200} {
		if code, text := merge(f, snap, int64(len(snap)), "Authorization", auth); code != want {
			t.Errorf("merge with %q: got %d %s, want %d", auth, code, text, want)
		}
	}
	if code, _ := f.do("GET", "/v1/keys", "", "Authorization", "Bearer admin"); code != 401 {
		t.Errorf("GET /v1/keys with the admin token: got %d, want 401 (it is for merges only)", code)
	}
	if got := f.total(); got != 1 {
		t.Errorf("got %d responses, want the 1 merged with the admin token", got)
	}
}
