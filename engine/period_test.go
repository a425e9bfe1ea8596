package engine

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// Calendar periods in a zone against Go's time package: From is the local
// midnight that starts the period (time.Date in the zone), To is its end or
// now, and the counts are exactly the events in [From, To), with clocks
// around DST transitions and late events.
func TestPeriodsMatchTimePackage(t *testing.T) {
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Sao_Paulo", "Pacific/Chatham"}
	rapid.Check(t, func(rt *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(rt, "zone"))
		if err != nil {
			rt.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.Int64Range(0, int64(365*24*time.Hour)).Draw(rt, "now")))
		if _, end := now.In(loc).ZoneBounds(); !end.IsZero() && rapid.Bool().Draw(rt, "near a transition") {
			now = end.Add(time.Duration(rapid.Int64Range(-int64(3*24*time.Hour), int64(3*24*time.Hour)).Draw(rt, "from it")))
		}
		ws := rapid.IntRange(0, 6).Draw(rt, "week start")
		clock := window.NewManualClock(now.Add(-60 * 24 * time.Hour))
		e, err := New(Config{Location: loc, WeekStart: ws, Clock: clock, CacheBytes: -1})
		if err != nil {
			rt.Fatal(err)
		}
		defer e.Close()
		var times []time.Time
		for clock.Now().Before(now) {
			for range rapid.IntRange(0, 3).Draw(rt, "events") {
				at := clock.Now().Add(-time.Duration(rapid.Int64Range(0, int64(30*time.Hour)).Draw(rt, "late by")))
				if e.RecordAt(clock.Now(), Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: 9, Time: at}) == nil {
					times = append(times, at)
				}
			}
			clock.Advance(time.Duration(rapid.Int64Range(int64(time.Minute), int64(7*time.Hour)).Draw(rt, "advance")))
		}
		clock.Set(now)
		y, m, d := now.In(loc).Date()
		wd := int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()+6) % 7 // days after Monday
		back := (wd - ws + 7) % 7
		q := time.Month((int(m)-1)/3*3 + 1)
		midnight := func(y int, m time.Month, d int) time.Time {
			t := time.Date(y, m, d, 0, 0, 0, 0, loc)
			if t.In(loc).Day() != time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Day() {
				rt.Skip("midnight skipped by the clock") // (Go normalizes it into the day before)
			}
			return t
		}
		cases := map[Period][2]time.Time{
			Today:       {midnight(y, m, d), midnight(y, m, d+1)},
			Yesterday:   {midnight(y, m, d-1), midnight(y, m, d)},
			ThisWeek:    {midnight(y, m, d-back), midnight(y, m, d-back+7)},
			LastWeek:    {midnight(y, m, d-back-7), midnight(y, m, d-back)},
			ThisMonth:   {midnight(y, m, 1), midnight(y, m+1, 1)},
			LastMonth:   {midnight(y, m-1, 1), midnight(y, m, 1)},
			ThisQuarter: {midnight(y, q, 1), midnight(y, q+3, 1)},
		}
		for p, want := range cases {
			var r Result
			err := e.QueryAt(now, Query{Segment: "s", Touchpoint: "t", Period: p}, &r)
			if want[0].Before(now.Add(-61 * 24 * time.Hour)) {
				continue // beyond the default retention: either answer is checked elsewhere
			}
			if err != nil {
				rt.Fatalf("%v at %v (%v): %v", p, now.In(loc), loc, err)
			}
			to := want[1]
			if !to.Before(now) {
				to = now
			}
			if !r.From.Equal(want[0]) || !r.To.Equal(to) {
				rt.Fatalf("%v at %v: covers [%v, %v), want [%v, %v)", p, now.In(loc), r.From, r.To, want[0], to)
			}
			if r.Partial != want[1].After(now) {
				rt.Fatalf("%v at %v: partial %v", p, now.In(loc), r.Partial)
			}
			n := uint64(0)
			for _, at := range times {
				if !at.Before(r.From) && (at.Before(r.To) || r.To.Equal(now) && at.Before(now.Truncate(time.Minute).Add(time.Minute))) {
					n++
				}
			}
			if got := r.NPS.Responses(); got != n {
				rt.Fatalf("%v at %v [%v, %v): %d responses, want %d", p, now.In(loc), r.From, r.To, got, n)
			}
		}
	})
}

