package bench

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// WorkloadConfig shapes a Workload. The zero value is the workload the
// benchmarks run; each field says what its zero value means.
type WorkloadConfig struct {
	// Seed makes the workload: the same seed and config give the same events.
	Seed uint64
	// Events is how many events are generated; a Stream replays them
	// endlessly, shifted forward in time on each pass. Zero: 1<<20 (about
	// 100 MB).
	Events int
	// Segments and Touchpoints are how many of each exist; a key is one of
	// each. Zero: 50 and 20, so 1,000 keys.
	Segments, Touchpoints int
	// Customers is how many customers may answer. Zero: 1,000,000.
	Customers int
	// Rate is how many events arrive per simulated second. It sets how many
	// events share a minute bucket, so how often buckets rotate per event.
	// Zero: 1,000 (60,000 a minute; the hottest key gets about 15% of them).
	Rate int
	// LateShare is the share of events that arrive late, log-uniformly 1
	// minute to 6 hours after their time; the others arrive 0-5 s after it
	// (exponential, mean 200 ms). Zero: 0.03. Negative: none.
	LateShare float64
	// Anonymous is the share of events without a customer id. Zero: 0.02.
	// Negative: none.
	Anonymous float64
	// Start is when the first event arrives (a Stream may move it). Zero:
	// 2026-03-02 09:00 UTC.
	Start time.Time
	// Uniform draws segments, touchpoints and customers uniformly instead
	// of Zipf-skewed: every key gets the same share of the traffic.
	Uniform bool
}

// UniformWorkload is the second workload of the benchmarks: keys uniform
// over 1,000, 100,000 customers drawn uniformly, one million events a
// simulated hour (278 a second), so that every key's hour holds about
// 1,000 answers from as many customers, past the exact limit of its
// unique-customer sketches; 3% late and 2% anonymous as in the default.
// One pass of 1<<20 events is about an hour.
var UniformWorkload = WorkloadConfig{Uniform: true, Customers: 100_000, Rate: 278}

// The workload's shapes. Keys are Zipf-skewed: a customer belongs to one
// segment, drawn once with P(rank k) ∝ (1+k)^-SegmentSkew (the first of 50
// segments gets about 30% of the traffic); each answer's touchpoint is drawn
// with P(rank k) ∝ (1+k)^-TouchpointSkew ("web" gets about half), so the
// hottest key takes about 15% of all events. Customers answer with
// P(rank k) ∝ (CustomerOffset+k)^-CustomerSkew: the most active 1% give
// about a fifth of the answers.
const (
	SegmentSkew    = 1.2
	TouchpointSkew = 1.6
	CustomerSkew   = 1.1
	CustomerOffset = 10_000
)

// MetricMix is the share of answers per metric: NPS 40%, CSAT 40%, CES 20%.
var MetricMix = [...]float64{engine.NPS: 0.4, engine.CSAT: 0.4, engine.CES: 0.2}

// ScoreShapes are the score distributions, per metric, lowest score first:
// NPS bimodal with 62% promoters (40% tens), 23% passives and a 15%
// detractor tail with a spike at 0; CSAT skewed to 4-5 (80%); CES centred on
// 5 (mean 4.96).
var ScoreShapes = [...][]float64{
	engine.CSAT: {0.05, 0.05, 0.10, 0.30, 0.50},
	engine.CES:  {0.03, 0.05, 0.08, 0.14, 0.30, 0.25, 0.15},
	engine.NPS:  {0.02, 0.01, 0.01, 0.015, 0.015, 0.04, 0.04, 0.08, 0.15, 0.22, 0.40},
}

// Workload is a pre-generated, deterministic stream of survey responses
// shaped like production traffic: skewed keys, skewed customers, realistic
// score shapes, arrival times advancing at a fixed simulated rate, and a few
// percent of late events. Generate it once, outside any timed loop, and
// replay it with a Stream. A Workload is immutable and safe for concurrent
// use; a Stream is not.
type Workload struct {
	config   WorkloadConfig // defaults filled in
	events   []engine.Event // Time unset: times live in at and t
	at, t    []int64        // arrival and event time, ns after config.Start
	span     int64          // ns one pass covers: events / rate
	segments []string       // by popularity rank
	touch    []string       // by popularity rank
	keys     []KeyShare     // every key with events, busiest first
}

// KeyShare is a key and how much of the workload's traffic it gets.
type KeyShare struct {
	engine.Key
	Events    int     // events of the key in one pass
	PerMinute float64 // events a simulated minute
}

