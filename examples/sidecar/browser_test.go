package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/cxscore/cxscore/server/httpapi"
)

// The dashboard's display rules, as app.js has them: the fewest responses
// a score is shown for, and the decimals of each metric's score and margin.
const minResponses = 10

var scoreDigits = map[string]int{"nps": 1, "csat": 1, "ces": 2}

// TestDashboardInBrowser builds the sidecar, fills it with a month of
// realistic answers, opens the dashboard in headless Chromium and checks
// what a person sees against what the API says: the numbers of every card
// and their changes against the previous period, after switching window
// and segment too; the segment × touchpoint heat map; the journey
// scorecard of -journey; the trend charts; the token form
// of a sidecar with a token; and the banner when the sidecar goes away,
// and its recovery. With CXSCORE_SCREENSHOTS=dir it also writes
// dashboard-desktop.png and dashboard-phone.png there.
//
// It skips when no Chromium is found: $CHROMIUM names one, else chromium,
// chromium-browser or google-chrome on $PATH.
func TestDashboardInBrowser(t *testing.T) {
	chromium := findChromium(t)
	bin := buildSidecar(t)
	journey := writeDemoJourney(t)
	sc := startSidecar(t, bin, "-addr", "127.0.0.1:0", "-journey", journey)
	postNDJSON(t, sc.url, "", demoEvents(time.Now()))
	browser := newBrowser(t, chromium)
	tab := openTab(t, browser, sc.url+"/")

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"cards show the API's numbers", func(t *testing.T) {
			got := tab.waitForCards(t, sc.url, "", "*", "1h")
			few, scored := 0, 0
			for _, c := range got {
				for _, m := range c.Metrics {
					if m.Few {
						few++
					} else {
						scored++
					}
				}
			}
			if few == 0 || scored == 0 {
				t.Errorf("got %d metrics too few to score and %d scored, want some of each", few, scored)
			}
			if got := eval[string](t, tab, `document.querySelector('#min-responses').textContent`); got != strconv.Itoa(minResponses) {
				t.Errorf("the page's threshold: got %s, want %d", got, minResponses)
			}
		}},
		{"changes on the cards", func(t *testing.T) {
			tab.waitForChanges(t, sc.url, "*", "1h")
			if got := eval[string](t, tab, `document.querySelector('#cards .card tr[data-metric="ces"] .direction').textContent`); got != "higher is easier" {
				t.Errorf("CES direction: got %q, want \"higher is easier\"", got)
			}
		}},
		{"heat map", func(t *testing.T) {
			tab.waitForHeatmap(t, sc.url, "1h", "nps")
			tab.choose(t, "#heat-metric", "ces")
			tab.waitForHeatmap(t, sc.url, "1h", "ces")
			tab.choose(t, "#window", "24h")
			tab.waitForHeatmap(t, sc.url, "24h", "ces")
			tab.choose(t, "#heat-metric", "csat")
			tab.waitForHeatmap(t, sc.url, "24h", "csat")
			if got := eval[string](t, tab, `location.search`); got != "?window=24h&metric=csat" {
				t.Errorf("address: got %q, want the metric in it", got)
			}
			tab.choose(t, "#heat-metric", "nps")
			tab.choose(t, "#window", "1h")
		}},
		{"journey scorecard", func(t *testing.T) {
			tab.waitForJourney(t, sc.url, "*", "1h")
			// The release and the promotion: significant, each its way.
			marks := eval[string](t, tab, `[...document.querySelectorAll('#journey .change-text')].map((c) => c.textContent[0]).join('')`)
			if !strings.Contains(marks, "▲") || !strings.Contains(marks, "▼") {
				t.Errorf("journey changes begin with %q, want ▲ (checkout's promotion) and ▼ (onboarding's release) among them", marks)
			}
			if n := eval[int](t, tab, `document.querySelectorAll('#journey tbody tr').length`); n != 3 {
				t.Errorf("got %d stages, want the 3 of -journey", n)
			}
		}},
		{"refresh updates in place", func(t *testing.T) {
			eval[bool](t, tab, `(window.probe = {
				card: document.querySelector('#cards .card'),
				canvas: document.querySelector('.plot canvas'),
				status: document.querySelector('#status').textContent,
			}, true)`)
			tab.poll(t, "a refresh", `document.querySelector('#status').textContent !== window.probe.status`)
			same := `document.querySelector('#cards .card') === window.probe.card &&
				document.querySelector('.plot canvas') === window.probe.canvas`
			if !eval[bool](t, tab, same) {
				t.Errorf("a refresh replaced the first card or chart, want it updated in place")
			}
		}},
		{"switching window and segment", func(t *testing.T) {
			tab.choose(t, "#window", "24h")
			tab.choose(t, "#segment", "smb")
			got := tab.waitForCards(t, sc.url, "", "smb", "24h")
			if !slices.ContainsFunc(got, func(c domCard) bool { return c.Touchpoint == "billing" }) {
				t.Errorf("smb's cards: got %v, want billing among them", got)
			}
			if got := eval[string](t, tab, `location.search`); got != "?window=24h&segment=smb" {
				t.Errorf("address: got %q, want the selection in it", got)
			}
			tab.waitForChanges(t, sc.url, "smb", "24h")
			tab.waitForJourney(t, sc.url, "smb", "24h")
			tab.choose(t, "#segment", "enterprise")
			tab.waitForCards(t, sc.url, "", "enterprise", "24h")
			tab.waitForJourney(t, sc.url, "enterprise", "24h")
		}},
		{"trend", func(t *testing.T) {
			tab.choose(t, "#segment", "*")
			tab.waitForTrend(t, sc.url, "*", "*", hourly)
			tab.choose(t, "#trend-touchpoint", "support")
			tab.waitForTrend(t, sc.url, "*", "support", hourly)
			tab.choose(t, "#window", "30d")
			tab.waitForTrend(t, sc.url, "*", "support", daily)
			tab.waitForCards(t, sc.url, "", "*", "30d")
			tab.waitForChanges(t, sc.url, "*", "30d") // the 30 days before: days are kept 61 days
			tab.waitForJourney(t, sc.url, "*", "30d")
			tab.waitForHeatmap(t, sc.url, "30d", "nps")
		}},
		{"calendar periods in the business zone", func(t *testing.T) {
			tab.choose(t, "#window", "this_month")
			tab.waitForTrend(t, sc.url, "*", "support", trendSpan{"this_month", "1d", "this month, daily", "days"})
			tab.waitForCards(t, sc.url, "", "*", "this_month")
			tab.waitForChanges(t, sc.url, "*", "this_month") // against all of last month
			tab.waitForJourney(t, sc.url, "*", "this_month")
			tab.waitForHeatmap(t, sc.url, "this_month", "nps")
			tab.choose(t, "#window", "today")
			tab.waitForTrend(t, sc.url, "*", "support", trendSpan{"today", "1h", "today, hourly", "hours"})
			tab.poll(t, "the zone in the status line", `document.querySelector('#status').textContent.includes('times in UTC')`)
			tab.choose(t, "#window", "30d")
		}},
		{"screenshots", func(t *testing.T) {
			dir := os.Getenv("CXSCORE_SCREENSHOTS")
			if dir == "" {
				t.Skip("set CXSCORE_SCREENSHOTS=dir to write screenshots")
			}
			tab.choose(t, "#window", "1h") // the release and the promotion show as ▼ and ▲
			tab.choose(t, "#trend-touchpoint", "*")
			tab.waitForCards(t, sc.url, "", "*", "1h")
			tab.screenshot(t, filepath.Join(dir, "dashboard-desktop.png"), 1280, 800, 1, true)
			tab.screenshot(t, filepath.Join(dir, "dashboard-phone.png"), 390, 844, 2, false)
			tab.do(t, "restoring the viewport", chromedp.EmulateViewport(1280, 800))
		}},
		{"token form", func(t *testing.T) {
			const token = "dashboard-test-token"
			secured := startSidecar(t, bin, "-addr", "127.0.0.1:0", "-token", token)
			postNDJSON(t, secured.url, token, demoEvents(time.Now())[:3000])
			tab := openTab(t, browser, secured.url+"/")
			tab.do(t, "waiting for the token form", chromedp.WaitVisible(chromedp.CSS("#token-form")))
			if n := eval[int](t, tab, `document.querySelectorAll('#cards .card').length`); n != 0 {
				t.Errorf("without a token: got %d cards, want none", n)
			}
			tab.do(t, "giving a wrong token",
				chromedp.SendKeys(chromedp.CSS("#token"), "wrong-token"),
				chromedp.Click(chromedp.CSS("#token-form button")),
				chromedp.WaitVisible(chromedp.CSS("#token-refused")),
				chromedp.WaitVisible(chromedp.CSS("#token-form")))
			tab.do(t, "giving the token",
				chromedp.SendKeys(chromedp.CSS("#token"), token),
				chromedp.Click(chromedp.CSS("#token-form button")),
				chromedp.WaitNotVisible(chromedp.CSS("#token-form")))
			tab.waitForCards(t, secured.url, token, "*", "1h")
			if !eval[bool](t, tab, `document.querySelector('#journey-section').hidden`) {
				t.Errorf("without -journey: want no journey scorecard")
			}
			if !eval[bool](t, tab, `document.querySelector('#alerts-section').hidden`) {
				t.Errorf("without -alerts: want no alerts section")
			}
			if got := eval[string](t, tab, `sessionStorage.getItem('cxscore-token')`); got != token {
				t.Errorf("sessionStorage: got %q, want the token", got)
			}
			tab.checkConsole(t)
		}},
		{"banner when unreachable, and recovery", func(t *testing.T) {
			if err := sc.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-sc.done
			tab.do(t, "waiting for the banner", chromedp.WaitVisible(chromedp.CSS("#banner")))
			text := eval[string](t, tab, `document.querySelector('#banner').textContent`)
			if !strings.Contains(text, "cannot be reached") || !strings.Contains(text, "The numbers below are from") {
				t.Errorf("banner: got %q, want it to say the sidecar cannot be reached and how old the numbers are", text)
			}
			if !eval[bool](t, tab, `document.querySelector('#main').classList.contains('stale')`) {
				t.Errorf("while unreachable: want the numbers marked stale")
			}
			// A new sidecar on the same address: the page finds it by itself.
			again := startSidecar(t, bin, "-addr", strings.TrimPrefix(sc.url, "http://"))
			tab.do(t, "waiting for the banner to go", chromedp.WaitNotVisible(chromedp.CSS("#banner")))
			tab.waitForCards(t, again.url, "", "*", "30d")
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return // later steps build on earlier ones
		}
	}
	tab.checkConsole(t)
}

