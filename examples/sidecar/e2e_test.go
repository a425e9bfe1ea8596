package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
	"github.com/cxscore/cxscore/sketch"
)

// TestEndToEnd builds the sidecar, runs it on a free loopback port, posts
// a few thousand good and bad events in all three body forms, and checks
// the answers, scores, roll-ups, trends, keys and /metrics against a
// brute-force model kept here, which shares no code with the engine. Then
// it stops the sidecar with SIGTERM in the middle of a request and checks
// that the request completes and the process exits 0.
func TestEndToEnd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the sidecar with SIGTERM")
	}
	bin := buildSidecar(t)
	sc := startSidecar(t, bin, "-addr", "127.0.0.1:0", "-max-keys", "10", "-metrics-windows", "1h,24h")

	m := &e2eModel{maxKeys: 10, keys: map[[2]string]bool{}, rng: rand.New(rand.NewPCG(1, 2))}
	// Each form with its own kinds of defects: a body of one bare number is
	// not an event body at all, and only NDJSON may hold broken JSON.
	for range 40 {
		m.post(t, sc.url, "", []*e2eEvent{m.gen(defectsSingle)})
	}
	for range 2 {
		m.post(t, sc.url, "", m.batch(700, defectsArray))
	}
	for range 2 {
		m.post(t, sc.url, ndjson, m.batch(900, defectsNDJSON))
	}
	if m.accepted < 2500 || len(m.reasons) < 9 {
		t.Fatalf("the workload is too tame: %d accepted, rejected by %v", m.accepted, m.reasons)
	}

	segments := []string{"*", "enterprise", "smb", "consumer", "extra-0"}
	touchpoints := []string{"*", "checkout", "support", "app"}
	for _, window := range []string{"1h", "24h", "7d"} {
		for _, seg := range segments {
			for _, tp := range touchpoints {
				var got wireResult
				sc.get(t, "/v1/scores?"+url.Values{"segment": {seg}, "touchpoint": {tp}, "window": {window}}.Encode(), &got)
				m.check(t, fmt.Sprintf("%s × %s over %s", seg, tp, window), seg, tp, got)
			}
		}
	}
	for _, sel := range [][2]string{{"*", "*"}, {"smb", "*"}, {"enterprise", "checkout"}} {
		var tr wireTrend
		sc.get(t, fmt.Sprintf("/v1/trend?segment=%s&touchpoint=%s&window=24h&step=1h", sel[0], sel[1]), &tr)
		// A sliding 24 h window starts at the hour nearest to now − 24 h:
		// 24 points, or 25 when that hour is the one before, the last
		// point being the current, partial hour either way.
		if n := len(tr.Points); n != 24 && n != 25 {
			t.Fatalf("trend: got %d points, want 24 or 25", n)
		}
		now := tr.Points[len(tr.Points)-1].To
		if from, want := tr.Points[0].From, now.Add(-24*time.Hour).Round(time.Hour); !from.Equal(want) {
			t.Fatalf("trend: from %v, want %v, the hour nearest to 24 h before %v", from, want, now)
		}
		for i, p := range tr.Points {
			m.check(t, fmt.Sprintf("trend %s × %s point %d", sel[0], sel[1], i), sel[0], sel[1], p)
		}
	}

	var keys httpapi.KeyList
	sc.get(t, "/v1/keys", &keys)
	var wantKeys []httpapi.Key
	for k := range m.keys {
		wantKeys = append(wantKeys, httpapi.Key{Segment: k[0], Touchpoint: k[1]})
	}
	slices.SortFunc(wantKeys, func(a, b httpapi.Key) int {
		return strings.Compare(a.Segment+"\x00"+a.Touchpoint, b.Segment+"\x00"+b.Touchpoint)
	})
	if !slices.Equal(keys.Keys, wantKeys) {
		t.Errorf("keys: got %v, want %v", keys.Keys, wantKeys)
	}

	// A set against the rest of the keys, and the whole matrix.
	var c struct {
		Current, Baseline wireResult
		NPS               httpapi.Change
	}
	sc.get(t, "/v1/compare?segment=smb&segment=consumer&touchpoint=checkout&touchpoint=app&window=24h&against=rest", &c)
	inSet := func(seg, tp string) bool {
		return (seg == "smb" || seg == "consumer") && (tp == "checkout" || tp == "app")
	}
	m.checkIn(t, "compare: current", inSet, c.Current)
	m.checkIn(t, "compare: the rest", func(seg, tp string) bool { return !inSet(seg, tp) }, c.Baseline)
	if c.NPS.Difference == nil || !near(*c.NPS.Difference, *c.Current.NPS.Score-*c.Baseline.NPS.Score) || c.NPS.Significant == nil {
		t.Errorf("compare: NPS change %+v between %v and %v", c.NPS, c.Current.NPS.Score, c.Baseline.NPS.Score)
	}
	var matrix struct{ Keys []wireResult }
	sc.get(t, "/v1/matrix?window=24h", &matrix)
	if len(matrix.Keys) != len(wantKeys) {
		t.Errorf("matrix: %d keys, want %d", len(matrix.Keys), len(wantKeys))
	}
	for i, k := range matrix.Keys {
		if i < len(wantKeys) && (k.Segment != wantKeys[i].Segment || k.Touchpoint != wantKeys[i].Touchpoint) {
			t.Errorf("matrix key %d: %s × %s, want %v", i, k.Segment, k.Touchpoint, wantKeys[i])
		}
		m.check(t, "matrix "+k.Segment+" × "+k.Touchpoint, k.Segment, k.Touchpoint, k)
	}

	m.checkMetrics(t, sc.scrape(t))
	checkRebinding(t, sc.url)
	sc.stopDuringRequest(t)
}