// touchpointNames are the first touchpoints, busiest first.
var touchpointNames = []string{
	"web", "app", "checkout", "support-chat", "email", "phone", "store", "delivery", "returns", "billing",
	"onboarding", "search", "account", "faq", "sms", "kiosk", "partner", "social", "survey-link", "callback",
}

// segmentNames are the first segments, busiest first.
var segmentNames = []string{"consumer", "smb", "enterprise", "student", "public-sector", "partner", "gold", "silver"}

func names(n int, first []string, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		if i < len(first) {
			out[i] = first[i]
		} else {
			out[i] = fmt.Sprintf("%s-%02d", prefix, i)
		}
	}
	return out
}

func (c WorkloadConfig) withDefaults() (WorkloadConfig, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Events, 1<<20)
	def(&c.Segments, 50)
	def(&c.Touchpoints, 20)
	def(&c.Customers, 1_000_000)
	def(&c.Rate, 1000)
	share := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	share(&c.LateShare, 0.03)
	share(&c.Anonymous, 0.02)
	if c.Start.IsZero() {
		c.Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	}
	switch {
	case c.Events < 1, c.Segments < 1, c.Touchpoints < 1, c.Customers < 1, c.Rate < 1:
		return c, fmt.Errorf("bench: workload sizes must be positive: %+v", c)
	case c.LateShare > 1, c.Anonymous > 1:
		return c, fmt.Errorf("bench: workload shares must be at most 1: %+v", c)
	}
	return c, nil
}

// NewWorkload generates the workload c describes. It takes about half a
// second for the default million events.
func NewWorkload(c WorkloadConfig) (*Workload, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	w := &Workload{
		config:   c,
		events:   make([]engine.Event, c.Events),
		at:       make([]int64, c.Events),
		t:        make([]int64, c.Events),
		span:     int64(c.Events) * int64(time.Second) / int64(c.Rate),
		segments: names(c.Segments, segmentNames, "segment"),
		touch:    names(c.Touchpoints, touchpointNames, "touchpoint"),
	}
	zipf := func(s, v float64, n int) func() int {
		if c.Uniform {
			return func() int { return r.IntN(n) }
		}
		if n == 1 {
			return func() int { return 0 }
		}
		z := rand.NewZipf(r, s, v, uint64(n-1))
		return func() int { return int(z.Uint64()) }
	}
	segment := zipf(SegmentSkew, 1, c.Segments)
	touchpoint := zipf(TouchpointSkew, 1, c.Touchpoints)
	customer := zipf(CustomerSkew, CustomerOffset, c.Customers)

	// Customers are drawn by rank; each gets a segment of its own on first
	// use, and an id that does not reveal the rank. The ids of the events
	// are laid out in event order in one string, as a service would find
	// each in the request it is decoding: reading one does not miss the CPU
	// cache, which reading one of a million scattered strings would.
	segOf := make([]int32, c.Customers)
	for i := range segOf {
		segOf[i] = -1
	}
	ids := make([]byte, 0, 10*c.Events)
	idEnd := make([]int32, c.Events) // ids[idEnd[i-1]:idEnd[i]] is event i's id
	var cumScores [len(ScoreShapes)][]float64
	for m, shape := range ScoreShapes {
		acc := 0.0
		for _, p := range shape {
			acc += p
			cumScores[m] = append(cumScores[m], acc)
		}
	}
	counts := make([]int, c.Segments*c.Touchpoints)
	lateMin, lateMax := math.Log(float64(time.Minute)), math.Log(float64(6*time.Hour))
	for i := range w.events {
		ev := &w.events[i]
		seg := 0
		if c.Anonymous > 0 && r.Float64() < c.Anonymous {
			seg = segment()
		} else {
			k := customer()
			if segOf[k] < 0 {
				segOf[k] = int32(segment())
			}
			seg = int(segOf[k])
			ids = append(ids, "c-"...) // a bijection of the rank
			ids = strconv.AppendUint(ids, (uint64(k)*2654435761+12345)%uint64(c.Customers), 10)
		}
		idEnd[i] = int32(len(ids))
		tp := touchpoint()
		ev.Segment, ev.Touchpoint = w.segments[seg], w.touch[tp]
		counts[seg*c.Touchpoints+tp]++

		switch u := r.Float64(); {
		case u < MetricMix[engine.NPS]:
			ev.Metric = engine.NPS
		case u < MetricMix[engine.NPS]+MetricMix[engine.CSAT]:
			ev.Metric = engine.CSAT
		default:
			ev.Metric = engine.CES
		}
		low, _ := ev.Metric.Scale()
		cum := cumScores[ev.Metric]
		j, _ := slices.BinarySearch(cum, r.Float64()*cum[len(cum)-1])
		ev.Score = low + min(j, len(cum)-1)

		w.at[i] = int64(i) * int64(time.Second) / int64(c.Rate)
		if c.LateShare > 0 && r.Float64() < c.LateShare {
			w.t[i] = w.at[i] - int64(math.Exp(lateMin+r.Float64()*(lateMax-lateMin)))
		} else {
			w.t[i] = w.at[i] - min(int64(r.ExpFloat64()*float64(200*time.Millisecond)), int64(5*time.Second))
		}
	}
	all := string(ids)
	for i, end := range idEnd {
		start := int32(0)
		if i > 0 {
			start = idEnd[i-1]
		}
		w.events[i].CustomerID = all[start:end]
	}
	minutes := float64(w.span) / float64(time.Minute)
	for i, n := range counts {
		if n > 0 {
			k := engine.Key{Segment: w.segments[i/c.Touchpoints], Touchpoint: w.touch[i%c.Touchpoints]}
			w.keys = append(w.keys, KeyShare{Key: k, Events: n, PerMinute: float64(n) / minutes})
		}
	}
	slices.SortStableFunc(w.keys, func(a, b KeyShare) int { return cmp.Compare(b.Events, a.Events) })
	return w, nil
}