// findChromium returns the browser to test with: $CHROMIUM, else the first
// of chromium, chromium-browser and google-chrome on $PATH. It skips the
// test when there is none, so that go test passes on machines without a
// browser; CI installs Debian's chromium, so the test runs there.
func findChromium(t *testing.T) string {
	t.Helper()
	if name := os.Getenv("CHROMIUM"); name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("no browser at $CHROMIUM=%s (%v): the dashboard's browser test needs Chromium", name, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium, chromium-browser or google-chrome on $PATH, and $CHROMIUM is not set: " +
		"the dashboard's browser test needs Chromium (apt-get install chromium)")
	return ""
}

// newBrowser starts headless Chromium with the flags this machine's closed
// network needs (no background requests, no QUIC, no component updates),
// in a fresh profile, and returns a context that has started it.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	profile := t.TempDir() // made before the browser's cleanup, so removed after it stops
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// tab is one browser tab on the dashboard, with what went wrong in it.
type tab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string // uncaught exceptions, console errors and warnings, CSP violations
}

// cspProbe records the page's Content-Security-Policy violations. The
// browser runs it before the page's own scripts, outside the policy.
const cspProbe = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
	window.cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code')));`

// openTab opens a new tab of browser on target.
func openTab(t *testing.T, browser context.Context, target string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return // the tab is closed
			}
			// The browser logs failed requests (a 401, a refused
			// connection) with Source "network": those the page expects.
			if m.IsException() || m.Source == "" && (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning) || m.Source == "security" {
				tb.mu.Lock()
				tb.problems = append(tb.problems, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	tb.do(t, "opening "+target, chromedp.Navigate(target))
	return tb
}

// do runs actions, failing the test after 30 seconds.
func (tb *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tb *tab, expression string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expression, err)
	}
	return v
}