// The default tiers answer every period up to last month on every day of
// a year (leap day included), in zones with DST and odd offsets, at the
// last minute of the day; QuarterTiers answer the quarters too.
func TestTiersAnswerPeriodsEveryDay(t *testing.T) {
	for _, name := range []string{"UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			tiers   []window.Tier
			periods []Period
		}{
			{nil, []Period{Today, Yesterday, ThisWeek, LastWeek, ThisMonth, LastMonth}},
			{window.QuarterTiers(), []Period{Today, Yesterday, ThisWeek, LastWeek, ThisMonth, LastMonth, ThisQuarter, LastQuarter}},
		} {
			clock := window.NewManualClock(time.Date(2028, 1, 1, 23, 59, 0, 0, loc))
			e, err := New(Config{Clock: clock, Location: loc, Tiers: tc.tiers, CacheBytes: -1})
			if err != nil {
				t.Fatal(err)
			}
			for d := time.Date(2028, 1, 1, 23, 59, 0, 0, loc); d.Year() == 2028; d = d.AddDate(0, 0, 1) {
				for _, p := range tc.periods {
					var r Result
					if err := e.QueryAt(d, Query{Period: p}, &r); err != nil {
						t.Fatalf("%s, tiers %v, at %s: %v: %v", name, tc.tiers, d, p, err)
					}
				}
			}
			e.Close()
		}
	}
}

