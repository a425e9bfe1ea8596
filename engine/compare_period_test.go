package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// civil is the civil day number of a local date, for counting days the way
// the calendar does (DST days are 23 or 25 hours).
func civil(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// TestComparePeriodsMatchModel checks SelectPeriodAt, ComparePeriodAt
// against every baseline, MatrixPeriodAt and RollupsPeriodAt against brute
// force over the events, with the periods and their baselines computed by
// Go's time package in a zone: this month so far against all of last
// month, today against the same weekday a week or 52 weeks earlier, a
// month against the same month a year earlier. A baseline older than the
// day tier keeps is ErrWindow, and nothing else is.
func TestComparePeriodsMatchModel(t *testing.T) {
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"}
	rapid.Check(t, func(t *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(t, "zone"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.Int64Range(0, int64(365*24*time.Hour)).Draw(t, "now")))
		days := rapid.SampledFrom([]int{61, 184, 400}).Draw(t, "days kept")
		tiers := window.DefaultTiers()
		tiers[len(tiers)-1].Retention = time.Duration(days) * 24 * time.Hour
		ws := rapid.IntRange(0, 6).Draw(t, "week start")
		clock := window.NewManualClock(now)
		cfg := Config{Location: loc, WeekStart: ws, Tiers: tiers, Clock: clock, MinResponses: rapid.IntRange(1, 3).Draw(t, "min responses")}
		if rapid.Bool().Draw(t, "no cache") {
			cfg.CacheBytes = -1
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		m := &model{tiers: tiers, minResp: uint64(cfg.MinResponses), keys: map[Key]bool{}}
		for range rapid.IntRange(0, 120).Draw(t, "events") {
			metric := Metric(rapid.IntRange(1, 3).Draw(t, "metric"))
			lo, hi := metric.Scale()
			ev := Event{
				Segment:    rapid.SampledFrom(compareSegments[:2]).Draw(t, "segment"),
				Touchpoint: rapid.SampledFrom(compareTouchpoints[:2]).Draw(t, "touchpoint"),
				Metric:     metric, Score: rapid.IntRange(lo, hi).Draw(t, "score"),
				Time: now.Add(-time.Duration(rapid.Int64Range(-int64(30*time.Second), int64(rapid.SampledFrom([]time.Duration{
					3 * 24 * time.Hour, 70 * 24 * time.Hour, 420 * 24 * time.Hour}).Draw(t, "age range"))).Draw(t, "age"))),
			}
			if rapid.Bool().Draw(t, "identified") {
				ev.CustomerID = customers[rapid.IntRange(0, 50).Draw(t, "customer")]
			}
			if e.RecordAt(now, ev) == nil { // (too old for the tiers: rejected)
				m.accept(ev)
			}
		}

		local := now.In(loc)
		y, mo, d := local.Date()
		midnight := func(y int, m time.Month, d int) time.Time {
			t0 := time.Date(y, m, d, 0, 0, 0, 0, loc)
			if t0.Day() != time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Day() {
				t.Skip("midnight skipped by the clock")
			}
			return t0
		}
		wd := ((int(local.Weekday())+6)%7 - ws + 7) % 7 // days since the week began (WeekStart counts from Monday)
		q := time.Month((int(mo)-1)/3*3 + 1)
		// bounds returns the period of its kind back periods before the
		// current one.
		bounds := func(p Period, back int) (time.Time, time.Time) {
			switch p {
			case Today, Yesterday:
				return midnight(y, mo, d-back), midnight(y, mo, d-back+1)
			case ThisWeek, LastWeek:
				return midnight(y, mo, d-wd-7*back), midnight(y, mo, d-wd-7*back+7)
			case ThisMonth, LastMonth:
				return midnight(y, mo-time.Month(back), 1), midnight(y, mo-time.Month(back)+1, 1)
			}
			return midnight(y, q-time.Month(3*back), 1), midnight(y, q-time.Month(3*back)+3, 1)
		}
		earlier := func(t0 time.Time, years, days int) time.Time {
			y, m, d := t0.Date()
			return midnight(y-years, m, d-days)
		}
		kept := func(from time.Time) bool { return civil(local)-civil(from) <= days } // the current day and days more
		ends := func(from, to time.Time) (int64, int64) {                             // what the engine covers of [from, to) at now
			if to.After(now) {
				to = now
			}
			return from.UnixNano(), to.UnixNano()
		}

		p := Period(rapid.IntRange(1, 8).Draw(t, "period"))
		against := Baseline(rapid.IntRange(1, 4).Draw(t, "against"))
		sel := Selection{
			Segments:    rapid.SliceOfNDistinct(rapid.SampledFrom(append(compareSegments[:2:2], All)), 0, 2, rapid.ID[string]).Draw(t, "segments"),
			Touchpoints: rapid.SliceOfNDistinct(rapid.SampledFrom(compareTouchpoints[:2]), 0, 2, rapid.ID[string]).Draw(t, "touchpoints"),
		}
		what := fmt.Sprintf("%v at %v, %d days kept: %+v against %s", p, local, days, sel, against)
		a, b := bounds(p, int(p-1)%2)
		from, to := ends(a, b)
		partial := b.After(now)

		var r Result
		err = e.SelectPeriodAt(now, sel, p, &r)
		if !kept(a) {
			if !errors.Is(err, ErrWindow) {
				t.Fatalf("%s: period from %v not kept, got %v, want ErrWindow", what, a, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: select: %v", what, err)
		}
		checkResult(t, what+": select", m, sel.matches, from, to, now.UnixNano(), &r)
		if r.Partial != partial {
			t.Fatalf("%s: select partial %t, want %t", what, r.Partial, partial)
		}

		// The baseline, as the calendar has it.
		long := p >= ThisMonth
		ba, bb, bin := a, b, sel.matches
		switch against {
		case Previous:
			ba, bb = bounds(p, int(p-1)%2+1)
		case WeekEarlier:
			ba, bb = earlier(a, 0, 7), earlier(b, 0, 7)
		case YearEarlier:
			if long {
				ba, bb = earlier(a, 1, 0), earlier(b, 1, 0)
			} else {
				ba, bb = earlier(a, 0, 364), earlier(b, 0, 364)
			}
		case Rest:
			bin = func(k Key) bool { return !sel.matches(k) }
		}
		var c Comparison
		err = e.ComparePeriodAt(now, sel, p, against, &c)
		switch {
		case against == WeekEarlier && long:
			if !errors.Is(err, ErrBaseline) {
				t.Fatalf("%s: got %v, want ErrBaseline", what, err)
			}
			return
		case !kept(ba):
			if !errors.Is(err, ErrWindow) {
				t.Fatalf("%s: baseline from %v not kept, got %v, want ErrWindow", what, ba, err)
			}
			return
		case err != nil:
			t.Fatalf("%s: %v", what, err)
		}
		bfrom, bto := ends(ba, bb)
		checkResult(t, what+": current", m, sel.matches, from, to, now.UnixNano(), &c.Current)
		checkResult(t, what+": baseline", m, bin, bfrom, bto, now.UnixNano(), &c.Baseline)
		if c.Current.Partial != partial || c.Baseline.Partial != (partial && against == Rest) {
			t.Fatalf("%s: partial %t and %t", what, c.Current.Partial, c.Baseline.Partial)
		}
		live := func(to int64) int64 { // the end a live answer reads to
			if to == now.UnixNano() {
				return now.Truncate(time.Minute).Add(time.Minute).UnixNano()
			}
			return to
		}
		cur, _ := m.selResult(sel.matches, from, live(to))
		base, _ := m.selResult(bin, bfrom, live(bto))
		checkMetric(t, what+": nps", c.NPS, cur.NPS().Compare(base.NPS()), cur.NPS().Responses() >= m.minResp && base.NPS().Responses() >= m.minResp)
		checkMetric(t, what+": csat", c.CSAT, cur.CSAT().Compare(base.CSAT()), cur.CSAT().Responses() >= m.minResp && base.CSAT().Responses() >= m.minResp)
		checkMetric(t, what+": ces", c.CES, cur.CES().Compare(base.CES()), cur.CES().Responses() >= m.minResp && base.CES().Responses() >= m.minResp)

		// The matrix and its roll-ups over the period.
		rs, err := e.MatrixPeriodAt(now, p, nil)
		if err != nil {
			t.Fatalf("%s: matrix: %v", what, err)
		}
		keys := m.sortedKeys()
		if len(rs) != len(keys) {
			t.Fatalf("%s: matrix of %d keys, want %d", what, len(rs), len(keys))
		}
		for i, k := range keys {
			checkResult(t, fmt.Sprintf("%s: matrix %v", what, k), m, func(o Key) bool { return o == k }, from, to, now.UnixNano(), &rs[i])
			if rs[i].Partial != partial {
				t.Fatalf("%s: matrix %v partial %t", what, k, rs[i].Partial)
			}
		}
		rus, err := e.RollupsPeriodAt(now, p, nil)
		if err != nil {
			t.Fatalf("%s: roll-ups: %v", what, err)
		}
		for _, ru := range rus {
			k := Key{ru.Segment, ru.Touchpoint}
			in := func(o Key) bool {
				return (k.Segment == All || o.Segment == k.Segment) && (k.Touchpoint == All || o.Touchpoint == k.Touchpoint)
			}
			checkResult(t, fmt.Sprintf("%s: roll-up %v", what, k), m, in, from, to, now.UnixNano(), &ru)
			if ru.Partial != partial {
				t.Fatalf("%s: roll-up %v partial %t", what, k, ru.Partial)
			}
		}
	})
}