// poll waits until a JavaScript expression is true.
func (tb *tab) poll(t *testing.T, what, expression string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expression, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// choose picks value in a select as a person would, once the select has
// that option (the page fills segments and touchpoints from the API).
func (tb *tab) choose(t *testing.T, selector, value string) {
	t.Helper()
	expression := fmt.Sprintf(`((s, v) => {
		if (![...s.options].some((o) => o.value === v)) return false;
		if (s.value !== v) { s.value = v; s.dispatchEvent(new Event('change')); }
		return true;
	})(document.querySelector(%q), %q)`, selector, value)
	tb.poll(t, fmt.Sprintf("option %q in %s", value, selector), expression)
}

// checkConsole fails the test for every exception, console error or CSP
// violation the page has had so far.
func (tb *tab) checkConsole(t *testing.T) {
	t.Helper()
	for _, v := range eval[[]string](t, tb, `window.cspViolations`) {
		t.Errorf("CSP violation: %s", v)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		t.Errorf("console: %s", p)
	}
}

// domCard is what one card shows, as text.
type domCard struct {
	Touchpoint string               `json:"touchpoint"`
	Customers  string               `json:"customers"`
	Metrics    map[string]domMetric `json:"metrics"`
	Split      map[string]string    `json:"split"`
}

type domMetric struct {
	Score     string `json:"score"`
	MOE       string `json:"moe"`
	Responses string `json:"responses"`
	Few       bool   `json:"few"`
}

const readCards = `[...document.querySelectorAll('#cards .card')].map((c) => ({
	touchpoint: c.dataset.touchpoint,
	customers: c.querySelector('.customers .value').textContent,
	metrics: Object.fromEntries([...c.querySelectorAll('tr.metric')].map((r) => [r.dataset.metric, {
		score: r.querySelector('.score').textContent,
		moe: r.querySelector('.moe').textContent,
		responses: r.querySelector('.responses').textContent,
		few: r.classList.contains('few'),
	}])),
	split: Object.fromEntries([...c.querySelectorAll('.legend li')].map((li) => [li.className, li.querySelector('.count').textContent])),
}))`

// waitForCards waits until the cards show what the API at base says for
// segment over window, and returns them. It asks the API again on every
// try: the window slides, so both sides may move on between two reads.
func (tb *tab) waitForCards(t *testing.T, base, token, segment, window string) []domCard {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		want := apiCards(t, base, token, segment, window)
		got := eval[[]domCard](t, tb, readCards)
		err := compareCards(got, want)
		if err == nil {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s over %s after 30s: %v", segment, window, err)
		}
		time.Sleep(200 * time.Millisecond) // waiting on the page's refresh
	}
}

