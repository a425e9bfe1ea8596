package httpapi

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cxscore/cxscore/engine"
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
	{engine.ErrInvalidResponseID, "invalid_response_id"},
	{engine.ErrTooManyResponses, "too_many_responses"},
	{engine.ErrMemoryBudget, "memory_budget"},
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

// requestMetrics are the handler's own: events accepted and rejected,
// merges, and request latencies. It is a prometheus.Collector.
type requestMetrics struct {
	accepted     prometheus.CounterFunc
	merges       prometheus.CounterFunc
	duplicates   prometheus.CounterFunc
	updates      prometheus.CounterFunc
	deletions    prometheus.CounterFunc
	rejectedVec  *prometheus.CounterVec
	rejectedBy   map[string]prometheus.Counter // by reason, resolved once
	durationsVec *prometheus.HistogramVec
}

func newRequestMetrics(h *Handler) *requestMetrics {
	m := &requestMetrics{
		accepted: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cxscore_sidecar_events_accepted_total",
			Help: "Events recorded through POST /v1/events.",
		}, func() float64 { return float64(h.accepted.Load()) }),
		merges: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cxscore_sidecar_merges_total",
			Help: "Snapshots merged through POST /v1/merge.",
		}, func() float64 { return float64(h.merges.Load()) }),
		duplicates: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cxscore_sidecar_events_duplicate_total",
			Help: "Events of POST /v1/events acknowledged but not counted: their response was held at their version or a higher one.",
		}, func() float64 { return float64(h.duplicates.Load()) }),
		updates: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cxscore_sidecar_events_updated_total",
			Help: "Events of POST /v1/events that corrected a held response (a higher version).",
		}, func() float64 { return float64(h.updates.Load()) }),
		deletions: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cxscore_sidecar_responses_deleted_total",
			Help: "Responses retracted through DELETE /v1/responses/{id}.",
		}, func() float64 { return float64(h.respDeletes.Load()) }),
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

func (m *requestMetrics) rejected(err error) { m.rejectedBy[reasonOf(err)].Inc() }

// instrument observes the latency of h's requests under the handler label
// path.
func (m *requestMetrics) instrument(path string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerDuration(m.durationsVec.MustCurryWith(prometheus.Labels{"handler": path}), h)
}

// Describe implements prometheus.Collector.
func (m *requestMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.accepted.Describe(ch)
	m.merges.Describe(ch)
	m.duplicates.Describe(ch)
	m.updates.Describe(ch)
	m.deletions.Describe(ch)
	m.rejectedVec.Describe(ch)
	m.durationsVec.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *requestMetrics) Collect(ch chan<- prometheus.Metric) {
	m.accepted.Collect(ch)
	m.merges.Collect(ch)
	m.duplicates.Collect(ch)
	m.updates.Collect(ch)
	m.deletions.Collect(ch)
	m.rejectedVec.Collect(ch)
	m.durationsVec.Collect(ch)
}

// Collector returns the handler's own metrics, to register beside the
// engine's collector: cxscore_sidecar_events_accepted_total,
// cxscore_sidecar_events_duplicate_total, cxscore_sidecar_events_updated_total,
// cxscore_sidecar_responses_deleted_total,
// cxscore_sidecar_events_rejected_total{reason},
// cxscore_sidecar_merges_total and
// cxscore_sidecar_http_request_duration_seconds{handler,method,code}.
func (h *Handler) Collector() prometheus.Collector { return h.metrics }
