package metrics

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/internal/windowtext"
	"github.com/cxscore/cxscore/window"
)

// Window is a window length and the text of its window label, e.g. "7d"
// for 168 hours.
type Window struct {
	Text     string
	Duration time.Duration
}

// DefaultWindows are the windows a Collector reports by default.
var DefaultWindows = []Window{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}}

// ParseWindows reads a comma-separated list of windows, each a Go duration
// such as 90m or 24h or a whole number of days such as 7d, as the sidecar's
// -metrics-windows flag takes them. A window listed twice is an error.
func ParseWindows(list string) ([]Window, error) {
	var ws []Window
	for _, text := range strings.Split(list, ",") {
		text, d, err := windowtext.Parse("window", strings.TrimSpace(text), "")
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(ws, func(w Window) bool { return w.Text == text }) {
			return nil, fmt.Errorf("window %s listed twice", text)
		}
		ws = append(ws, Window{text, d})
	}
	return ws, nil
}

// Options configures a Collector. The zero value reports DefaultWindows,
// per key only, by the system clock.
type Options struct {
	// Clock ends every window. Zero: the system clock. Give it the
	// engine's clock.
	Clock window.Clock
	// Windows are the windows the collector reports scores over, each
	// under its Text as the window label. Zero: DefaultWindows.
	Windows []Window
	// Rollups adds, for every window, the series of every segment over
	// all its touchpoints (touchpoint="*"), of every touchpoint over all
	// segments (segment="*"), and of everything (both "*"), each computed
	// by the engine as a Query with All, unique customers included (they
	// cannot be summed from the per-key series). Zero: per key only.
	Rollups bool
}

// Collector is a prometheus.Collector of an engine's results, computed at
// scrape time: for every segment × touchpoint key (and, with
// Options.Rollups, every roll-up) and every window, the gauges
//
//	cxscore_responses{segment,touchpoint,window,metric}
//	cxscore_unique_customers{segment,touchpoint,window}
//	cxscore_csat_score, cxscore_ces_score, cxscore_nps_score
//	cxscore_csat_margin_of_error, cxscore_ces_margin_of_error, cxscore_nps_margin_of_error
//
// (a score or margin is absent when the window holds fewer responses of
// its metric than the engine's Config.MinResponses, so that an alert never
// fires on two answers),
// and one gauge per field of engine.Stats: cxscore_keys, cxscore_buckets,
// and any field added later, named cxscore_ and the field in snake case.
//
// A scrape costs, per window, one engine.MatrixAt and with roll-ups one
// engine.RollupsAt: a pass over the keys each (see the package
// documentation for measured costs). It is safe
// for concurrent use, and concurrent Collect calls share one computation:
// a call that arrives while another computes waits for it and sends the
// same metrics, so that N scrapers cost one scrape's time and memory.
type Collector struct {
	engine  *engine.Engine
	clock   window.Clock
	windows []Window
	sorted  []Window // windows by Text, the order of their series
	rollups bool

	responses, uniques               *prometheus.Desc
	csat, ces, nps                   *prometheus.Desc
	csatMargin, cesMargin, npsMargin *prometheus.Desc
	stats                            []statGauge

	mu     sync.Mutex
	flight *scrape // the computation in progress, if any

	// compute's buffers, kept between scrapes: per window its results,
	// keys and roll-ups merged; a window's keys; its roll-ups.
	results      [][]engine.Result
	keys, rolled []engine.Result
}

// scrape is one computation of the collector's metrics, shared by the
// Collect calls that arrive while it runs: a slow scrape at many keys
// would otherwise be repeated once per concurrent scraper, each holding
// its own copy. ms is set before done is closed and never changed after.
type scrape struct {
	done chan struct{}
	ms   []prometheus.Metric
}

// statGauge is the gauge of one field of engine.Stats.
type statGauge struct {
	field int
	desc  *prometheus.Desc
}

// uniquesHelp is the HELP of cxscore_unique_customers; a test ties its
// 2^precision/8 to the sketch's exact limit.
const uniquesHelp = "Distinct customers who answered in the window " +
	"(exact up to 2^precision/8 customers, a HyperLogLog estimate beyond)."