// apiCards fetches what the page should show: a result for all
// touchpoints, then one per touchpoint of the segment, in name order.
func apiCards(t *testing.T, base, token, segment, window string) []wireResult {
	t.Helper()
	var keys httpapi.KeyList
	apiGet(t, base, token, "/v1/keys", &keys)
	touchpoints := keys.Touchpoints
	if segment != "*" {
		touchpoints = nil
		for _, k := range keys.Keys {
			if k.Segment == segment && !slices.Contains(touchpoints, k.Touchpoint) {
				touchpoints = append(touchpoints, k.Touchpoint)
			}
		}
		slices.Sort(touchpoints)
	}
	var results []wireResult
	for _, tp := range append([]string{"*"}, touchpoints...) {
		var r wireResult
		apiGet(t, base, token, "/v1/scores?"+url.Values{"segment": {segment}, "touchpoint": {tp}, "window": {window}}.Encode(), &r)
		results = append(results, r)
	}
	return results
}

// compareCards says how the cards differ from the API's results, or nil.
// Scores and margins must agree to the decimals the page shows.
func compareCards(got []domCard, want []wireResult) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d cards %v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Touchpoint != w.Touchpoint {
			return fmt.Errorf("card %d: got touchpoint %q, want %q", i, g.Touchpoint, w.Touchpoint)
		}
		if n, err := parseCount(g.Customers); err != nil || n != w.UniqueCustomers {
			return fmt.Errorf("%s: got %q unique customers, want %d", w.Touchpoint, g.Customers, w.UniqueCustomers)
		}
		for metric, ws := range map[string]wireScore{"nps": w.NPS, "csat": w.CSAT, "ces": w.CES} {
			gm := g.Metrics[metric]
			what := w.Touchpoint + " " + metric
			if n, err := parseCount(gm.Responses); err != nil || n != ws.Responses {
				return fmt.Errorf("%s: got %q responses, want %d", what, gm.Responses, ws.Responses)
			}
			if few := ws.Responses < minResponses; gm.Few != few {
				return fmt.Errorf("%s: got too few %t, want %t from %d responses", what, gm.Few, few, ws.Responses)
			}
			if gm.Few {
				want := "too few"
				if ws.Responses == 0 {
					want = "none"
				}
				if gm.Score != want || gm.MOE != "–" {
					return fmt.Errorf("%s: got %q ± %q from %d responses, want %q without a margin", what, gm.Score, gm.MOE, ws.Responses, want)
				}
				continue
			}
			if !shows(strings.TrimSuffix(gm.Score, "%"), *ws.Score, scoreDigits[metric]) {
				return fmt.Errorf("%s: got score %q, want %v", what, gm.Score, *ws.Score)
			}
			if !shows(strings.TrimPrefix(gm.MOE, "±"), *ws.MarginOfError, scoreDigits[metric]) {
				return fmt.Errorf("%s: got margin %q, want %v", what, gm.MOE, *ws.MarginOfError)
			}
		}
		for part, n := range map[string]uint64{"promoters": w.NPS.Promoters, "passives": w.NPS.Passives, "detractors": w.NPS.Detractors} {
			text := g.Split[part]
			want := "–"
			if w.NPS.Responses > 0 {
				want = fmt.Sprintf("(%s)", formatCount(n))
			}
			if !strings.HasSuffix(text, want) {
				return fmt.Errorf("%s: got %s %q, want it to end in %q", w.Touchpoint, part, text, want)
			}
		}
	}
	return nil
}