// e2eEvent is one event of the workload and what the model says of it.
type e2eEvent struct {
	text                string // JSON, one line
	reason              string // why the sidecar must reject it; "" to accept
	segment, touchpoint string
	metric              string
	score               int
	customer            string
	at                  time.Time // zero: stamped by the server
	sent, answered      time.Time // around the request, for events without a time
}

type e2eModel struct {
	rng      *rand.Rand
	maxKeys  int
	keys     map[[2]string]bool
	events   []*e2eEvent // accepted
	accepted int
	reasons  map[string]int
}

var (
	e2eSegments    = []string{"enterprise", "smb", "consumer"}
	e2eTouchpoints = []string{"checkout", "support", "app"}
	e2eScales      = map[string][2]int{"csat": {1, 5}, "ces": {1, 7}, "nps": {0, 10}}
)

// How many of gen's kinds of defect each body form may hold.
const (
	defectsSingle = 11
	defectsArray  = 12
	defectsNDJSON = 14
)

// gen returns a random event: mostly good, some with one of the first
// defects kinds of thing wrong.
func (m *e2eModel) gen(defects int) *e2eEvent {
	r := m.rng
	metric := []string{"csat", "ces", "nps"}[r.IntN(3)]
	scale := e2eScales[metric]
	ev := &e2eEvent{
		segment:    e2eSegments[r.IntN(3)],
		touchpoint: e2eTouchpoints[r.IntN(3)],
		metric:     metric,
		score:      scale[0] + r.IntN(scale[1]-scale[0]+1),
	}
	if r.IntN(5) > 0 {
		ev.customer = fmt.Sprint("c-", r.IntN(300))
	}
	now := time.Now().UTC()
	switch k := r.IntN(10); {
	case k < 6:
		ev.at = now.Add(-time.Duration(r.Int64N(int64(50 * time.Minute))))
	case k < 8:
		ev.at = now.Add(-2*time.Hour - time.Duration(r.Int64N(int64(18*time.Hour))))
	case k < 9:
		ev.at = now.Add(-30 * time.Hour) // in 7d, not in 24h
	}
	if r.IntN(100) == 0 {
		ev.segment = fmt.Sprint("extra-", r.IntN(3)) // one of these is key 10, the others too many
	}
	fields := map[string]any{"segment": ev.segment, "touchpoint": ev.touchpoint, "metric": ev.metric, "score": ev.score}
	if ev.customer != "" {
		fields["customer_id"] = ev.customer
	}
	if !ev.at.IsZero() {
		fields["time"] = ev.at.Format(time.RFC3339Nano)
	}
	if r.IntN(8) == 0 { // one thing wrong
		switch r.IntN(defects) {
		case 0:
			fields["score"], ev.reason = scale[1]+1+r.IntN(3), "score_out_of_range"
		case 1:
			fields["score"], ev.reason = scale[0]-1, "score_out_of_range"
		case 2:
			fields["score"], ev.reason = json.Number("1e30"), "score_out_of_range"
		case 3:
			fields["metric"], ev.reason = strings.ToUpper(ev.metric), "unknown_metric"
		case 4:
			fields["score"], ev.reason = strconv.Itoa(ev.score), "invalid_field"
		case 5:
			fields["customerId"], ev.reason = "c-1", "invalid_field"
		case 6:
			fields["score"], ev.reason = json.Number("4.5"), "invalid_field"
		case 7:
			delete(fields, "segment")
			ev.reason = "invalid_segment"
		case 8:
			fields["touchpoint"], ev.reason = "*", "invalid_touchpoint"
		case 9:
			fields["time"], ev.reason = now.Add(-70*24*time.Hour).Format(time.RFC3339), "too_old"
		case 10:
			fields["time"], ev.reason = now.Add(time.Hour).Format(time.RFC3339), "too_new"
		case 11:
			ev.text, ev.reason = strconv.Itoa(ev.score), "bad_json"
		case 12:
			ev.text, ev.reason = `{"segment":"smb","score":`, "bad_json"
		case 13:
			ev.text, ev.reason = "{\"segment\":\"sm\xffb\",\"touchpoint\":\"app\",\"metric\":\"nps\",\"score\":1}", "bad_json"
		}
	}
	if ev.text == "" {
		b, _ := json.Marshal(fields)
		ev.text = string(b)
	}
	if ev.reason == "" && !m.keys[[2]string{ev.segment, ev.touchpoint}] && len(m.keys) >= m.maxKeys {
		ev.reason = "too_many_keys"
	}
	if ev.reason == "" {
		m.keys[[2]string{ev.segment, ev.touchpoint}] = true
	}
	return ev
}

