package engine

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

var t0 = time.Date(2026, 11, 26, 10, 37, 12, 0, time.UTC)

// The reference model: every accepted event in a slice, and brute force.
type modelEvent struct {
	Event
	t int64
}

type model struct {
	tiers   []window.Tier
	future  time.Duration
	maxKeys int
	minResp uint64 // Config.MinResponses, default filled in
	events  []modelEvent
	keys    map[Key]bool
}

// span recomputes the layout's Span from its definition (tiers aligned to
// UTC): [edge, now), edge the bucket edge nearest to now − w (not past the
// start of now's finest bucket) of the finest tier that still holds it, a
// tier holding the current bucket and Retention/Resolution more.
func (m *model) span(now int64, w time.Duration) (from, to int64, ok bool) {
	fine := int64(m.tiers[0].Resolution)
	if int64(w) < fine {
		return 0, 0, false
	}
	open := now / fine * fine
	f := now - int64(w)
	for _, t := range m.tiers {
		res := int64(t.Resolution)
		a := f / res * res
		edge := a
		if b := a + res; b-f < f-a && b <= open {
			edge = b
		}
		if edge/res > now/res-int64(t.Retention/t.Resolution)-1 {
			return edge, now, true
		}
	}
	return 0, 0, false
}

// expect returns the error class Record must give ev at now.
func (m *model) expect(now int64, ev Event) error {
	if ev.Metric.Check(ev.Score) != nil {
		if !ev.Metric.Valid() {
			return ErrUnknownMetric
		}
		return ErrScoreOutOfRange
	}
	last := m.tiers[len(m.tiers)-1]
	day := int64(last.Resolution)
	oldest := (now/day - int64(last.Retention/last.Resolution)) * day
	t := ev.Time.UnixNano()
	switch {
	case t < oldest:
		return ErrTooOld
	case t > now+int64(m.future):
		return ErrTooNew
	case ev.Segment == "" || ev.Segment == All:
		return ErrInvalidSegment
	case ev.Touchpoint == "" || ev.Touchpoint == All:
		return ErrInvalidTouchpoint
	case !m.keys[Key{ev.Segment, ev.Touchpoint}] && len(m.keys) >= m.maxKeys:
		return ErrTooManyKeys
	}
	return nil
}

func (m *model) accept(ev Event) {
	m.keys[Key{ev.Segment, ev.Touchpoint}] = true
	m.events = append(m.events, modelEvent{ev, ev.Time.UnixNano()})
}

// result is the brute-force answer for a selection and [from, to).
func (m *model) result(seg, tp string, from, to int64) (h sketch.Histogram, uniques int) {
	ids := map[string]bool{}
	for _, e := range m.events {
		if e.t < from || e.t >= to || (seg != All && seg != e.Segment) || (tp != All && tp != e.Touchpoint) {
			continue
		}
		h.Add(e.Metric, e.Score)
		if e.CustomerID != "" {
			ids[e.CustomerID] = true
		}
	}
	return h, len(ids)
}

// check compares r with the model over [from, to), and if live, the rest
// of the finest bucket that holds to (now): events stamped ahead of now.
func (m *model) check(t *rapid.T, what string, seg, tp string, from, to int64, live bool, r *Result) {
	t.Helper()
	hi := to
	if live {
		fine := int64(m.tiers[0].Resolution)
		hi = to/fine*fine + fine
	}
	h, uniques := m.result(seg, tp, from, hi)
	if r.From.UnixNano() != from || r.To.UnixNano() != to {
		t.Fatalf("%s: covers [%v, %v), want [%v, %v)", what, r.From, r.To, time.Unix(0, from).UTC(), time.Unix(0, to).UTC())
	}
	if r.CSAT != h.CSAT() || r.CES != h.CES() || r.NPS != h.NPS() {
		t.Fatalf("%s: counts\n got %v %v %v\nwant %v %v %v", what, r.CSAT, r.CES, r.NPS, h.CSAT(), h.CES(), h.NPS())
	}
	enough := Enough{h.CSAT().Responses() >= m.minResp, h.CES().Responses() >= m.minResp, h.NPS().Responses() >= m.minResp}
	if r.Enough != enough {
		t.Fatalf("%s: enough %+v, want %+v (minimum %d)", what, r.Enough, enough, m.minResp)
	}
	// Customer ids are drawn from a pool without fingerprint collisions, so
	// up to the exact limit (512) the count is exact; beyond it, within 3 standard
	// errors at precision 12.
	got := float64(r.UniqueCustomers)
	if uniques <= 512 && got != float64(uniques) || math.Abs(got-float64(uniques)) > 0.049*float64(uniques) {
		t.Fatalf("%s: %v unique customers, want %d", what, got, uniques)
	}
}

