package main

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
	"github.com/cxscore/cxscore/server/metrics"
)

func TestParseFlags(t *testing.T) {
	env := func(token string) func(string) string {
		return func(name string) string {
			if name == "CXSCORE_TOKEN" {
				return token
			}
			return ""
		}
	}
	t.Run("defaults", func(t *testing.T) {
		c, err := parseFlags(nil, env(""), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.addr != "127.0.0.1:8080" || c.token != "" || c.maxKeys != 10_000 || c.maxFuture != time.Minute ||
			c.precision != 12 || c.maxBody != httpapi.DefaultMaxBodyBytes || c.maxEvent != httpapi.DefaultMaxEventBytes || len(c.metricsWindows) != 3 ||
			c.logLevel != slog.LevelInfo || c.logJSON || c.readTimeout >= c.writeTimeout {
			t.Errorf("got %+v, want the documented defaults", c)
		}
	})
	t.Run("everything", func(t *testing.T) {
		c, err := parseFlags(strings.Fields("-addr :9000 -token t1 -max-keys 5 -max-future 0 -precision 14 -cache-bytes -1 "+
			"-max-body 1000 -metrics-windows 1m,7d -read-timeout 1s -write-timeout 2s -shutdown-timeout 3s -log-level debug -log-format json"),
			env("from-env"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		want := config{addr: ":9000", token: "t1", maxKeys: 5, maxFuture: -1, precision: 14, cacheBytes: -1, maxBody: 1000,
			metricsWindows: []metrics.Window{{Text: "1m", Duration: time.Minute}, {Text: "7d", Duration: 7 * 24 * time.Hour}}, readTimeout: time.Second,
			writeTimeout: 2 * time.Second, shutdownTimeout: 3 * time.Second, logLevel: slog.LevelDebug, logJSON: true}
		if c.addr != want.addr || c.token != want.token || c.maxKeys != want.maxKeys || c.maxFuture != want.maxFuture ||
			c.precision != want.precision || c.cacheBytes != want.cacheBytes || c.maxBody != want.maxBody ||
			len(c.metricsWindows) != 2 || c.metricsWindows[1] != want.metricsWindows[1] || c.readTimeout != want.readTimeout ||
			c.writeTimeout != want.writeTimeout || c.shutdownTimeout != want.shutdownTimeout || c.logLevel != want.logLevel || !c.logJSON {
			t.Errorf("got %+v, want %+v", c, want)
		}
	})
	t.Run("limits", func(t *testing.T) {
		c, err := parseFlags(strings.Fields("-overflow _other -max-bytes 1000000 -max-held-responses 50"), env(""), io.Discard)
		if err != nil || c.overflow != "_other" || c.maxBytes != 1_000_000 || c.maxHeld != 50 {
			t.Errorf("got %v, overflow %q, max bytes %d, held %d", err, c.overflow, c.maxBytes, c.maxHeld)
		}
	})
	t.Run("token from the environment", func(t *testing.T) {
		if c, _ := parseFlags(nil, env("from-env"), io.Discard); c.token != "from-env" {
			t.Errorf("got token %q, want from-env", c.token)
		}
		if c, _ := parseFlags([]string{"-token", ""}, env("from-env"), io.Discard); c.token != "" {
			t.Errorf("-token \"\": got token %q, want none: the flag wins", c.token)
		}
	})
	t.Run("hosts and admin token", func(t *testing.T) {
		getenv := func(name string) string { return map[string]string{"CXSCORE_ADMIN_TOKEN": "adm"}[name] }
		c, err := parseFlags(strings.Fields("-merge -allowed-hosts cx.internal,,host.example"), getenv, io.Discard)
		if err != nil || c.adminToken != "adm" || !c.merge || !slices.Equal(c.allowedHosts, []string{"cx.internal", "host.example"}) {
			t.Errorf("got %v, admin token %q, hosts %q; want adm and [cx.internal host.example]", err, c.adminToken, c.allowedHosts)
		}
	})
	t.Run("timezone", func(t *testing.T) {
		c, err := parseFlags(nil, env(""), io.Discard)
		if err != nil || c.location != time.UTC {
			t.Errorf("by default: got %v, %v, want UTC", c.location, err)
		}
		c, err = parseFlags(strings.Fields("-timezone Asia/Kathmandu"), env(""), io.Discard)
		if err != nil || c.location.String() != "Asia/Kathmandu" {
			t.Errorf("got %v, %v, want Asia/Kathmandu", c.location, err)
		}
	})
	t.Run("help", func(t *testing.T) {
		var out strings.Builder
		if _, err := parseFlags([]string{"-help"}, env(""), &out); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("got %v, want flag.ErrHelp", err)
		}
		for _, want := range []string{"POST /v1/events", "-addr host:port", "-metrics-windows windows", "CXSCORE_TOKEN", "SIGTERM", "-journey file", "GET  /v1/journey"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("help lacks %q:\n%s", want, out.String())
			}
		}
	})
	bad := []struct {
		args, err string
	}{
		{"-max-keys 0", "-max-keys 0, want > 0"},
		{"-overflow *", `-overflow "*": want a segment and touchpoint name`},
		{"-max-bytes -1", "-max-bytes -1, want ≥ 0"},
		{"-max-held-responses 0", "-max-held-responses 0, want > 0"},
		{"-max-body -5", "-max-body -5, want > 0"},
		{"-max-event-bytes 10", "-max-event-bytes 10, want 64 to 16777216"},
		{"-precision 300", "-precision 300, want 8-16"},
		{"-metrics-windows 5m,,1h", `-metrics-windows: window "": want a Go duration`},
		{"-metrics-windows 1h,1h", "1h listed twice"},
		{"-merge", "-merge needs a token"},
		{"-metrics-windows 1y", `-metrics-windows: window "1y"`},
		{"-log-level loud", `-log-level "loud"`},
		{"-timezone Mars/Olympus_Mons", `-timezone "Mars/Olympus_Mons": want an IANA time zone name`},
		{"-timezone Local", `-timezone "Local": want an IANA time zone name`},
		{"-log-format xml", `-log-format "xml"`},
		{"-addr", "flag needs an argument"},
		{"-port 80", "flag provided but not defined: -port"},
		{"serve", `unexpected argument "serve"`},
		{"-nats-stream S", "-nats-stream needs -nats"},
		{"-nats http://localhost:4222", `-nats "http://localhost:4222": want embedded, or comma-separated nats:// URLs`},
		{"-nats nats://h:4222 -nats-dir d", "-nats-dir is for -nats embedded"},
		{"-nats embedded -nats-replicas 0", "-nats-replicas 0, want 1-5"},
		{"-nats embedded -nats-listen 4222", `-nats-listen "4222"`},
		{"-nats embedded -nats-cluster c", "-nats-cluster needs -nats-name"},
		{"-nats embedded -nats-routes nats-route://h:6222", "-nats-routes need -nats-cluster"},
		{"-nats embedded -merge -token t", "-merge cannot be used with -nats"},
	}
	for _, tt := range bad {
		t.Run(tt.args, func(t *testing.T) {
			var out strings.Builder
			_, err := parseFlags(strings.Fields(tt.args), env(""), &out)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want a usage error with %q", err, tt.err)
			}
			if !strings.Contains(out.String(), tt.err) {
				t.Errorf("got output %q, want it to say %q", out.String(), tt.err)
			}
		})
	}
}