// statsHelp are the HELP texts of the engine.Stats gauges, by field name.
// A field missing here is exported with a generic text.
var statsHelp = map[string]string{
	"Keys":    "Segment x touchpoint keys the engine holds.",
	"Buckets": "Time buckets the engine holds in memory, over all keys and tiers.",
}

// New returns a collector of e's results. Every window must be one e can
// answer; the error, if any, names the one it cannot and wraps
// engine.ErrWindow.
func New(e *engine.Engine, o Options) (*Collector, error) {
	c := &Collector{engine: e, clock: o.Clock, windows: o.Windows, rollups: o.Rollups}
	if c.clock == nil {
		c.clock = window.SystemClock{}
	}
	if c.windows == nil {
		c.windows = DefaultWindows
	}
	c.windows = slices.Clone(c.windows)
	c.sorted = slices.SortedFunc(slices.Values(c.windows), func(a, b Window) int { return strings.Compare(a.Text, b.Text) })
	c.results = make([][]engine.Result, len(c.sorted))
	var r engine.Result
	for _, w := range c.windows {
		if err := e.QueryAt(c.clock.Now(), engine.Query{Window: w.Duration}, &r); err != nil {
			return nil, fmt.Errorf("metrics window %s: %w", w.Text, err)
		}
	}
	labels := []string{"segment", "touchpoint", "window"}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	c.responses = desc("cxscore_responses", "Survey responses in the window, by metric (csat, ces, nps).",
		"segment", "touchpoint", "window", "metric")
	c.uniques = desc("cxscore_unique_customers", uniquesHelp, labels...)
	few := fmt.Sprintf(" Absent below %d responses in the window.", e.MinResponses())
	c.csat = desc("cxscore_csat_score", "CSAT: percentage of responses scoring 4 or 5, 0-100."+few, labels...)
	c.ces = desc("cxscore_ces_score", "CES: mean score, 1-7 (higher is easier)."+few, labels...)
	c.nps = desc("cxscore_nps_score", "NPS: percentage of promoters (9-10) minus percentage of detractors (0-6), "+
		"-100 to 100."+few, labels...)
	c.csatMargin = desc("cxscore_csat_margin_of_error", "Half-width of the 95% Wilson interval of cxscore_csat_score, in its units."+few, labels...)
	c.cesMargin = desc("cxscore_ces_margin_of_error", "Half-width of the 95% t interval of cxscore_ces_score, in its units."+few, labels...)
	c.npsMargin = desc("cxscore_nps_margin_of_error", "Half-width of the 95% adjusted-Wald interval of cxscore_nps_score, in NPS points."+few, labels...)
	st := reflect.TypeFor[engine.Stats]()
	for i := range st.NumField() {
		f := st.Field(i)
		if !f.IsExported() || !numeric(f.Type.Kind()) {
			continue
		}
		help, ok := statsHelp[f.Name]
		if !ok {
			help = "The engine's Stats." + f.Name + "."
		}
		c.stats = append(c.stats, statGauge{i, desc("cxscore_"+snake(f.Name), help)})
	}
	return c, nil
}

func numeric(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Float64
}

// snake turns a Go field name into snake case: MemoryBytes is memory_bytes.
func snake(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.responses, c.uniques, c.csat, c.ces, c.nps,
		c.csatMargin, c.cesMargin, c.npsMargin} {
		ch <- d
	}
	for _, s := range c.stats {
		ch <- s.desc
	}
}

// Collect implements prometheus.Collector. A call that arrives while
// another computes waits for that computation and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	f := c.flight
	if f == nil {
		f = &scrape{done: make(chan struct{})}
		c.flight = f
		c.mu.Unlock()
		f.ms = c.compute()
		c.mu.Lock()
		c.flight = nil
		close(f.done)
	}
	c.mu.Unlock()
	<-f.done
	for _, m := range f.ms {
		ch <- m
	}
}

