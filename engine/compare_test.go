package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

// selModel is the brute-force answer for a set of keys over [from, to).
func (m *model) selResult(in func(Key) bool, from, to int64) (h sketch.Histogram, uniques int) {
	ids := map[string]bool{}
	for _, e := range m.events {
		if e.t < from || e.t >= to || !in(Key{e.Segment, e.Touchpoint}) {
			continue
		}
		h.Add(e.Metric, e.Score)
		if e.CustomerID != "" {
			ids[e.CustomerID] = true
		}
	}
	return h, uniques + len(ids)
}

// sortedKeys returns the model's keys, sorted as the matrix sorts them.
func (m *model) sortedKeys() []Key {
	keys := slices.Collect(maps.Keys(m.keys))
	slices.SortFunc(keys, compareKeys)
	return keys
}

// checkResult compares r with the model over [from, to), and if to is
// now, the rest of the minute that holds it (events stamped ahead of now,
// which a live answer reads).
func checkResult(t *rapid.T, what string, m *model, in func(Key) bool, from, to, now int64, r *Result) {
	t.Helper()
	hi := to
	if to == now {
		fine := int64(m.tiers[0].Resolution)
		hi = now/fine*fine + fine
	}
	h, uniques := m.selResult(in, from, hi)
	if r.From.UnixNano() != from || r.To.UnixNano() != to {
		t.Fatalf("%s: covers [%v, %v), want [%v, %v)", what, r.From, r.To, time.Unix(0, from).UTC(), time.Unix(0, to).UTC())
	}
	if r.CSAT != h.CSAT() || r.CES != h.CES() || r.NPS != h.NPS() {
		t.Fatalf("%s: counts\n got %v %v %v\nwant %v %v %v", what, r.CSAT, r.CES, r.NPS, h.CSAT(), h.CES(), h.NPS())
	}
	if r.UniqueCustomers != uint64(uniques) { // at most 300 customers: exact
		t.Fatalf("%s: %d unique customers, want %d (a union, not a sum)", what, r.UniqueCustomers, uniques)
	}
	enough := Enough{h.CSAT().Responses() >= m.minResp, h.CES().Responses() >= m.minResp, h.NPS().Responses() >= m.minResp}
	if r.Enough != enough {
		t.Fatalf("%s: enough %+v, want %+v", what, r.Enough, enough)
	}
}

func checkMetric(t *rapid.T, what string, got MetricComparison, want sketch.Comparison, enough bool) {
	t.Helper()
	if !enough {
		want.HasInterval, want.HasPValue, want.Low, want.High, want.PValue = false, false, 0, 0, 0
	}
	if got.Comparison != want || got.Enough != enough {
		t.Fatalf("%s: got %+v, want %+v (enough %t)", what, got, want, enough)
	}
}

var (
	compareSegments    = []string{"enterprise", "smb", "consumer", "gov"}
	compareTouchpoints = []string{"checkout", "web", "support", "delivery"}
)