// shows reports whether text is v written with the given decimals.
func shows(text string, v float64, digits int) bool {
	got, err := strconv.ParseFloat(text, 64)
	_, decimals, _ := strings.Cut(text, ".")
	return err == nil && len(decimals) == digits && math.Abs(got-v) <= 0.5*math.Pow(10, -float64(digits))+1e-9
}

func parseCount(text string) (uint64, error) {
	return strconv.ParseUint(strings.ReplaceAll(text, ",", ""), 10, 64)
}

// formatCount writes n with thousands separators, as the page does.
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// A trendSpan is what the charts show for a window, as app.js picks it.
type trendSpan struct {
	window, step string
	text, unit   string // as the charts' descriptions say them
}

var (
	hourly = trendSpan{"24h", "1h", "last 24 hours, hourly", "hours"} // windows up to 24h
	daily  = trendSpan{"30d", "1d", "last 30 days, daily", "days"}    // longer ones
)

// waitForTrend waits until each chart's description counts as many scored
// points as the API's trend has over span.
func (tb *tab) waitForTrend(t *testing.T, base, segment, touchpoint string, span trendSpan) {
	t.Helper()
	where := "all touchpoints"
	if touchpoint != "*" {
		where = touchpoint
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var tr wireTrend
		apiGet(t, base, "", "/v1/trend?"+url.Values{"segment": {segment}, "touchpoint": {touchpoint}, "window": {span.window}, "step": {span.step}}.Encode(), &tr)
		var err error
		for _, metric := range []string{"nps", "csat", "ces"} {
			scored := 0
			for _, p := range tr.Points {
				if map[string]wireScore{"nps": p.NPS, "csat": p.CSAT, "ces": p.CES}[metric].Responses >= minResponses {
					scored++
				}
			}
			label := eval[string](t, tb, fmt.Sprintf(`document.querySelector('.chart[data-metric=%q] .plot').getAttribute('aria-label')`, metric))
			want := fmt.Sprintf("trend for %s, %s: %d of %d %s have at least %d responses", where, span.text, scored, len(tr.Points), span.unit, minResponses)
			if !strings.Contains(label, want) {
				err = fmt.Errorf("%s chart: got %q, want it to say %q", metric, label, want)
				break
			}
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // waiting on the page's refresh
	}
}

// screenshot writes a PNG of the page at a viewport size, of the whole
// page or of the viewport alone, once the charts have fitted the width.
func (tb *tab) screenshot(t *testing.T, file string, width, height int64, scale float64, full bool) {
	t.Helper()
	tb.do(t, "resizing", chromedp.EmulateViewport(width, height, chromedp.EmulateScale(scale)))
	tb.poll(t, "the charts to fit", `[...document.querySelectorAll('.plot')].every((p) =>
		Math.abs(p.querySelector('canvas').getBoundingClientRect().width - p.clientWidth) < 2)`)
	status := eval[string](t, tb, `document.querySelector('#status').textContent`)
	tb.poll(t, "a refresh", fmt.Sprintf(`document.querySelector('#status').textContent !== %q`, status))
	action := chromedp.CaptureScreenshot()
	if full {
		action = chromedp.FullScreenshot(100)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d×%d at %g×)", file, width, height, scale)
}

// apiGet decodes the JSON answer to GET base+path, sent with token if any.
func apiGet(t *testing.T, base, token, path string, v any) {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: got %d, want 200", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// postNDJSON records events, 5,000 a request, and checks that all are
// accepted.
func postNDJSON(t *testing.T, base, token string, events []string) {
	t.Helper()
	for chunk := range slices.Chunk(events, 5000) {
		req, err := http.NewRequest("POST", base+"/v1/events", strings.NewReader(strings.Join(chunk, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ndjson)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var resp httpapi.IngestResponse
		err = json.NewDecoder(res.Body).Decode(&resp)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || resp.Accepted != len(chunk) {
			t.Fatalf("POST /v1/events: got %d, %d of %d accepted (%v), want all", res.StatusCode, resp.Accepted, len(chunk), err)
		}
	}
}

// demoEvents returns a month of answers ending at now, shaped like a real
// service's, for the browser test and the screenshots: three segments and
// four touchpoints; most answers in the last day, more in the afternoon
// (UTC); checkout improving over the month; an incident at support five to
// eight hours ago; in the last half hour, a release that broke onboarding
// and a promotion that pleased checkout, both busy (changes against the
// previous hour that are significant, ▼ and ▲); and billing, new, with a
// handful of answers from smb in the last hour, too few to score. The same
// now gives the same events.
func demoEvents(now time.Time) []string {
	rng := rand.New(rand.NewPCG(7, 11))
	type weighted struct {
		name    string
		weight  float64
		quality float64 // 0-1: how well it goes, before the shaping below
	}
	segments := []weighted{{"enterprise", 0.25, 0.06}, {"smb", 0.35, 0}, {"consumer", 0.4, -0.05}}
	touchpoints := []weighted{{"checkout", 0.35, 0.68}, {"app", 0.3, 0.62}, {"onboarding", 0.15, 0.55}, {"support", 0.2, 0.48}}
	pick := func(ws []weighted) weighted {
		u := rng.Float64()
		for _, w := range ws {
			if u -= w.weight; u < 0 {
				return w
			}
		}
		return ws[len(ws)-1]
	}
	score := func(mean, sd float64, lo, hi int) int {
		return max(lo, min(hi, int(math.Round(mean+sd*rng.NormFloat64()))))
	}
	var events []string
	add := func(at time.Time, segment weighted, touchpoint weighted) {
		q := touchpoint.quality + segment.quality
		ago := now.Sub(at)
		if touchpoint.name == "checkout" {
			q += 0.12 * (1 - ago.Hours()/(30*24)) // a month of fixes
		}
		if touchpoint.name == "support" && ago > 5*time.Hour && ago < 8*time.Hour {
			q -= 0.3 // the incident
		}
		if ago < 30*time.Minute {
			switch touchpoint.name {
			case "onboarding":
				q -= 0.35 // the release
			case "checkout":
				q += 0.2 // the promotion
			}
		}
		customer := ""
		if rng.IntN(10) > 0 {
			customer = fmt.Sprint("c-", rng.IntN(5000))
		}
		var metric string
		var s int
		switch rng.IntN(3) {
		case 0:
			metric, s = "nps", score(10*q+1.8, 2.2, 0, 10)
		case 1:
			metric, s = "csat", score(1+4*q+0.6, 1, 1, 5)
		default:
			metric, s = "ces", score(1+6*q+0.4, 1.3, 1, 7)
		}
		events = append(events, event(segment.name, touchpoint.name, metric, s, customer, at))
	}
	busy := func(at time.Time) float64 { // share of the afternoon peak's rate
		h := float64(at.UTC().Hour()) + float64(at.UTC().Minute())/60
		return 0.3 + 0.7*math.Exp(-(h-14)*(h-14)/(2*4*4))
	}
	for len(events) < 15000 { // the last day
		at := now.Add(-time.Second - time.Duration(rng.Int64N(int64(24*time.Hour))))
		if rng.Float64() < busy(at) {
			add(at, pick(segments), pick(touchpoints))
		}
	}
	for range 18000 { // the 29 days before
		at := now.Add(-24*time.Hour - time.Duration(rng.Int64N(int64(29*24*time.Hour))))
		add(at, pick(segments), pick(touchpoints))
	}
	for i := range 600 { // the release and the promotion
		at := now.Add(-time.Second - time.Duration(rng.Int64N(int64(30*time.Minute))))
		add(at, pick(segments), touchpoints[2-2*(i%2)]) // onboarding, checkout
	}
	for range 6 {
		at := now.Add(-time.Second - time.Duration(rng.Int64N(int64(50*time.Minute))))
		add(at, segments[1], weighted{"billing", 0, 0.5})
	}
	return events
}