// A polled query of any window, period or range allocates nothing, in a
// zone with DST as in UTC, for a key and for a roll-up.
func TestPolledPeriodsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, ny)
	clock := window.NewManualClock(now)
	e, err := New(Config{Clock: clock, Location: ny})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for h := range 60 * 24 {
		at := now.Add(-time.Duration(h) * time.Hour)
		for _, seg := range []string{"enterprise", "smb"} {
			if err := e.Record(Event{CustomerID: fmt.Sprint("c-", h%97), Segment: seg, Touchpoint: "web", Metric: NPS, Score: h % 11, Time: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	queries := map[string]Query{
		"24h":          {Window: 24 * time.Hour},
		"7d":           {Window: 7 * 24 * time.Hour},
		"30d":          {Segment: "smb", Window: 30 * 24 * time.Hour},
		"today":        {Period: Today},
		"this week":    {Segment: "enterprise", Touchpoint: "web", Period: ThisWeek},
		"this month":   {Period: ThisMonth},
		"last month":   {Segment: "smb", Period: LastMonth},
		"a range":      {From: now.AddDate(0, 0, -10), To: now.AddDate(0, 0, -3)},
		"a range, now": {Touchpoint: "web", From: now.AddDate(0, 0, -2)},
	}
	for name, q := range queries {
		var r Result
		if err := e.Query(q, &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e.cache.c.Wait() // ristretto applies Sets asynchronously
		if n := testing.AllocsPerRun(100, func() { e.Query(q, &r) }); n != 0 {
			t.Errorf("%s: got %v allocs, want 0", name, n)
		}
	}
	// Selections, comparisons and the matrix over periods too.
	sel := Selection{Segments: []string{"smb"}}
	var r Result
	var c Comparison
	dst := make([]Result, 0, 8)
	for name, f := range map[string]func() error{
		"select this month":                      func() error { return e.SelectPeriodAt(now, sel, ThisMonth, &r) },
		"this month against last month":          func() error { return e.ComparePeriodAt(now, sel, ThisMonth, Previous, &c) },
		"today against the same day a week back": func() error { return e.ComparePeriodAt(now, sel, Today, WeekEarlier, &c) },
		"the matrix of last month":               func() error { _, err := e.MatrixPeriodAt(now, LastMonth, dst[:0]); return err },
		"the roll-ups of this week":              func() error { _, err := e.RollupsPeriodAt(now, ThisWeek, dst[:0]); return err },
	} {
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e.cache.c.Wait()
		if n := testing.AllocsPerRun(100, func() { f() }); n != 0 {
			t.Errorf("%s: got %v allocs, want 0", name, n)
		}
	}
}

// Sliding windows in a zone against Go's time package: To is now, From is
// an edge of the tier the window needs, in local time (a minute; a local
// hour, which in Lord Howe or Kathmandu is not a UTC hour; a local
// midnight, 23 or 25 hours apart across DST), nearest to now − W within
// half of that tier's bucket, and the counts are exactly the events in
// [From, To) (and in the rest of the minute that holds now, as live
// answers read it).
func TestWindowsInZonesMatchModel(t *testing.T) {
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"}
	windows := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour,
		24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 61 * 24 * time.Hour}
	rapid.Check(t, func(rt *rapid.T) {
		loc, err := time.LoadLocation(rapid.SampledFrom(zones).Draw(rt, "zone"))
		if err != nil {
			rt.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.Int64Range(0, int64(365*24*time.Hour)).Draw(rt, "now")))
		if _, end := now.In(loc).ZoneBounds(); !end.IsZero() && rapid.Bool().Draw(rt, "near a transition") {
			now = end.Add(time.Duration(rapid.Int64Range(-int64(50*time.Hour), int64(50*time.Hour)).Draw(rt, "from it")))
		}
		clock := window.NewManualClock(now.Add(-62 * 24 * time.Hour))
		e, err := New(Config{Location: loc, Clock: clock, CacheBytes: -1})
		if err != nil {
			rt.Fatal(err)
		}
		defer e.Close()
		var times []time.Time
		for clock.Now().Before(now) {
			for range rapid.IntRange(0, 3).Draw(rt, "events") {
				at := clock.Now().Add(-time.Duration(rapid.Int64Range(0, int64(30*time.Hour)).Draw(rt, "late by")))
				if e.RecordAt(clock.Now(), Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: 9, Time: at}) == nil {
					times = append(times, at)
				}
			}
			step := rapid.SampledFrom([]time.Duration{time.Minute, 17 * time.Minute, 3 * time.Hour, 11 * time.Hour}).Draw(rt, "advance")
			clock.Advance(step)
		}
		clock.Set(now)
		for range 3 {
			w := rapid.SampledFrom(windows).Draw(rt, "window")
			var r Result
			if err := e.QueryAt(now, Query{Segment: "s", Touchpoint: "t", Window: w}, &r); err != nil {
				rt.Fatalf("%v at %v: %v", w, now.In(loc), err)
			}
			if !r.To.Equal(now) {
				rt.Fatalf("%v at %v: To %v, want now", w, now.In(loc), r.To)
			}
			if r.From.Location() != loc || r.To.Location() != loc {
				rt.Fatalf("%v: From and To in %v and %v, want %v", w, r.From.Location(), r.To.Location(), loc)
			}
			lf, far := r.From.In(loc), now.Add(-w)
			off := r.From.Sub(far).Abs()
			_, offset := lf.Zone()
			localMinute := lf.Second() == 0 && lf.Nanosecond() == 0
			var ok bool
			switch {
			case localMinute && off <= 30*time.Second && w <= 2*time.Hour:
				ok = true // the minute tier
			case localMinute && lf.Minute() == 0 && off <= 45*time.Minute && w >= 2*time.Hour && w <= 48*time.Hour:
				ok = true // a local hour (Lord Howe's hours around its 30-minute shift are 30 or 90 minutes)
			case lf.Hour() == 0 && lf.Minute() == 0 && localMinute && off <= 13*time.Hour && w >= 48*time.Hour:
				ok = true // a local midnight
			}
			if !ok {
				rt.Fatalf("%v at %v: From %v (offset %ds) is %v from now − W (%v), not the nearest edge of a tier that holds it",
					w, now.In(loc), lf, offset, off, far.In(loc))
			}
			n := uint64(0)
			live := e.layout.End(0, e.layout.Slot(0, now.UnixNano()))
			for _, at := range times {
				if !at.Before(r.From) && at.UnixNano() < live {
					n++
				}
			}
			if got := r.NPS.Responses(); got != n {
				rt.Fatalf("%v at %v [%v, %v): %d responses, want %d", w, now.In(loc), r.From, r.To, got, n)
			}
		}
	})
}