func (m *e2eModel) batch(n, defects int) []*e2eEvent {
	evs := make([]*e2eEvent, n)
	for i := range evs {
		evs[i] = m.gen(defects)
	}
	return evs
}

// post sends events in one request, as one object, an array or NDJSON,
// and checks the answer against what the model says of each.
func (m *e2eModel) post(t *testing.T, base, contentType string, evs []*e2eEvent) {
	t.Helper()
	var body string
	switch {
	case contentType == ndjson:
		for _, ev := range evs {
			body += ev.text + "\n"
		}
	case len(evs) == 1:
		body = evs[0].text
	default:
		texts := make([]string, len(evs))
		for i, ev := range evs {
			texts[i] = ev.text
		}
		body = "[" + strings.Join(texts, ",\n") + "]"
	}
	sent := time.Now()
	res, err := http.Post(base+"/v1/events", cmp.Or(contentType, "application/json"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var resp httpapi.IngestResponse
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil {
		t.Fatalf("POST /v1/events: got %d, %v, want a JSON answer", res.StatusCode, err)
	}
	answered := time.Now()
	wantStatus := 422 // every event rejected: nothing recorded
	for _, ev := range evs {
		if ev.reason == "" {
			wantStatus = 200
		}
	}
	if res.StatusCode != wantStatus {
		t.Fatalf("POST /v1/events: got %d, want %d", res.StatusCode, wantStatus)
	}
	var wantRejected []int
	for i, ev := range evs {
		ev.sent, ev.answered = sent, answered
		if ev.reason != "" {
			wantRejected = append(wantRejected, i)
			if m.reasons == nil {
				m.reasons = map[string]int{}
			}
			m.reasons[ev.reason]++
			continue
		}
		m.events = append(m.events, ev)
		m.accepted++
	}
	var gotRejected []int
	for _, r := range resp.Rejected {
		gotRejected = append(gotRejected, r.Index)
	}
	if resp.Accepted != len(evs)-len(wantRejected) || !slices.Equal(gotRejected, wantRejected) {
		t.Fatalf("POST of %d events: got %d accepted, rejected %v; want %d, %v\n%+v",
			len(evs), resp.Accepted, gotRejected, len(evs)-len(wantRejected), wantRejected, resp.Rejected)
	}
}

// check compares a result with the model's, brute force: the accepted
// events of the selection whose time is in [From, To).
func (m *e2eModel) check(t *testing.T, what, segment, touchpoint string, got wireResult) {
	t.Helper()
	if got.Segment != segment || got.Touchpoint != touchpoint {
		t.Errorf("%s: got %s × %s", what, got.Segment, got.Touchpoint)
	}
	m.checkIn(t, what, func(seg, tp string) bool {
		return (segment == "*" || seg == segment) && (touchpoint == "*" || tp == touchpoint)
	}, got)
}

// checkIn checks got against the events of the keys in selects.
func (m *e2eModel) checkIn(t *testing.T, what string, in func(segment, touchpoint string) bool, got wireResult) {
	t.Helper()
	counts := map[string][]uint64{"csat": make([]uint64, 5), "ces": make([]uint64, 7), "nps": make([]uint64, 11)}
	customers := map[string]bool{}
	for _, ev := range m.events {
		if !in(ev.segment, ev.touchpoint) {
			continue
		}
		at := ev.at
		if at.IsZero() { // stamped by the server while the request was open
			if ev.sent.Before(got.From) != ev.answered.Before(got.From) || ev.sent.Before(got.To) != ev.answered.Before(got.To) {
				t.Logf("%s: skipped, an event without a time was sent across its edge", what)
				return
			}
			at = ev.sent
		}
		if at.Before(got.From) || !at.Before(got.To) {
			continue
		}
		counts[ev.metric][ev.score-e2eScales[ev.metric][0]]++
		if ev.customer != "" {
			customers[ev.customer] = true
		}
	}
	if got.UniqueCustomers != uint64(len(customers)) {
		t.Errorf("%s: got %d unique customers, want %d", what, got.UniqueCustomers, len(customers))
	}
	for _, metric := range []string{"csat", "ces", "nps"} {
		c := counts[metric]
		s := map[string]wireScore{"csat": got.CSAT, "ces": got.CES, "nps": got.NPS}[metric]
		var n, sum float64
		for i, k := range c {
			if label := strconv.Itoa(i + e2eScales[metric][0]); s.Distribution[label] != k {
				t.Errorf("%s: %s %s: got %d responses, want %d", what, metric, label, s.Distribution[label], k)
			}
			n += float64(k)
			sum += float64(k) * float64(i+e2eScales[metric][0])
		}
		if s.Responses != uint64(n) {
			t.Errorf("%s: %s: got %d responses, want %v", what, metric, s.Responses, n)
		}
		var score, moe float64
		switch metric {
		case "csat":
			score = 100 * float64(c[3]+c[4]) / n
			lo, hi := wilson(float64(c[3]+c[4]), n)
			moe = (hi - lo) / 2
			if n > 0 && (s.Interval == nil || !near(s.Interval.Low, lo) || !near(s.Interval.High, hi)) {
				t.Errorf("%s: csat interval: got %+v, want %v-%v", what, s.Interval, lo, hi)
			}
		case "ces":
			score = sum / n
			// The interval's formula is checked against scipy in package
			// sketch; here, that the wire carries it and its half-width.
			var ces sketch.CESSummary
			for i, k := range c {
				ces.Counts[i] = uint64(k)
			}
			lo, hi, _ := ces.Interval()
			moe = (hi - lo) / 2
			if easy := 100 * float64(c[4]+c[5]+c[6]) / n; n > 0 && (s.EasyShare == nil || !near(*s.EasyShare, easy)) {
				t.Errorf("%s: ces easy share: got %v, want %v", what, s.EasyShare, easy)
			}
		case "nps":
			p, d := float64(c[9]+c[10]), float64(c[0]+c[1]+c[2]+c[3]+c[4]+c[5]+c[6])
			score = 100 * (p - d) / n
			adjP, adjD := (p+0.75)/(n+3), (d+0.75)/(n+3)
			half := 100 * 1.959963984540054 * math.Sqrt((adjP+adjD-(adjP-adjD)*(adjP-adjD))/(n+3))
			// The adjusted-Wald interval, clipped, widened to hold the score.
			lo := min(max(100*(adjP-adjD)-half, -100), score)
			hi := max(min(100*(adjP-adjD)+half, 100), score)
			moe = (hi - lo) / 2
			if s.Promoters != uint64(p) || s.Detractors != uint64(d) || s.Passives != uint64(n-p-d) {
				t.Errorf("%s: nps: got %d/%d/%d promoters/passives/detractors, want %v/%v/%v", what, s.Promoters, s.Passives, s.Detractors, p, n-p-d, d)
			}
		}
		switch {
		case n == 0:
			if s.Score != nil || s.MarginOfError != nil {
				t.Errorf("%s: %s: got score %v ± %v from no responses, want null", what, metric, s.Score, s.MarginOfError)
			}
		case s.Score == nil || !near(*s.Score, score):
			t.Errorf("%s: %s: got score %v, want %v", what, metric, s.Score, score)
		case metric == "ces" && n < 2:
			if s.MarginOfError != nil {
				t.Errorf("%s: ces: got a margin of error from one response, want null", what)
			}
		case s.MarginOfError == nil || !near(*s.MarginOfError, moe):
			t.Errorf("%s: %s: got margin of error %v, want %v", what, metric, s.MarginOfError, moe)
		}
	}
}

// wilson is the 95% Wilson score interval of the share x/n, in percent.
func wilson(x, n float64) (lo, hi float64) {
	const z = 1.959963984540054
	p := x / n
	center := (p + z*z/(2*n)) / (1 + z*z/n)
	half := z / (1 + z*z/n) * math.Sqrt(p*(1-p)/n+z*z/(4*n*n))
	return 100 * math.Max(center-half, 0), 100 * math.Min(center+half, 1)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

var sampleLine = regexp.MustCompile(`^([a-z_]+)(?:\{(.*)\})? (\S+)$`)
var labelPair = regexp.MustCompile(`([a-z_]+)="((?:[^"\\]|\\.)*)"`)

// checkMetrics compares a scrape with the model: the sidecar's counters,
// and per key the responses, customers and NPS of the 1h and 24h windows.
// All events of the workload are more than 10 minutes inside those
// windows' edges, so the edges need not be known.
func (m *e2eModel) checkMetrics(t *testing.T, exposition string) {
	t.Helper()
	got := map[string]float64{}
	for _, line := range strings.Split(exposition, "\n") {
		sm := sampleLine.FindStringSubmatch(line)
		if sm == nil || !strings.HasPrefix(sm[1], "cxscore_") {
			continue
		}
		labels := labelPair.FindAllStringSubmatch(sm[2], -1)
		slices.SortFunc(labels, func(a, b []string) int { return strings.Compare(a[1], b[1]) })
		key := sm[1]
		for _, l := range labels {
			key += " " + l[1] + "=" + l[2]
		}
		v, err := strconv.ParseFloat(sm[3], 64)
		if err != nil {
			t.Fatalf("metrics: %q: %v", line, err)
		}
		got[key] = v
	}
	want := map[string]float64{"cxscore_sidecar_events_accepted_total": float64(m.accepted), "cxscore_keys": float64(len(m.keys))}
	for _, r := range []string{"bad_json", "invalid_field", "too_large", "unknown_metric", "score_out_of_range",
		"invalid_segment", "invalid_touchpoint", "too_old", "too_new", "too_many_keys", "closed", "other"} {
		want["cxscore_sidecar_events_rejected_total reason="+r] = float64(m.reasons[r])
	}
	// Every key, and the roll-ups of -metrics-rollups (on by default):
	// each segment and each touchpoint over all of the other, and all.
	sels := map[[2]string]bool{{"*", "*"}: true}
	for k := range m.keys {
		sels[k], sels[[2]string{k[0], "*"}], sels[[2]string{"*", k[1]}] = true, true, true
	}
	for k := range sels {
		for _, w := range []struct {
			label string
			since time.Duration
		}{{"1h", time.Hour}, {"24h", 24 * time.Hour}} {
			l := " segment=" + k[0] + " touchpoint=" + k[1] + " window=" + w.label
			responses := map[string]float64{}
			customers := map[string]bool{}
			var nps, n float64
			for _, ev := range m.events {
				if k[0] != "*" && ev.segment != k[0] || k[1] != "*" && ev.touchpoint != k[1] || !ev.at.IsZero() && time.Since(ev.at) > w.since {
					continue
				}
				responses[ev.metric]++
				if ev.customer != "" {
					customers[ev.customer] = true
				}
				if ev.metric == "nps" {
					n++
					switch {
					case ev.score >= 9:
						nps++
					case ev.score <= 6:
						nps--
					}
				}
			}
			for _, metric := range []string{"csat", "ces", "nps"} {
				want["cxscore_responses metric="+metric+l] = responses[metric]
			}
			want["cxscore_unique_customers"+l] = float64(len(customers))
			if n >= 10 { // engine.DefaultMinResponses: below it /metrics leaves scores out
				want["cxscore_nps_score"+l] = 100 * nps / n
			}
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || !near(g, v) {
			t.Errorf("metrics: %s: got %v (present: %t), want %v", k, g, ok, v)
		}
	}
}

// sidecar is a running sidecar process.
type sidecar struct {
	cmd   *exec.Cmd
	url   string
	lines chan string // stderr, line by line
	mu    sync.Mutex
	log   strings.Builder
	done  chan error
}

func startSidecar(t *testing.T, bin string, args ...string) *sidecar {
	t.Helper()
	sc := &sidecar{cmd: exec.Command(bin, args...), lines: make(chan string, 1000), done: make(chan error, 1)}
	stderr, err := sc.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			sc.mu.Lock()
			sc.log.WriteString(s.Text() + "\n")
			sc.mu.Unlock()
			select {
			case sc.lines <- s.Text():
			default:
			}
		}
		sc.done <- sc.cmd.Wait()
	}()
	t.Cleanup(func() {
		sc.cmd.Process.Kill() // if a failure left it running
		if t.Failed() {
			sc.mu.Lock()
			t.Logf("sidecar log:\n%s", sc.log.String())
			sc.mu.Unlock()
		}
	})
	line := sc.waitFor(t, "msg=listening")
	addr := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)
	if addr == nil {
		t.Fatalf("no address in %q", line)
	}
	sc.url = "http://" + addr[1]
	return sc
}

// waitFor returns the first line of the log, from now on, that contains s.
func (sc *sidecar) waitFor(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line := <-sc.lines:
			if strings.Contains(line, s) {
				return line
			}
		case <-timeout:
			t.Fatalf("no %q in the sidecar's log after 30s", s)
		}
	}
}