var (
	segments    = []string{"enterprise", "smb", "consumer", "", All}
	touchpoints = []string{"checkout", "web", "support", "app", ""}
	customers   = func() []string {
		ids := make([]string, 3000)
		seen := map[uint32]bool{}
		for i := range ids {
			ids[i] = fmt.Sprintf("c-%d", i)
			fp := uint32(sketch.Hash(ids[i]) >> 32)
			if seen[fp] {
				panic("test customer ids collide; pick others")
			}
			seen[fp] = true
		}
		return ids
	}()
	windows = []time.Duration{time.Minute, 5 * time.Minute, 17 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour,
		6 * time.Hour, 24 * time.Hour, 47 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 35 * 24 * time.Hour}
	steps = []time.Duration{time.Minute, 5 * time.Minute, time.Hour, 3 * time.Hour, 24 * time.Hour}
)

func TestEngineMatchesModel(t *testing.T) {
	configs := map[string][]window.Tier{
		"default": nil,
		"small": {
			{Resolution: time.Minute, Retention: 10 * time.Minute},
			{Resolution: 10 * time.Minute, Retention: 2 * time.Hour},
			{Resolution: time.Hour, Retention: 12 * time.Hour},
		},
	}
	for name, tiers := range configs {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) { runModel(rt, tiers) })
		})
	}
}

