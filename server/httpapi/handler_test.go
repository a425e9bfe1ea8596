package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	f := newFixture(t, engine.Config{}, Options{Token: token})
	open := newFixture(t, engine.Config{}, Options{})
	body := event("s", "t", "nps", 9, "", time.Time{})
	tests := []struct {
		name, method, target, auth string
		status                     int
	}{
		{"events with token", "POST", "/v1/events", "Bearer " + token, 200},
		{"scheme in lower case", "POST", "/v1/events", "bearer " + token, 200},
		{"events without token", "POST", "/v1/events", "", 401},
		{"wrong token", "POST", "/v1/events", "Bearer s3cret-tokem", 401},
		{"token prefix", "POST", "/v1/events", "Bearer s3cret", 401},
		{"token and more", "POST", "/v1/events", "Bearer " + token + "x", 401},
		{"token without scheme", "POST", "/v1/events", token, 401},
		{"basic auth", "POST", "/v1/events", "Basic " + token, 401},
		{"scores", "GET", "/v1/scores", "Bearer " + token, 200},
		{"scores without token", "GET", "/v1/scores", "", 401},
		{"trend without token", "GET", "/v1/trend", "", 401},
		{"keys without token", "GET", "/v1/keys", "", 401},
		{"metrics", "GET", "/metrics", "Bearer " + token, 200},
		{"metrics without token", "GET", "/metrics", "", 401},
		{"healthz is open", "GET", "/healthz", "", 200},
		{"readyz is open", "GET", "/readyz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, text := f.do(tt.method, tt.target, body, "Authorization", tt.auth)
			if code != tt.status {
				t.Errorf("got %d %s, want %d", code, text, tt.status)
			}
			if code == 401 && !strings.Contains(text, "Authorization: Bearer <token>") {
				t.Errorf("got %s, want the answer to say which header to send", text)
			}
			if code, _ := open.do(tt.method, tt.target, body); code != 200 {
				t.Errorf("without a token configured: got %d, want 200", code)
			}
		})
	}
	if got := f.total(); got != 2 {
		t.Errorf("engine holds %d responses, want the 2 posted with the token", got)
	}
}

func TestHealth(t *testing.T) {
	f := newFixture(t, engine.Config{}, Options{})
	check := func(target string, status int, want string) {
		t.Helper()
		code, text := f.do("GET", target, "")
		if code != status || !strings.Contains(text, want) {
			t.Errorf("GET %s: got %d %s, want %d %s", target, code, text, status, want)
		}
	}
	check("/healthz", 200, `"ok"`)
	check("/readyz", 200, `"ready"`)
	f.server.Drain()
	check("/healthz", 200, `"ok"`)
	check("/readyz", 503, `"shutting down"`)
}

func TestNewChecks(t *testing.T) {
	e, err := engine.New(engine.Config{CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"negative merge limit", Options{MaxMergeBytes: -1}, "max merge bytes -1"},
		{"token with a space", Options{Token: "a b"}, "white space"},
		{"negative body limit", Options{MaxBodyBytes: -1}, "max body bytes -1"},
	}
	for _, tt := range tests {
		if _, err := New(e, tt.o); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.err)
		}
	}
}