func (sc *sidecar) get(t *testing.T, path string, v any) {
	t.Helper()
	res, err := http.Get(sc.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: got %d %s, want 200", path, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (sc *sidecar) scrape(t *testing.T) string {
	t.Helper()
	res, err := http.Get(sc.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /metrics: got %d, %v", res.StatusCode, err)
	}
	return string(b)
}

// stopDuringRequest opens an NDJSON request, sends SIGTERM while its body
// is half written, then finishes it: the request must be answered in full
// and the process must exit 0.
func (sc *sidecar) stopDuringRequest(t *testing.T) {
	t.Helper()
	pr, pw := io.Pipe()
	type answer struct {
		status int
		resp   httpapi.IngestResponse
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.Post(sc.url+"/v1/events", ndjson, pr)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		var a answer
		a.status, a.err = res.StatusCode, json.NewDecoder(res.Body).Decode(&a.resp)
		answered <- a
	}()
	// An existing key: -max-keys allows no new one.
	const selection = "/v1/scores?segment=enterprise&touchpoint=checkout"
	var before wireResult
	sc.get(t, selection, &before)
	line := event("enterprise", "checkout", "nps", 10, "", time.Time{}) + "\n"
	for range 2 * 256 {
		io.WriteString(pw, line)
	}
	// The first batch recorded means the request is in the server's hands.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r wireResult
		sc.get(t, selection, &r)
		if r.NPS.Responses >= before.NPS.Responses+256 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first batch of the open request was not recorded within 30s")
		}
		time.Sleep(10 * time.Millisecond) // waiting on another process
	}
	http.DefaultClient.CloseIdleConnections()
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sc.waitFor(t, "shutting down")
	for range 100 {
		io.WriteString(pw, line)
	}
	pw.Close()
	a := <-answered
	if a.err != nil || a.status != 200 || a.resp.Accepted != 2*256+100 {
		t.Errorf("the request in flight at SIGTERM: got %d, %d accepted, %v; want 200 and %d", a.status, a.resp.Accepted, a.err, 2*256+100)
	}
	select {
	case err := <-sc.done:
		if err != nil {
			t.Errorf("sidecar exited with %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sidecar still running 30s after SIGTERM")
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !strings.Contains(sc.log.String(), "msg=stopped") {
		t.Errorf("no msg=stopped in the log:\n%s", sc.log.String())
	}
}

// checkRebinding reads the snapshot the way a page would after DNS
// rebinding, under its own name: a sidecar on loopback refuses it.
func checkRebinding(t *testing.T, base string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/v1/snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "rebind.example:8080"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 403 || !strings.Contains(string(body), "is not served here") {
		t.Errorf("GET /v1/snapshot with Host rebind.example: got %d %s, want 403", res.StatusCode, body)
	}
}