// compute returns every metric of one scrape.
func (c *Collector) compute() []prometheus.Metric {
	var ms []prometheus.Metric
	now := c.clock.Now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ms = append(ms, m)
	}
	optional := func(d *prometheus.Desc, v float64, ok bool, labels ...string) {
		if ok {
			gauge(d, v, labels...)
		}
	}
	// Per window, every key and roll-up in one pass over the keys each
	// (engine.MatrixAt, engine.RollupsAt), both sorted by key.
	// The buffers are the collector's: one computation runs at a time.
	results := c.results
	for i, w := range c.sorted {
		var err error
		if c.keys, err = c.engine.MatrixAt(now, w.Duration, c.keys[:0]); err != nil {
			return append(ms, prometheus.NewInvalidMetric(c.responses, err))
		}
		if c.rollups {
			if c.rolled, err = c.engine.RollupsAt(now, w.Duration, c.rolled[:0]); err != nil {
				return append(ms, prometheus.NewInvalidMetric(c.responses, err))
			}
		}
		results[i] = mergeSorted(results[i][:0], c.keys, c.rolled) // rolled stays empty without roll-ups
	}
	// The registry sorts each family's series by their label values, in
	// the order of the label names; emitted in that order already, the
	// sort is one linear pass instead of n log n comparisons of label
	// sets (a quarter of a scrape at 10,000 keys). Hence keys outside,
	// windows inside, both sorted, and cxscore_responses (whose labels
	// sort metric first) gathered per metric and appended last.
	var ces, csat, nps []prometheus.Metric // cxscore_responses, by metric
	response := func(dst *[]prometheus.Metric, v uint64, r *engine.Result, w, metric string) {
		m, err := prometheus.NewConstMetric(c.responses, prometheus.GaugeValue, float64(v), r.Segment, r.Touchpoint, w, metric)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.responses, err)
		}
		*dst = append(*dst, m)
	}
	next := make([]int, len(results)) // per window, its first result not yet emitted
	for {
		// The smallest key not yet emitted. A key created or deleted
		// between two windows' passes has the series of the windows
		// that saw it.
		var k *engine.Result
		for i, rs := range results {
			if next[i] < len(rs) && (k == nil || byKey(&rs[next[i]], k) < 0) {
				k = &rs[next[i]]
			}
		}
		if k == nil {
			break
		}
		seg, tp := k.Segment, k.Touchpoint
		for i, w := range c.sorted {
			if next[i] == len(results[i]) {
				continue
			}
			r := &results[i][next[i]]
			if r.Segment != seg || r.Touchpoint != tp {
				continue
			}
			next[i]++
			l := []string{seg, tp, w.Text}
			response(&ces, r.CES.Responses(), r, w.Text, "ces")
			response(&csat, r.CSAT.Responses(), r, w.Text, "csat")
			response(&nps, r.NPS.Responses(), r, w.Text, "nps")
			gauge(c.uniques, float64(r.UniqueCustomers), l...)
			v, ok := r.CSAT.Score()
			optional(c.csat, v, ok && r.Enough.CSAT, l...)
			v, ok = r.CSAT.MarginOfError()
			optional(c.csatMargin, v, ok && r.Enough.CSAT, l...)
			v, ok = r.CES.Score()
			optional(c.ces, v, ok && r.Enough.CES, l...)
			v, ok = r.CES.MarginOfError()
			optional(c.cesMargin, v, ok && r.Enough.CES, l...)
			v, ok = r.NPS.Score()
			optional(c.nps, v, ok && r.Enough.NPS, l...)
			v, ok = r.NPS.MarginOfError()
			optional(c.npsMargin, v, ok && r.Enough.NPS, l...)
		}
	}
	ms = append(append(append(ms, ces...), csat...), nps...)
	st := reflect.ValueOf(c.engine.Stats())
	for _, s := range c.stats {
		f := st.Field(s.field)
		var v float64
		switch {
		case f.CanInt():
			v = float64(f.Int())
		case f.CanUint():
			v = float64(f.Uint())
		default:
			v = f.Float()
		}
		gauge(s.desc, v)
	}
	return ms
}

// byKey orders results by segment, then touchpoint.
func byKey(a, b *engine.Result) int {
	return cmp.Or(strings.Compare(a.Segment, b.Segment), strings.Compare(a.Touchpoint, b.Touchpoint))
}

// mergeSorted appends to out the results of a and b, each sorted by key,
// sorted by key.
func mergeSorted(out, a, b []engine.Result) []engine.Result {
	for len(a) > 0 && len(b) > 0 {
		if byKey(&a[0], &b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
