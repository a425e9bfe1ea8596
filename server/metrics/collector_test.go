package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

// t0 is the tests' "now": mid-morning, so that a minute of clock skew never
// crosses a day.
var t0 = time.Date(2026, 11, 24, 10, 15, 30, 0, time.UTC)

func newEngine(t testing.TB, cfg engine.Config) (*engine.Engine, *window.ManualClock) {
	t.Helper()
	clock := window.NewManualClock(t0)
	cfg.Clock = clock
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = -1
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, clock
}

func record(t testing.TB, e *engine.Engine, evs ...engine.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := e.RecordAt(t0, ev); err != nil {
			t.Fatalf("recording %+v: %v", ev, err)
		}
	}
}

// fixtureEngine holds one key of each metric, as the sidecar's tests did,
// in an engine that scores from one response on.
func fixtureEngine(t *testing.T) (*engine.Engine, *window.ManualClock) {
	e, clock := newEngine(t, engine.Config{MinResponses: 1})
	record(t, e,
		engine.Event{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 10, Time: t0.Add(-10 * time.Minute)},
		engine.Event{CustomerID: "c-2", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 3, Time: t0.Add(-10 * time.Minute)},
		engine.Event{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "web", Metric: engine.CSAT, Score: 5, Time: t0},
		engine.Event{Segment: "smb", Touchpoint: "app", Metric: engine.CES, Score: 6, Time: t0.Add(-2 * time.Hour)},
	)
	return e, clock
}