// MustWorkload is NewWorkload for configs known to be valid; it panics on
// an error.
func MustWorkload(c WorkloadConfig) *Workload {
	w, err := NewWorkload(c)
	if err != nil {
		panic(err)
	}
	return w
}

// Config returns the workload's config with its defaults filled in.
func (w *Workload) Config() WorkloadConfig { return w.config }

// Len returns the number of generated events, one pass of a Stream.
func (w *Workload) Len() int { return len(w.events) }

// Span returns the simulated time one pass covers: Len events at the rate.
func (w *Workload) Span() time.Duration { return time.Duration(w.span) }

// Event returns event i of the first pass, with its time, and when it
// arrives.
func (w *Workload) Event(i int) (arrival time.Time, ev engine.Event) {
	ev = w.events[i]
	ev.Time = w.config.Start.Add(time.Duration(w.t[i]))
	return w.config.Start.Add(time.Duration(w.at[i])), ev
}

// Segments returns every segment, busiest first. Do not modify it.
func (w *Workload) Segments() []string { return w.segments }

// Touchpoints returns every touchpoint, busiest first. Do not modify it.
func (w *Workload) Touchpoints() []string { return w.touch }

// Keys returns the keys that have events, busiest first. Do not modify it.
func (w *Workload) Keys() []KeyShare { return w.keys }

// KeyNear returns the key whose rate is closest to perMinute events a
// simulated minute (by ratio).
func (w *Workload) KeyNear(perMinute float64) KeyShare {
	best, dist := w.keys[0], math.Inf(1)
	for _, k := range w.keys {
		if d := math.Abs(math.Log(k.PerMinute / perMinute)); d < dist {
			best, dist = k, d
		}
	}
	return best
}

// Stream replays a Workload endlessly in arrival order: pass p replays
// every event shifted p × Span later, so time keeps advancing and the
// shape repeats. A Stream is not safe for concurrent use; give each
// goroutine its own.
type Stream struct {
	w     *Workload
	i     int   // next event of the pass
	shift int64 // Unix ns of the pass's zero: start + pass × span
	start int64 // Unix ns of the first pass's zero
}

// Stream returns a stream of w whose first event arrives at start (zero:
// the config's Start).
func (w *Workload) Stream(start time.Time) *Stream {
	if start.IsZero() {
		start = w.config.Start
	}
	s := &Stream{w: w, start: start.UnixNano()}
	s.Seek(0)
	return s
}

// Seek makes event n of the endless stream the next one.
func (s *Stream) Seek(n int) {
	s.i = n % len(s.w.events)
	s.shift = s.start + int64(n/len(s.w.events))*s.w.span
}

// Next sets *ev to the next event, with its time, and returns when it
// arrives: the "now" to record it at. It does not allocate.
func (s *Stream) Next(ev *engine.Event) (arrival time.Time) {
	*ev = s.w.events[s.i]
	ev.Time = time.Unix(0, s.shift+s.w.t[s.i])
	arrival = time.Unix(0, s.shift+s.w.at[s.i])
	if s.i++; s.i == len(s.w.events) {
		s.i, s.shift = 0, s.shift+s.w.span
	}
	return arrival
}
