package main

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// reasons classify rejected events, in the order reasonOf tries them: the
// values of the reason label of cxscore_sidecar_events_rejected_total, a
// fixed set so that bad input cannot create series.
var reasons = []struct {
	err   error
	label string
}{
	{errBadJSON, "bad_json"},
	{errBadField, "invalid_field"},
	{errTooLarge, "too_large"},
	{engine.ErrUnknownMetric, "unknown_metric"},
	{engine.ErrScoreOutOfRange, "score_out_of_range"},
	{engine.ErrInvalidSegment, "invalid_segment"},
	{engine.ErrInvalidTouchpoint, "invalid_touchpoint"},
	{engine.ErrTooOld, "too_old"},
	{engine.ErrTooNew, "too_new"},
	{engine.ErrTooManyKeys, "too_many_keys"},
	{engine.ErrClosed, "closed"},
}

const otherReason = "other"

// reasonOf returns the reason label of a rejected event's error.
func reasonOf(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return otherReason
}

// serverMetrics are the sidecar's own: events accepted and rejected, and
// request latencies. It is a prometheus.Collector.
type serverMetrics struct {
	accepted     prometheus.Counter
	rejectedVec  *prometheus.CounterVec
	rejectedBy   map[string]prometheus.Counter // by reason, resolved once
	durationsVec *prometheus.HistogramVec
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cxscore_sidecar_events_accepted_total",
			Help: "Events recorded through POST /v1/events.",
		}),
		rejectedVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxscore_sidecar_events_rejected_total",
			Help: "Events of POST /v1/events that were not recorded, by reason.",
		}, []string{"reason"}),
		rejectedBy: make(map[string]prometheus.Counter),
		durationsVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cxscore_sidecar_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by handler, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"handler", "method", "code"}),
	}
	for _, r := range reasons {
		m.rejectedBy[r.label] = m.rejectedVec.WithLabelValues(r.label) // every reason exported, from 0
	}
	m.rejectedBy[otherReason] = m.rejectedVec.WithLabelValues(otherReason)
	return m
}

func (m *serverMetrics) rejected(err error) { m.rejectedBy[reasonOf(err)].Inc() }

// instrument observes the latency of h's requests under the handler label
// path.
func (m *serverMetrics) instrument(path string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerDuration(m.durationsVec.MustCurryWith(prometheus.Labels{"handler": path}), h)
}

// Describe implements prometheus.Collector.
func (m *serverMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.accepted.Describe(ch)
	m.rejectedVec.Describe(ch)
	m.durationsVec.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *serverMetrics) Collect(ch chan<- prometheus.Metric) {
	m.accepted.Collect(ch)
	m.rejectedVec.Collect(ch)
	m.durationsVec.Collect(ch)
}

// scoreCollector exports the engine's results at scrape time: for every
// segment × touchpoint and every configured window, the responses, unique
// customers, scores and margins of error. Roll-ups are not exported: a
// sum over series would count them twice, and unique customers and scores
// of a roll-up cannot be computed from its parts in PromQL anyway; ask
// /v1/scores for those. A scrape costs one query per key and window.
type scoreCollector struct {
	engine  *engine.Engine
	clock   window.Clock
	windows []Window

	responses, uniques               *prometheus.Desc
	csat, ces, nps                   *prometheus.Desc
	csatMargin, cesMargin, npsMargin *prometheus.Desc
	keys, buckets                    *prometheus.Desc
}

func newScoreCollector(e *engine.Engine, clock window.Clock, windows []Window) *scoreCollector {
	labels := []string{"segment", "touchpoint", "window"}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &scoreCollector{
		engine: e, clock: clock, windows: windows,
		responses: desc("cxscore_responses", "Survey responses in the window, by metric (csat, ces, nps).",
			"segment", "touchpoint", "window", "metric"),
		uniques: desc("cxscore_unique_customers", "Distinct customers who answered in the window "+
			"(exact up to 2^precision/4 customers, a HyperLogLog estimate beyond).", labels...),
		csat: desc("cxscore_csat_score", "CSAT: percentage of responses scoring 4 or 5, 0-100. "+
			"Absent when the window has no CSAT responses.", labels...),
		ces: desc("cxscore_ces_score", "CES: mean score, 1-7. Absent when the window has no CES responses.", labels...),
		nps: desc("cxscore_nps_score", "NPS: percentage of promoters (9-10) minus percentage of detractors (0-6), "+
			"-100 to 100. Absent when the window has no NPS responses.", labels...),
		csatMargin: desc("cxscore_csat_margin_of_error", "Half-width of the 95% Wilson interval of cxscore_csat_score, in its units.", labels...),
		cesMargin: desc("cxscore_ces_margin_of_error", "95% margin of error of cxscore_ces_score, 1.96 s/sqrt(n); "+
			"absent with fewer than 2 responses.", labels...),
		npsMargin: desc("cxscore_nps_margin_of_error", "95% adjusted-Wald margin of error of cxscore_nps_score, in NPS points.", labels...),
		keys:      desc("cxscore_keys", "Segment x touchpoint keys the engine holds."),
		buckets:   desc("cxscore_buckets", "Time buckets the engine holds in memory, over all keys and tiers."),
	}
}

// Describe implements prometheus.Collector.
func (c *scoreCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.responses, c.uniques, c.csat, c.ces, c.nps,
		c.csatMargin, c.cesMargin, c.npsMargin, c.keys, c.buckets} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *scoreCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.clock.Now()
	keys := c.engine.Keys(nil)
	var r engine.Result
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	optional := func(d *prometheus.Desc, v float64, ok bool, labels ...string) {
		if ok {
			gauge(d, v, labels...)
		}
	}
	for _, w := range c.windows {
		for _, k := range keys {
			if err := c.engine.QueryAt(now, engine.Query{Segment: k.Segment, Touchpoint: k.Touchpoint, Window: w.Duration}, &r); err != nil {
				ch <- prometheus.NewInvalidMetric(c.responses, err)
				return
			}
			l := []string{k.Segment, k.Touchpoint, w.Text}
			gauge(c.responses, float64(r.CSAT.Responses()), k.Segment, k.Touchpoint, w.Text, "csat")
			gauge(c.responses, float64(r.CES.Responses()), k.Segment, k.Touchpoint, w.Text, "ces")
			gauge(c.responses, float64(r.NPS.Responses()), k.Segment, k.Touchpoint, w.Text, "nps")
			gauge(c.uniques, float64(r.UniqueCustomers), l...)
			v, ok := r.CSAT.Score()
			optional(c.csat, v, ok, l...)
			v, ok = r.CSAT.MarginOfError()
			optional(c.csatMargin, v, ok, l...)
			v, ok = r.CES.Score()
			optional(c.ces, v, ok, l...)
			v, ok = r.CES.MarginOfError()
			optional(c.cesMargin, v, ok, l...)
			v, ok = r.NPS.Score()
			optional(c.nps, v, ok, l...)
			v, ok = r.NPS.MarginOfError()
			optional(c.npsMargin, v, ok, l...)
		}
	}
	st := c.engine.Stats()
	gauge(c.keys, float64(st.Keys))
	gauge(c.buckets, float64(st.Buckets))
}
