package engine

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cxscore/cxscore/sketch"
)

// Metric is one of the survey metrics: CSAT, CES or NPS.
type Metric = sketch.Metric

// The survey metrics, with their scales.
const (
	CSAT = sketch.CSAT // customer satisfaction, 1-5
	CES  = sketch.CES  // customer effort, 1-7
	NPS  = sketch.NPS  // likelihood to recommend, 0-10
)

// ParseMetric returns the metric named "csat", "ces" or "nps".
func ParseMetric(name string) (Metric, error) { return sketch.ParseMetric(name) }

// Event is one survey response.
type Event struct {
	// CustomerID identifies who answered, for unique-customer counts. Empty
	// means anonymous: counted in scores, not in unique customers. Only its
	// hash is kept.
	CustomerID string
	// Segment is the customer segment, e.g. "enterprise"; Touchpoint the
	// channel or journey step, e.g. "checkout". Both are required: non-empty
	// UTF-8 of at most MaxLabelBytes bytes, and not "*", which queries and
	// the HTTP API use for "all".
	Segment, Touchpoint string
	Metric              Metric
	Score               int
	// Time is when the customer answered. Zero means now, which costs a
	// clock read; set it when you know it.
	Time time.Time
	// ResponseID identifies the response at its sender (a survey tool's
	// response id), for at-least-once delivery and corrections: optional,
	// at most MaxResponseIDBytes of UTF-8. The engine counts a response once
	// however often it is delivered, and a delivery with a higher Version
	// replaces the held answer in every bucket (see Engine.RecordResponse).
	// Empty means an anonymous delivery: counted every time. Only the id's
	// 64-bit hash is kept.
	ResponseID string
	// Version orders the deliveries of one response: the highest wins (the
	// sender's updated-at time in Unix milliseconds is a natural choice).
	// Ignored without a ResponseID.
	Version uint64
}

// Key is one segment × touchpoint pair the engine has seen.
type Key struct {
	Segment, Touchpoint string
}

// MaxLabelBytes is the longest segment or touchpoint accepted.
const MaxLabelBytes = 128

// All is what queries and the HTTP API write for "every segment" or "every
// touchpoint"; the engine's Query also takes "" for it.
const All = "*"

// checkLabel validates a segment or touchpoint when its key is created;
// existing keys were validated then, so a hit skips it.
func checkLabel(sentinel error, what, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: empty %s", sentinel, what)
	case v == All:
		return fmt.Errorf("%w: %s %q is reserved for \"all\"", sentinel, what, v)
	case len(v) > MaxLabelBytes:
		return fmt.Errorf("%w: %s of %d bytes, want at most %d", sentinel, what, len(v), MaxLabelBytes)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", sentinel, what, v)
	}
	return nil
}