func runModel(t *rapid.T, tiers []window.Tier) {
	clock := window.NewManualClock(t0.Add(time.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(t, "start"))))
	cfg := Config{Tiers: tiers, MaxKeys: 10, Clock: clock, Lanes: rapid.IntRange(1, 4).Draw(t, "lanes"),
		MinResponses: rapid.IntRange(0, 3).Draw(t, "min responses")}
	if rapid.Bool().Draw(t, "no cache") {
		cfg.CacheBytes = -1
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	set, _ := cfg.settings()
	m := &model{maxKeys: 10, minResp: uint64(cmp.Or(cfg.MinResponses, DefaultMinResponses)), future: set.layout.Future(), keys: map[Key]bool{}}
	km := &keysModel{model: m} // keys expire as the engine sweeps them
	for k := range set.layout.Tiers() {
		m.tiers = append(m.tiers, set.layout.Tier(k))
	}
	retention := set.layout.Retention()
	lates := []time.Duration{time.Minute, 3 * time.Minute, 45 * time.Minute, 2*time.Hour + time.Minute, 13 * time.Hour, 49 * time.Hour, 20 * 24 * time.Hour}
	drawEvent := func(now time.Time) Event {
		ev := Event{
			Segment:    rapid.SampledFrom(segments).Draw(t, "segment"),
			Touchpoint: rapid.SampledFrom(touchpoints).Draw(t, "touchpoint"),
			Metric:     Metric(rapid.IntRange(0, 4).Draw(t, "metric")),
			Score:      rapid.IntRange(-1, 11).Draw(t, "score"),
		}
		if rapid.IntRange(0, 9).Draw(t, "anonymous") > 0 {
			ev.CustomerID = rapid.SampledFrom(customers).Draw(t, "customer")
		}
		switch rapid.IntRange(0, 5).Draw(t, "when") {
		case 0, 1:
			ev.Time = now.Add(-time.Duration(rapid.Int64Range(0, int64(90*time.Second)).Draw(t, "recent")))
		case 2:
			ev.Time = now.Add(-rapid.SampledFrom(lates).Draw(t, "late"))
		case 3:
			ev.Time = now.Add(time.Duration(rapid.Int64Range(0, int64(2*time.Minute)).Draw(t, "ahead")))
		case 4:
			ev.Time = now.Add(-retention - time.Duration(rapid.Int64Range(-int64(48*time.Hour), int64(48*time.Hour)).Draw(t, "edge")))
		default:
			ev.Time = now.Add(-time.Duration(rapid.Int64Range(0, int64(retention)).Draw(t, "any")))
		}
		return ev
	}
	for step := range rapid.IntRange(30, 150).Draw(t, "steps") {
		now := clock.Now()
		switch op := rapid.IntRange(0, 12).Draw(t, "op"); {
		case op == 0: // time passes: a little, or past every ring
			clock.Advance(rapid.SampledFrom([]time.Duration{0, time.Second, 40 * time.Second, time.Minute, 11 * time.Minute,
				time.Hour, 25 * time.Hour, 8 * 24 * time.Hour, retention + time.Hour}).Draw(t, "advance"))
		case op <= 5:
			ev := drawEvent(now)
			want, _ := km.record(now.UnixNano(), ev)
			var err error
			if rapid.Bool().Draw(t, "at") {
				err = e.RecordAt(now, ev)
			} else {
				err = e.Record(ev)
			}
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("step %d: Record(%+v): got %v, want %v", step, ev, err, want)
			}
		case op == 6: // a batch, good and bad events mixed
			batch := make([]Event, rapid.IntRange(1, 5).Draw(t, "batch"))
			var wantRejected []int
			for i := range batch {
				batch[i] = drawEvent(now)
				if err, _ := km.record(now.UnixNano(), batch[i]); err != nil {
					wantRejected = append(wantRejected, i)
				}
			}
			err := e.RecordBatchAt(now, batch)
			var be *BatchError
			var got []int
			if errors.As(err, &be) {
				for _, r := range be.Rejected {
					got = append(got, r.Index)
				}
			}
			if !slices.Equal(got, wantRejected) || (err == nil) != (wantRejected == nil) {
				t.Fatalf("step %d: RecordBatch rejected %v (%v), want %v", step, got, err, wantRejected)
			}
		case op <= 10:
			seg := rapid.SampledFrom([]string{"enterprise", "smb", All}).Draw(t, "q segment")
			tp := rapid.SampledFrom([]string{"checkout", "web", All}).Draw(t, "q touchpoint")
			w := rapid.SampledFrom(windows).Draw(t, "window")
			var r Result
			err := e.QueryAt(now, Query{Segment: seg, Touchpoint: tp, Window: w}, &r)
			from, to, ok := m.span(now.UnixNano(), w)
			if !ok {
				if !errors.Is(err, ErrWindow) {
					t.Fatalf("step %d: Query(%v): got %v, want ErrWindow", step, w, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: Query(%v): %v", step, w, err)
			}
			m.check(t, fmt.Sprintf("step %d: %s × %s over %v", step, seg, tp, w), seg, tp, from, to, true, &r)
		default:
			seg := rapid.SampledFrom([]string{"enterprise", All}).Draw(t, "t segment")
			stepLen := rapid.SampledFrom(steps).Draw(t, "step")
			w := stepLen * time.Duration(rapid.IntRange(1, 30).Draw(t, "points"))
			rs, err := e.TrendAt(now, Query{Segment: seg, Window: w}, stepLen, nil)
			if err != nil {
				if !errors.Is(err, ErrWindow) {
					t.Fatalf("step %d: Trend(%v by %v): %v", step, w, stepLen, err)
				}
				continue
			}
			n := now.UnixNano()
			f := n - int64(w)
			from := f / int64(stepLen) * int64(stepLen)
			if b := from + int64(stepLen); b-f < f-from && b <= n {
				from = b
			}
			if len(rs) > 0 && rs[0].From.UnixNano() == from+int64(stepLen) {
				from += int64(stepLen) // the nearest edge is older than the buckets of the steps hold
			}
			cur := n / int64(stepLen) * int64(stepLen)
			if want := int((cur-from)/int64(stepLen)) + 1; len(rs) != want {
				t.Fatalf("step %d: Trend(%v by %v): %d points, want %d", step, w, stepLen, len(rs), want)
			}
			for i := range rs {
				a := from + int64(i)*int64(stepLen)
				live := a == cur
				b := a + int64(stepLen)
				if live {
					b = n
				}
				if rs[i].Partial != live {
					t.Fatalf("step %d: trend point %d of %v by %v: partial %v, want %v", step, i, w, stepLen, rs[i].Partial, live)
				}
				m.check(t, fmt.Sprintf("step %d: trend point %d of %v by %v", step, i, w, stepLen), seg, All, a, b, live, &rs[i])
			}
		}
	}
}

func TestRecordErrors(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, MaxKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	good := Event{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "checkout", Metric: NPS, Score: 9, Time: t0}
	if err := e.Record(good); err != nil {
		t.Fatal(err)
	}
	f := func(name string, mutate func(*Event), want error, wantMsg string) {
		t.Helper()
		ev := good
		mutate(&ev)
		err := e.Record(ev)
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		} else if err.Error() != wantMsg {
			t.Errorf("%s: message %q, want %q", name, err, wantMsg)
		}
	}
	f("score", func(ev *Event) { ev.Score = 11 }, ErrScoreOutOfRange, "score out of range: nps score 11, want 0-10")
	f("metric", func(ev *Event) { ev.Metric = 0 }, ErrUnknownMetric, "unknown metric: metric(0)")
	f("empty segment", func(ev *Event) { ev.Segment = "" }, ErrInvalidSegment, "invalid segment: empty segment")
	f("star touchpoint", func(ev *Event) { ev.Touchpoint = "*" }, ErrInvalidTouchpoint, `invalid touchpoint: touchpoint "*" is reserved for "all"`)
	f("bad utf-8", func(ev *Event) { ev.Segment = "a\xffb" }, ErrInvalidSegment, `invalid segment: segment "a\xffb" is not valid UTF-8`)
	f("long", func(ev *Event) { ev.Touchpoint = string(make([]byte, 129)) }, ErrInvalidTouchpoint, "invalid touchpoint: touchpoint of 129 bytes, want at most 128")
	f("too old", func(ev *Event) { ev.Time = t0.Add(-70 * 24 * time.Hour) }, ErrTooOld,
		"time older than the retention: 2026-09-17T10:37:12Z is before 2026-09-26T00:00:00Z, the start of the 1464h0m0s retained at 2026-11-26T10:37:12Z")
	f("too new", func(ev *Event) { ev.Time = t0.Add(2 * time.Minute) }, ErrTooNew,
		"time too far in the future: 2026-11-26T10:39:12Z is more than 1m0s after now (2026-11-26T10:37:12Z)")
	f("too many keys", func(ev *Event) { ev.Segment = "smb" }, ErrTooManyKeys,
		`too many keys: segment "smb" × touchpoint "checkout" would be key 2, the limit is 1`)

	// Nothing rejected changed anything.
	var r Result
	if err := e.Query(Query{Window: time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if r.Responses() != 1 || r.UniqueCustomers != 1 {
		t.Fatalf("after rejections: %d responses, %d customers, want 1, 1", r.Responses(), r.UniqueCustomers)
	}
	if keys := e.Keys(nil); len(keys) != 1 {
		t.Fatalf("after rejections: keys %v, want one", keys)
	}
	e.Close()
	if err := e.Record(good); !errors.Is(err, ErrClosed) {
		t.Fatalf("Record after Close: got %v, want ErrClosed", err)
	}
	if err := e.Query(Query{Window: time.Hour}, &r); !errors.Is(err, ErrClosed) {
		t.Fatalf("Query after Close: got %v, want ErrClosed", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{MaxKeys: -1},
		{MinResponses: -1},
		{Precision: 7},
		{Lanes: 65},
		{Tiers: []window.Tier{{Resolution: time.Hour, Retention: time.Minute}}},
		{Tiers: []window.Tier{{Resolution: time.Minute, Retention: time.Hour}, {Resolution: 90 * time.Second, Retention: time.Hour}}},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): got %v, want ErrConfig", c, err)
		}
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := time.Now()
	ev := Event{CustomerID: "c-42", Segment: "enterprise", Touchpoint: "checkout", Metric: CSAT, Score: 4, Time: now}
	anon := ev
	anon.CustomerID = ""
	if err := e.Record(ev); err != nil {
		t.Fatal(err)
	}
	for name, ev := range map[string]Event{"with a customer": ev, "anonymous": anon} {
		if n := testing.AllocsPerRun(1000, func() { e.Record(ev) }); n != 0 {
			t.Errorf("Record %s of an existing key: got %v allocs, want 0", name, n)
		}
	}
	var r Result
	q := Query{Segment: "enterprise", Touchpoint: "checkout", Window: 5 * time.Minute}
	e.Query(q, &r)
	e.cache.c.Wait() // ristretto applies Sets asynchronously
	if n := testing.AllocsPerRun(100, func() { e.Query(q, &r) }); n != 0 {
		t.Errorf("Query of an open window: got %v allocs, want 0", n)
	}
}

// Writers and readers at once, under -race: the totals come out exact.
func TestConcurrentRecordAndQuery(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, Lanes: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const writers, perWriter = 4, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			var r Result
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := e.Query(Query{Window: 24 * time.Hour}, &r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if i%500 == 0 {
					clock.Advance(time.Minute) // buckets open and fold under the readers
				}
				ev := Event{CustomerID: fmt.Sprintf("c-%d", i%300), Segment: []string{"a", "b"}[i%2], Touchpoint: "web",
					Metric: NPS, Score: i % 11, Time: clock.Now().Add(-time.Duration(i%90) * time.Second)}
				if err := e.Record(ev); err != nil {
					t.Errorf("writer %d event %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	var r Result
	if err := e.Query(Query{Window: 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if got, want := r.NPS.Responses(), uint64(writers*perWriter); got != want || r.UniqueCustomers != 300 {
		t.Fatalf("after concurrent writes: %d responses, %d customers, want %d, 300", got, r.UniqueCustomers, want)
	}
}