// TestCompareMatchesModel records random events and checks SelectAt,
// CompareAt against every baseline, and MatrixAt against brute force over
// the events: counts exact, unique customers unioned, comparisons those of
// the brute-force histograms, tested only with enough answers on both sides.
func TestCompareMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clock := window.NewManualClock(t0.Add(time.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(t, "start"))))
		cfg := Config{Clock: clock, MinResponses: rapid.IntRange(1, 4).Draw(t, "min responses")}
		if rapid.Bool().Draw(t, "no cache") {
			cfg.CacheBytes = -1
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		set, _ := cfg.settings()
		m := &model{minResp: uint64(cfg.MinResponses), keys: map[Key]bool{}}
		for k := range set.layout.Tiers() {
			m.tiers = append(m.tiers, set.layout.Tier(k))
		}
		for step := range rapid.IntRange(10, 60).Draw(t, "steps") {
			now := clock.Now()
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op == 0:
				clock.Advance(rapid.SampledFrom([]time.Duration{time.Second, time.Minute, 37 * time.Minute, 5 * time.Hour, 3 * 24 * time.Hour}).Draw(t, "advance"))
			case op <= 5:
				for range rapid.IntRange(1, 8).Draw(t, "burst") {
					metric := Metric(rapid.IntRange(1, 3).Draw(t, "metric"))
					lo, hi := metric.Scale()
					ev := Event{
						Segment:    rapid.SampledFrom(compareSegments).Draw(t, "segment"),
						Touchpoint: rapid.SampledFrom(compareTouchpoints).Draw(t, "touchpoint"),
						Metric:     metric, Score: rapid.IntRange(lo, hi).Draw(t, "score"),
						Time: now.Add(-time.Duration(rapid.Int64Range(0, int64(rapid.SampledFrom([]time.Duration{
							time.Minute, 3 * time.Hour, 10 * 24 * time.Hour}).Draw(t, "age range"))).Draw(t, "age"))),
					}
					if rapid.Bool().Draw(t, "identified") {
						ev.CustomerID = customers[rapid.IntRange(0, 300).Draw(t, "customer")]
					}
					if err := e.RecordAt(now, ev); err != nil {
						t.Fatalf("step %d: %v", step, err)
					}
					m.accept(ev)
				}
			case op <= 8:
				sel := Selection{
					Segments:    rapid.SliceOfNDistinct(rapid.SampledFrom(append(compareSegments, All)), 0, 3, rapid.ID[string]).Draw(t, "segments"),
					Touchpoints: rapid.SliceOfNDistinct(rapid.SampledFrom(append(compareTouchpoints, "")), 0, 3, rapid.ID[string]).Draw(t, "touchpoints"),
				}
				w := rapid.SampledFrom([]time.Duration{time.Minute, 15 * time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}).Draw(t, "window")
				against := Baseline(rapid.IntRange(1, 3).Draw(t, "against"))
				what := fmt.Sprintf("step %d: %+v over %v against %s", step, sel, w, against)
				in := sel.matches
				from, to, _ := m.span(now.UnixNano(), w)
				var r Result
				if err := e.SelectAt(now, sel, w, &r); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				checkResult(t, what+": select", m, in, from, to, now.UnixNano(), &r)
				var c Comparison
				err := e.CompareAt(now, sel, w, against, &c)
				// The ideal baseline; the engine moves its ends to the
				// nearest bucket edges, within half a bucket of the window's
				// resolution (a baseline is kept at it or finer).
				bfrom, bto, bin := from, to, in
				switch against {
				case Previous:
					bfrom, bto = from-int64(w), from
				case WeekEarlier:
					bfrom, bto = from-int64(7*24*time.Hour), to-int64(7*24*time.Hour)
				case Rest:
					bin = func(k Key) bool { return !in(k) }
				}
				if errors.Is(err, ErrWindow) && against != Rest {
					// Only a baseline older than the minutes are kept can
					// be missing.
					if oldestMinute := (now.UnixNano()/int64(time.Minute) - 118) * int64(time.Minute); bfrom >= oldestMinute {
						t.Fatalf("%s: %v for a baseline from %v", what, err, time.Unix(0, bfrom).UTC())
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if against != Rest {
					half := m.spanRes(now.UnixNano(), w) / 2
					gf, gt := c.Baseline.From.UnixNano(), c.Baseline.To.UnixNano()
					if d := gf - bfrom; d < -half || d > half || gt-bto < -half || gt-bto > half {
						t.Fatalf("%s: baseline [%v, %v), want within %v of [%v, %v)", what, c.Baseline.From, c.Baseline.To,
							time.Duration(half), time.Unix(0, bfrom).UTC(), time.Unix(0, bto).UTC())
					}
					bfrom, bto = gf, gt
				}
				checkResult(t, what+": current", m, in, from, to, now.UnixNano(), &c.Current)
				checkResult(t, what+": baseline", m, bin, bfrom, bto, now.UnixNano(), &c.Baseline)
				live := func(to int64) int64 { // the end a live answer reads to
					if fine := int64(m.tiers[0].Resolution); to == now.UnixNano() {
						return to/fine*fine + fine
					}
					return to
				}
				cur, _ := m.selResult(in, from, live(to))
				base, _ := m.selResult(bin, bfrom, live(bto))
				checkMetric(t, what+": nps", c.NPS, cur.NPS().Compare(base.NPS()), cur.NPS().Responses() >= m.minResp && base.NPS().Responses() >= m.minResp)
				checkMetric(t, what+": csat", c.CSAT, cur.CSAT().Compare(base.CSAT()), cur.CSAT().Responses() >= m.minResp && base.CSAT().Responses() >= m.minResp)
				checkMetric(t, what+": ces", c.CES, cur.CES().Compare(base.CES()), cur.CES().Responses() >= m.minResp && base.CES().Responses() >= m.minResp)
			default:
				w := rapid.SampledFrom([]time.Duration{time.Minute, time.Hour, 24 * time.Hour, 30 * 24 * time.Hour}).Draw(t, "matrix window")
				rs, err := e.MatrixAt(now, w, nil)
				if err != nil {
					t.Fatal(err)
				}
				from, to, _ := m.span(now.UnixNano(), w)
				keys := m.sortedKeys()
				if len(rs) != len(keys) {
					t.Fatalf("step %d: matrix of %d keys, want %d", step, len(rs), len(keys))
				}
				for i, k := range keys {
					if rs[i].Segment != k.Segment || rs[i].Touchpoint != k.Touchpoint {
						t.Fatalf("step %d: matrix cell %d is %s × %s, want %s × %s", step, i, rs[i].Segment, rs[i].Touchpoint, k.Segment, k.Touchpoint)
					}
					checkResult(t, fmt.Sprintf("step %d: matrix %v", step, k), m, func(o Key) bool { return o == k }, from, to, now.UnixNano(), &rs[i])
				}
				rus, err := e.RollupsAt(now, w, nil)
				if err != nil {
					t.Fatal(err)
				}
				rollups := []Key{{All, All}}
				for _, k := range keys {
					for _, r := range []Key{{All, k.Touchpoint}, {k.Segment, All}} {
						if !slices.Contains(rollups, r) {
							rollups = append(rollups, r)
						}
					}
				}
				slices.SortFunc(rollups, compareKeys)
				if len(rus) != len(rollups) {
					t.Fatalf("step %d: %d roll-ups, want %d", step, len(rus), len(rollups))
				}
				for i, k := range rollups {
					if rus[i].Segment != k.Segment || rus[i].Touchpoint != k.Touchpoint {
						t.Fatalf("step %d: roll-up %d is %s × %s, want %s × %s", step, i, rus[i].Segment, rus[i].Touchpoint, k.Segment, k.Touchpoint)
					}
					in := func(o Key) bool {
						return (k.Segment == All || o.Segment == k.Segment) && (k.Touchpoint == All || o.Touchpoint == k.Touchpoint)
					}
					checkResult(t, fmt.Sprintf("step %d: roll-up %v", step, k), m, in, from, to, now.UnixNano(), &rus[i])
				}
			}
		}
	})
}