// TestCollectorMinResponses: with the default minimum of 10, nine answers
// give a responses gauge but no score or margin; the tenth brings both.
func TestCollectorMinResponses(t *testing.T) {
	e, clock := newEngine(t, engine.Config{})
	c, err := New(e, Options{Clock: clock, Windows: []Window{{"1h", time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if n := testutil.CollectAndCount(c, "cxscore_nps_score", "cxscore_nps_margin_of_error"); n != 0 && i < 10 {
			t.Fatalf("%d answers: got %d score and margin series, want 0", i, n)
		}
		record(t, e, engine.Event{Segment: "s", Touchpoint: "t", Metric: engine.NPS, Score: 9, Time: t0})
	}
	if n := testutil.CollectAndCount(c, "cxscore_nps_score", "cxscore_nps_margin_of_error"); n != 2 {
		t.Fatalf("10 answers: got %d score and margin series, want 2", n)
	}
	if n := testutil.CollectAndCount(c, "cxscore_responses"); n != 3 {
		t.Fatalf("got %d responses series, want 3", n)
	}
}

func TestCollectorValues(t *testing.T) {
	e, clock := fixtureEngine(t)
	c, err := New(e, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP cxscore_nps_score NPS: percentage of promoters (9-10) minus percentage of detractors (0-6), -100 to 100. Absent below 1 responses in the window.
# TYPE cxscore_nps_score gauge
cxscore_nps_score{segment="enterprise",touchpoint="checkout",window="1h"} 0
cxscore_nps_score{segment="enterprise",touchpoint="checkout",window="24h"} 0
# HELP cxscore_ces_score CES: mean score, 1-7 (higher is easier). Absent below 1 responses in the window.
# TYPE cxscore_ces_score gauge
cxscore_ces_score{segment="smb",touchpoint="app",window="24h"} 6
# HELP cxscore_unique_customers Distinct customers who answered in the window (exact up to 2^precision/8 customers, a HyperLogLog estimate beyond).
# TYPE cxscore_unique_customers gauge
cxscore_unique_customers{segment="enterprise",touchpoint="checkout",window="1h"} 2
cxscore_unique_customers{segment="enterprise",touchpoint="checkout",window="24h"} 2
cxscore_unique_customers{segment="enterprise",touchpoint="checkout",window="5m"} 0
cxscore_unique_customers{segment="enterprise",touchpoint="web",window="1h"} 1
cxscore_unique_customers{segment="enterprise",touchpoint="web",window="24h"} 1
cxscore_unique_customers{segment="enterprise",touchpoint="web",window="5m"} 1
cxscore_unique_customers{segment="smb",touchpoint="app",window="1h"} 0
cxscore_unique_customers{segment="smb",touchpoint="app",window="24h"} 0
cxscore_unique_customers{segment="smb",touchpoint="app",window="5m"} 0
# HELP cxscore_keys Segment x touchpoint keys the engine holds.
# TYPE cxscore_keys gauge
cxscore_keys 3
`
	names := []string{"cxscore_nps_score", "cxscore_ces_score", "cxscore_unique_customers", "cxscore_keys"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "cxscore_responses"); n != 3*3*3 {
		t.Errorf("got %d cxscore_responses series, want 3 keys × 3 windows × 3 metrics", n)
	}
}

func TestNewChecksWindows(t *testing.T) {
	e, _ := newEngine(t, engine.Config{})
	_, err := New(e, Options{Windows: []Window{{"70d", 70 * 24 * time.Hour}}})
	if err == nil || !strings.Contains(err.Error(), "metrics window 70d") || !errors.Is(err, engine.ErrWindow) {
		t.Errorf("got %v, want a window error naming 70d", err)
	}
}

func TestParseWindows(t *testing.T) {
	ws, err := ParseWindows("5m, 1h,7d")
	if err != nil || !reflect.DeepEqual(ws, []Window{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"7d", 7 * 24 * time.Hour}}) {
		t.Errorf("got %v, %v; want 5m, 1h, 7d", ws, err)
	}
	for _, bad := range []string{"5m,,1h", "1h,1h", "1y", ""} {
		if _, err := ParseWindows(bad); err == nil {
			t.Errorf("ParseWindows(%q): got no error, want one", bad)
		}
	}
}

// TestUniquesHelpMatchesSketch ties the 2^precision/N of the unique
// customers' HELP text to the sketch's exact limit: a sketch of N'
// customers is exact for N' = 2^p/N and not for one more.
func TestUniquesHelpMatchesSketch(t *testing.T) {
	m := regexp.MustCompile(`exact up to 2\^precision/(\d+) customers`).FindStringSubmatch(uniquesHelp)
	if m == nil {
		t.Fatalf("HELP %q does not state the exact limit as 2^precision/N", uniquesHelp)
	}
	div, _ := strconv.Atoi(m[1])
	for _, p := range []uint8{8, 12, 14} {
		limit := (1 << p) / div
		u, err := sketch.NewUniques(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range limit {
			u.Insert(sketch.Hash(fmt.Sprint("customer-", i)))
		}
		if !u.Exact() || u.Estimate() != uint64(limit) {
			t.Errorf("p=%d: %d customers: exact %t, estimate %d; want exact (the HELP says so)", p, limit, u.Exact(), u.Estimate())
		}
		u.Insert(sketch.Hash("one more"))
		if u.Exact() {
			t.Errorf("p=%d: %d customers still exact: the HELP's 2^precision/%d understates the limit", p, limit+1, div)
		}
	}
}

// TestStatsGauges checks that every field of engine.Stats is a gauge with
// the field's value.
func TestStatsGauges(t *testing.T) {
	e, _ := fixtureEngine(t)
	c, err := New(e, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := gather(t, c)
	st := reflect.ValueOf(e.Stats())
	for i := range st.NumField() {
		name := "cxscore_" + snake(st.Type().Field(i).Name)
		s, ok := got[name+"{}"]
		if !ok {
			t.Errorf("no gauge %s for engine.Stats.%s", name, st.Type().Field(i).Name)
			continue
		}
		if want := fmt.Sprint(st.Field(i).Interface()); strconv.FormatFloat(s, 'f', -1, 64) != want {
			t.Errorf("%s: got %v, want %s", name, s, want)
		}
	}
	for in, want := range map[string]string{"Keys": "keys", "MemoryBytes": "memory_bytes", "HTTPRequests": "http_requests", "OverflowEvents": "overflow_events"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// gather collects c and returns every sample by name and labels, such as
// `cxscore_nps_score{segment="s",touchpoint="*",window="1h"}`.
func gather(t testing.TB, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[sampleName(mf.GetName(), m)] = m.GetGauge().GetValue()
		}
	}
	return out
}

func sampleName(name string, m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// TestRollupsMatchQuery records random events and checks every series of
// a scrape with roll-ups against engine.Query of the same selection, and
// that roll-ups cover exactly the segments and touchpoints recorded.
func TestRollupsMatchQuery(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e, clock := newEngine(t, engine.Config{MinResponses: rapid.IntRange(0, 12).Draw(rt, "min responses")})
		segs := []string{"enterprise", "smb", "consumer"}
		tps := []string{"web", "app", "checkout"}
		metrics := []engine.Metric{engine.CSAT, engine.CES, engine.NPS}
		n := rapid.IntRange(0, 200).Draw(rt, "events")
		for i := range n {
			m := rapid.SampledFrom(metrics).Draw(rt, "metric")
			lo, hi := m.Scale()
			ev := engine.Event{
				Segment:    rapid.SampledFrom(segs).Draw(rt, "segment"),
				Touchpoint: rapid.SampledFrom(tps).Draw(rt, "touchpoint"),
				Metric:     m,
				Score:      rapid.IntRange(lo, hi).Draw(rt, "score"),
				Time:       t0.Add(-time.Duration(rapid.Int64Range(0, int64(30*time.Hour)).Draw(rt, "age"))),
			}
			if rapid.Bool().Draw(rt, "identified") {
				ev.CustomerID = fmt.Sprint("c-", rapid.IntRange(0, 40).Draw(rt, "customer"))
			}
			if err := e.RecordAt(t0, ev); err != nil {
				rt.Fatalf("event %d: %v", i, err)
			}
		}
		windows := []Window{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}, {"2d", 48 * time.Hour}}
		c, err := New(e, Options{Clock: clock, Windows: windows, Rollups: true})
		if err != nil {
			rt.Fatal(err)
		}
		matchQuery(rt, e, windows, gather(t, c))
	})
}

// matchQuery checks a scrape (sample name to value, as gather returns it)
// against engine.QueryAt(t0) of every key, every roll-up of the recorded
// segments and touchpoints and every window, and that it holds no other
// unique-customer series.
func matchQuery(t interface {
	Helper()
	Errorf(string, ...any)
	Fatal(...any)
}, e *engine.Engine, windows []Window, got map[string]float64) {
	t.Helper()
	keys := e.Keys(nil)
	seenSeg, seenTp := map[string]bool{}, map[string]bool{}
	for _, k := range keys {
		seenSeg[k.Segment], seenTp[k.Touchpoint] = true, true
	}
	var sels [][2]string
	for _, k := range keys {
		sels = append(sels, [2]string{k.Segment, k.Touchpoint})
	}
	for s := range seenSeg {
		sels = append(sels, [2]string{s, "*"})
	}
	for tp := range seenTp {
		sels = append(sels, [2]string{"*", tp})
	}
	sels = append(sels, [2]string{"*", "*"})
	for _, w := range windows {
		for _, sel := range sels {
			var r engine.Result
			if err := e.QueryAt(t0, engine.Query{Segment: sel[0], Touchpoint: sel[1], Window: w.Duration}, &r); err != nil {
				t.Fatal(err)
			}
			labels := fmt.Sprintf("segment=%q,touchpoint=%q,window=%q", sel[0], sel[1], w.Text)
			check := func(name string, want float64, ok bool) {
				v, has := got[name+"{"+labels+"}"]
				if has != ok || ok && !(v == want || math.Abs(v-want) < 1e-9) {
					t.Errorf("%s{%s}: got %v (present %t), want %v (present %t)", name, labels, v, has, want, ok)
				}
			}
			check("cxscore_unique_customers", float64(r.UniqueCustomers), true)
			// Below the minimum, scores and margins are left out.
			enough := func(n uint64) bool { return n >= uint64(e.MinResponses()) }
			v, ok := r.NPS.Score()
			check("cxscore_nps_score", v, ok && enough(r.NPS.Responses()))
			v, ok = r.CSAT.Score()
			check("cxscore_csat_score", v, ok && enough(r.CSAT.Responses()))
			v, ok = r.CES.Score()
			check("cxscore_ces_score", v, ok && enough(r.CES.Responses()))
			v, ok = r.NPS.MarginOfError()
			check("cxscore_nps_margin_of_error", v, ok && enough(r.NPS.Responses()))
			v, ok = r.CES.MarginOfError()
			check("cxscore_ces_margin_of_error", v, ok && enough(r.CES.Responses()))
			for _, m := range []struct {
				name string
				n    uint64
			}{{"csat", r.CSAT.Responses()}, {"ces", r.CES.Responses()}, {"nps", r.NPS.Responses()}} {
				if v := got[fmt.Sprintf("cxscore_responses{metric=%q,%s}", m.name, labels)]; v != float64(m.n) {
					t.Errorf("cxscore_responses{metric=%q,%s}: got %v, want %d", m.name, labels, v, m.n)
				}
			}
		}
	}
	// No series beyond those: the roll-ups are exactly the recorded
	// segments and touchpoints.
	total := 0
	for name := range got {
		if strings.HasPrefix(name, "cxscore_unique_customers{") {
			total++
		}
	}
	if want := len(windows) * len(sels); total != want {
		t.Errorf("got %d unique-customer series, want %d", total, want)
	}
}

// TestCollectorLint checks the exposition with client_golang's linter, the
// rules promtool check metrics applies.
func TestCollectorLint(t *testing.T) {
	e, clock := fixtureEngine(t)
	c, err := New(e, Options{Clock: clock, Rollups: true})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestPromtool scrapes the collector over HTTP, as Prometheus does, runs
// promtool check metrics over the exposition and checks its series, roll-ups
// included, against Query. promtool is looked up in $PROMTOOL, then in PATH
// (Debian: apt-get install prometheus; or go install
// github.com/prometheus/prometheus/cmd/promtool@latest). Without it the
// test skips, except under CI=true, where it fails: CI installs it.
func TestPromtool(t *testing.T) {
	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		var err error
		if promtool, err = exec.LookPath("promtool"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("promtool is not installed, and CI=true requires it (apt-get install prometheus)")
			}
			t.Skip("promtool is not installed (apt-get install prometheus); TestCollectorLint applies the same rules")
		}
	}
	e, clock := newEngine(t, engine.Config{})
	for i, ev := range []engine.Event{
		{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 10},
		{CustomerID: "c-2", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 3},
		{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "web", Metric: engine.CSAT, Score: 5},
		{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "web", Metric: engine.NPS, Score: 9},
		{CustomerID: "c-3", Segment: "smb", Touchpoint: "checkout", Metric: engine.CES, Score: 6},
		{CustomerID: "c-3", Segment: "smb", Touchpoint: "checkout", Metric: engine.NPS, Score: 7},
		{Segment: "smb", Touchpoint: "app", Metric: engine.CES, Score: 2},
		{CustomerID: "c-4", Segment: "smb", Touchpoint: "app", Metric: engine.CES, Score: 7},
	} {
		ev.Time = t0.Add(-time.Duration(i) * 40 * time.Minute) // some in 5m, 1h and 24h only
		record(t, e, ev)
	}
	c, err := New(e, Options{Clock: clock, Rollups: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}))
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain") // the text format promtool reads
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}

	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[sampleName(name, m)] = m.GetGauge().GetValue()
		}
	}
	if len(got) == 0 {
		t.Fatal("the scrape holds no series")
	}
	matchQuery(t, e, DefaultWindows, got)
}
