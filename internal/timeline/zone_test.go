package timeline

import (
	"archive/zip"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// The zones the issue names: DST in America/New_York and Europe/Berlin,
// +5:30 in Asia/Kolkata, +5:45 in Asia/Kathmandu, a 30-minute DST shift in
// Australia/Lord_Howe.
var namedZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"}

// allZones lists the tz database's zones, from Go's own copy.
var allZones = sync.OnceValue(func() []string {
	zones := append([]string(nil), namedZones...)
	r, err := zip.OpenReader(filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		return zones
	}
	defer r.Close()
	for _, f := range r.File {
		if !strings.HasSuffix(f.Name, "/") && strings.Contains(f.Name, "/") && !strings.HasPrefix(f.Name, "Etc/") {
			zones = append(zones, f.Name)
		}
	}
	return zones
})

func mustZone(t interface{ Fatal(...any) }, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// firstLocalMinute is the rule for a day's start, by brute force: the
// first whole minute whose local date is the civil day d or later.
func firstLocalMinute(loc *time.Location, d int64) int64 {
	y, m, dd := civilDate(d)
	want := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	for t := d*day - int64(26*time.Hour); ; t += int64(time.Minute) {
		ly, lm, ld := time.Unix(0, t).In(loc).Date()
		if !time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC).Before(want) {
			return t
		}
	}
}

// transitions returns the instants in [from, to) at which loc's offset
// changes.
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; t.Before(to); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

// Day edges are local midnights, hour edges local whole hours (or the
// instant the clock jumps), every edge of a tier is an edge of the finer
// ones, and Slot and Start agree, around every transition of 2025-2027.
func TestZoneEdges(t *testing.T) {
	for _, name := range namedZones {
		t.Run(name, func(t *testing.T) {
			loc := mustZone(t, name)
			l, err := NewLayout(window.DefaultTiers(), time.Minute, loc)
			if err != nil {
				t.Fatal(err)
			}
			from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			instants := []int64{from.UnixNano()}
			for _, tr := range transitions(loc, from, to) {
				instants = append(instants, tr.UnixNano())
			}
			for _, at := range instants {
				checkEdges(t, l, at-int64(36*time.Hour), at+int64(36*time.Hour))
			}
		})
	}
}

func checkEdges(t *testing.T, l *Layout, from, to int64) {
	t.Helper()
	loc := l.Location()
	for k := 1; k < l.Tiers(); k++ {
		for s := l.Slot(k, from); l.Start(k, s) < to; s++ {
			start, end := l.Start(k, s), l.End(k, s)
			if end < start {
				t.Fatalf("tier %d slot %d: [%s, %s) runs backwards", k, s, stamp(start), stamp(end))
			}
			if !l.Edge(k-1, start) {
				t.Fatalf("tier %d slot %d starts at %s, not an edge of tier %d", k, s, stamp(start), k-1)
			}
			if end > start && l.Slot(k, start) != s || end > start && l.Slot(k, end-1) != s {
				t.Fatalf("tier %d slot %d [%s, %s): Slot of its ends = %d, %d", k, s, stamp(start), stamp(end), l.Slot(k, start), l.Slot(k, end-1))
			}
			lt := time.Unix(0, start).In(loc)
			zoneStart, _ := lt.ZoneBounds()
			jump := zoneStart.UnixNano() == start
			switch l.Tier(k).Resolution {
			case time.Hour:
				if lt.Minute() != 0 && !jump {
					t.Fatalf("hour slot %d starts at %s, local %s: not a whole local hour", s, stamp(start), lt)
				}
				if lt.Minute() == 0 && end-start != int64(time.Hour) {
					// A whole local hour is an hour long unless the clock
					// jumps inside it (Lord Howe's 30-minute shifts).
					if _, ze := lt.ZoneBounds(); ze.IsZero() || ze.UnixNano() >= end || ze.UnixNano() <= start {
						t.Fatalf("hour slot %d [%s, %s) is %v long, with no jump inside", s, stamp(start), stamp(end), time.Duration(end-start))
					}
				}
			case 24 * time.Hour:
				d := l.Day(start)
				if want := firstLocalMinute(loc, d); start != want || l.DayStart(d) != start {
					t.Fatalf("day slot %d starts at %s (local %s), want %s, the first minute of its date", s, stamp(start), lt, stamp(want))
				}
			}
		}
	}
	// Every local whole hour is an hour edge.
	for x := from - floorMod(from, int64(15*time.Minute)); x < to; x += int64(15 * time.Minute) {
		if time.Unix(0, x).In(loc).Minute() == 0 && !l.Edge(1, x) {
			t.Fatalf("%s (local %s) is a whole local hour but not an hour edge", stamp(x), time.Unix(0, x).In(loc))
		}
	}
}

// The same for random zones of the tz database at random times, and Day
// against the local date.
func TestZoneEdgesAnyZone(t *testing.T) {
	zones := allZones()
	rapid.Check(t, func(rt *rapid.T) {
		name := rapid.SampledFrom(zones).Draw(rt, "zone")
		loc := mustZone(rt, name)
		l, err := NewLayout(window.DefaultTiers(), time.Minute, loc)
		if err != nil {
			rt.Fatalf("%s: %v", name, err)
		}
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() + rapid.Int64Range(0, 4*365*day).Draw(rt, "at")
		if trs := transitions(loc, time.Unix(0, at), time.Unix(0, at+400*day)); len(trs) > 0 && rapid.Bool().Draw(rt, "near a transition") {
			at = trs[0].UnixNano() + rapid.Int64Range(-2*day, 2*day).Draw(rt, "from it")
		}
		checkEdgesRapid(rt, l, at-int64(30*time.Hour), at+int64(30*time.Hour))
		d := l.Day(at)
		if s, e := l.DayStart(d), l.DayStart(d+1); at < s || at >= e {
			rt.Fatalf("%s: Day(%s) = %d, which covers [%s, %s)", name, stamp(at), d, stamp(s), stamp(e))
		}
	})
}

func checkEdgesRapid(rt *rapid.T, l *Layout, from, to int64) {
	loc := l.Location()
	for k := 1; k < l.Tiers(); k++ {
		for s := l.Slot(k, from); l.Start(k, s) < to; s++ {
			start, end := l.Start(k, s), l.End(k, s)
			if end < start || !l.Edge(k-1, start) {
				rt.Fatalf("%s tier %d slot %d [%s, %s): backwards or not an edge of tier %d", loc, k, s, stamp(start), stamp(end), k-1)
			}
			if end > start && (l.Slot(k, start) != s || l.Slot(k, end-1) != s) {
				rt.Fatalf("%s tier %d slot %d: Slot and Start disagree", loc, k, s)
			}
			if l.Tier(k).Resolution == 24*time.Hour {
				if want := firstLocalMinute(loc, l.Day(start)); start != want {
					rt.Fatalf("%s: day slot %d starts at %s (local %s), want %s (local %s)", loc, s, stamp(start),
						time.Unix(0, start).In(loc), stamp(want), time.Unix(0, want).In(loc))
				}
			}
		}
	}
}

// Calendar periods are the local dates Go's time package gives.
func TestCalendarPeriod(t *testing.T) {
	zones := allZones()
	rapid.Check(t, func(rt *rapid.T) {
		name := rapid.SampledFrom(append(namedZones, rapid.SampledFrom(zones).Draw(rt, "any zone"))).Draw(rt, "zone")
		loc := mustZone(rt, name)
		l, err := NewLayout(window.DefaultTiers(), time.Minute, loc)
		if err != nil {
			rt.Fatal(err)
		}
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() + rapid.Int64Range(0, 3*365*day).Draw(rt, "now")
		ws := time.Weekday(rapid.IntRange(0, 6).Draw(rt, "week start"))
		y, m, d := time.Unix(0, now).In(loc).Date()
		today := civilDay(y, m, d)
		wd := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
		week := today - int64((wd-ws+7)%7)
		q := time.Month((int(m)-1)/3*3 + 1)
		cases := []struct {
			c          Calendar
			back       int
			first, end int64
		}{
			{Days, 0, today, today + 1},
			{Days, 1, today - 1, today},
			{Weeks, 0, week, week + 7},
			{Weeks, 1, week - 7, week},
			{Months, 0, civilDay(y, m, 1), civilDay(y, m+1, 1)},
			{Months, 1, civilDay(y, m-1, 1), civilDay(y, m, 1)},
			{Quarters, 0, civilDay(y, q, 1), civilDay(y, q+3, 1)},
			{Quarters, 1, civilDay(y, q-3, 1), civilDay(y, q, 1)},
		}
		for _, c := range cases {
			from, to := l.CalendarPeriod(now, c.c, c.back, ws)
			if want, wantTo := firstLocalMinute(loc, c.first), firstLocalMinute(loc, c.end); from != want || to != wantTo {
				rt.Fatalf("%s at %s (local %s): period %d back %d: [%s, %s), want [%s, %s)", name, stamp(now), time.Unix(0, now).In(loc),
					c.c, c.back, time.Unix(0, from).In(loc), time.Unix(0, to).In(loc), time.Unix(0, want).In(loc), time.Unix(0, wantTo).In(loc))
			}
		}
	})
}