// TestCompareBaselines: which baselines the default tiers retain.
func TestCompareBaselines(t *testing.T) {
	e, err := New(Config{Clock: window.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, c := range []struct {
		w       time.Duration
		against Baseline
		ok      bool
	}{
		{time.Hour, Previous, true},
		{24 * time.Hour, Previous, true},
		{7 * 24 * time.Hour, Previous, true},
		{30 * 24 * time.Hour, Previous, true}, // days are kept for 61 days
		{40 * 24 * time.Hour, Previous, false},
		{time.Hour, WeekEarlier, false},      // minutes are kept for 2 hours
		{24 * time.Hour, WeekEarlier, false}, // hours for 48 hours
		{3 * 24 * time.Hour, WeekEarlier, true},
		{7 * 24 * time.Hour, WeekEarlier, true},
		{30 * 24 * time.Hour, WeekEarlier, true},
		{55 * 24 * time.Hour, WeekEarlier, false}, // days for 61 days
		{35 * 24 * time.Hour, Rest, true},
	} {
		var cmp Comparison
		err := e.CompareAt(t0, Selection{}, c.w, c.against, &cmp)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrWindow) {
			t.Errorf("%v against %s: got %v, want ok %t", c.w, c.against, err, c.ok)
		}
	}
	if err := e.CompareAt(t0, Selection{}, time.Hour, Baseline(9), new(Comparison)); !errors.Is(err, ErrBaseline) {
		t.Errorf("unknown baseline: got %v, want ErrBaseline", err)
	}
}

// TestCompareNotEnough: below MinResponses a comparison gives the
// difference and nothing it would have to test.
func TestCompareNotEnough(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 9 {
		for _, seg := range []string{"a", "b"} {
			score := 10
			if seg == "b" {
				score = 0
			}
			if err := e.RecordAt(t0, Event{Segment: seg, Touchpoint: "web", Metric: NPS, Score: score, Time: t0.Add(-time.Duration(i) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var c Comparison
	if err := e.CompareAt(t0, Selection{Segments: []string{"a"}}, time.Hour, Rest, &c); err != nil {
		t.Fatal(err)
	}
	if c.NPS.Enough || !c.NPS.HasDifference || c.NPS.Difference != 200 || c.NPS.HasInterval || c.NPS.HasPValue {
		t.Fatalf("9 against 9: got %+v, want difference 200 and no test", c.NPS)
	}
	if _, ok := c.NPS.Significant(); ok {
		t.Fatal("9 against 9: significance given")
	}
	for _, seg := range []string{"a", "b"} {
		score := 10
		if seg == "b" {
			score = 0
		}
		if err := e.RecordAt(t0, Event{Segment: seg, Touchpoint: "app", Metric: NPS, Score: score, Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.CompareAt(t0, Selection{Segments: []string{"a"}}, time.Hour, Rest, &c); err != nil {
		t.Fatal(err)
	}
	if sig, ok := c.NPS.Significant(); !c.NPS.Enough || !ok || !sig || c.NPS.PValue > 1e-6 || math.IsNaN(c.NPS.Low) {
		t.Fatalf("10 against 10: got %+v, want a significant difference", c.NPS)
	}
}

// TestSelectionSeesCorrections: selections, comparisons and the matrix count
// a response once however often it is delivered, see its correction and
// its deletion, also in buckets sealed and cached before the correction.
func TestSelectionSeesCorrections(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, MinResponses: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	at := t0.Add(-3 * time.Hour)
	record := func(id string, version uint64, score int, want Outcome) {
		t.Helper()
		ev := Event{Segment: "smb", Touchpoint: "web", Metric: NPS, Score: score, Time: at, ResponseID: id, Version: version}
		if got, err := e.RecordResponseAt(clock.Now(), ev); err != nil || got != want {
			t.Fatalf("%s v%d: got %v, %v, want %v", id, version, got, err, want)
		}
	}
	sel := Selection{Segments: []string{"smb"}}
	check := func(what string, promoters, detractors uint64) {
		t.Helper()
		var r Result
		if err := e.SelectAt(clock.Now(), sel, 24*time.Hour, &r); err != nil {
			t.Fatal(err)
		}
		var c Comparison
		if err := e.CompareAt(clock.Now(), sel, 24*time.Hour, Previous, &c); err != nil {
			t.Fatal(err)
		}
		m, err := e.MatrixAt(clock.Now(), 24*time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		for where, got := range map[string]sketch.NPSSummary{"select": r.NPS, "compare": c.Current.NPS, "matrix": m[0].NPS} {
			if got.Promoters() != promoters || got.Detractors() != detractors {
				t.Fatalf("%s, %s: %d promoters and %d detractors, want %d and %d", what, where, got.Promoters(), got.Detractors(), promoters, detractors)
			}
		}
	}
	record("r-1", 1, 0, Recorded)
	record("r-2", 1, 10, Recorded)
	record("r-1", 1, 0, Duplicate)
	check("delivered twice", 1, 1)
	clock.Advance(2 * time.Hour) // the bucket is sealed; the answer is cached
	check("sealed", 1, 1)
	record("r-1", 2, 9, Updated)
	check("corrected", 2, 0)
	if held, err := e.DeleteResponseAt(clock.Now(), "r-2"); err != nil || !held {
		t.Fatalf("delete r-2: got %v, %v", held, err)
	}
	check("deleted", 1, 0)
}

// spanRes is the resolution of the tier m.span answers a window of w from.
func (m *model) spanRes(now int64, w time.Duration) int64 {
	from, _, _ := m.span(now, w)
	for _, t := range m.tiers {
		res := int64(t.Resolution)
		if from/res > now/res-int64(t.Retention/t.Resolution)-1 {
			return res
		}
	}
	return int64(m.tiers[len(m.tiers)-1].Resolution)
}

// TestCompareYearEarlier: with tiers that keep days for over a year, the
// same window 52 weeks earlier is the baseline; with the default tiers it
// is not kept.
func TestCompareYearEarlier(t *testing.T) {
	clock := window.NewManualClock(t0)
	tiers := []window.Tier{{Resolution: time.Hour, Retention: 48 * time.Hour}, {Resolution: 24 * time.Hour, Retention: 400 * 24 * time.Hour}}
	e, err := New(Config{Clock: clock, Tiers: tiers, MinResponses: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	year := 364 * 24 * time.Hour
	for _, ev := range []struct {
		age   time.Duration
		score int
	}{
		{time.Hour, 10}, {2 * 24 * time.Hour, 9}, // this week
		{year + 11*time.Hour, 0},                // 52 weeks earlier, in its window (which ends at the midnight nearest to now − 52 weeks: only days are kept)
		{year + 8*24*time.Hour, 10},             // 52 weeks and 8 days earlier: outside
		{365*24*time.Hour + 7*24*time.Hour, 10}, // a calendar year and a week: outside
	} {
		if err := e.RecordAt(t0, Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: ev.score, Time: t0.Add(-ev.age)}); err != nil {
			t.Fatal(err)
		}
	}
	var c Comparison
	if err := e.CompareAt(t0, Selection{}, 7*24*time.Hour, YearEarlier, &c); err != nil {
		t.Fatal(err)
	}
	if c.Current.NPS.Responses() != 2 || c.Baseline.NPS.Responses() != 1 || c.Baseline.NPS.Detractors() != 1 || c.NPS.Difference != 200 {
		t.Errorf("got current %+v, baseline %+v, change %+v; want 2 promoters against 1 detractor", c.Current.NPS, c.Baseline.NPS, c.NPS)
	}
	if want := c.Current.From.Add(-year); !c.Baseline.From.Equal(want) {
		t.Errorf("baseline from %v, want %v", c.Baseline.From, want)
	}
	d, _ := New(Config{Clock: clock})
	defer d.Close()
	if err := d.CompareAt(t0, Selection{}, 7*24*time.Hour, YearEarlier, &c); !errors.Is(err, ErrWindow) {
		t.Errorf("default tiers: got %v, want ErrWindow", err)
	}
}

func TestParseBaseline(t *testing.T) {
	for _, b := range []Baseline{Previous, WeekEarlier, Rest, YearEarlier} {
		if got, err := ParseBaseline(b.String()); got != b || err != nil {
			t.Errorf("ParseBaseline(%q) = %v, %v; want %v", b.String(), got, err, b)
		}
	}
	for _, name := range []string{"", "Previous", "month"} {
		if _, err := ParseBaseline(name); !errors.Is(err, ErrBaseline) {
			t.Errorf("ParseBaseline(%q): got %v, want ErrBaseline", name, err)
		}
	}
}
