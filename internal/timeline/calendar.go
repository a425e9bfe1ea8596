package timeline

import (
	"fmt"
	"time"

	"github.com/cxscore/cxscore/window"
)

const day = int64(24 * time.Hour)

// DayStart returns the start of civil day d (days since 1970-01-01) in the
// layout's zone: the first time the zone's clock reads midnight of that
// date, moved up to the next edge of the tier days are built from should
// the clock skip midnight. Days are 23, 24 or 25 hours long across DST
// changes (23.5 or 24.5 in Australia/Lord_Howe); every day edge is an edge
// of a local day tier.
func (l *Layout) DayStart(d int64) int64 {
	if l.fixedOff {
		return l.snap(l.day, d*day-l.off)
	}
	return l.snap(l.day, l.firstReach(d*day))
}

// Day returns the civil day (days since 1970-01-01) that holds t in the
// layout's zone.
func (l *Layout) Day(t int64) int64 {
	var d int64
	if l.fixedOff {
		d = floorDiv(t+l.off, day)
	} else {
		d = floorDiv(l.wall(t), day)
	}
	for l.DayStart(d) > t {
		d--
	}
	for l.DayStart(d+1) <= t {
		d++
	}
	return d
}

// civilDay returns the civil day number of a date (normalized as
// time.Date normalizes it: month 13 is January of the next year).
func civilDay(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

func civilDate(d int64) (int, time.Month, int) { return time.Unix(d*86400, 0).UTC().Date() }

// Calendar is a kind of calendar period.
type Calendar uint8

// Calendar periods: local days, weeks from a start weekday, months and
// quarters of the Gregorian calendar.
const (
	Days Calendar = iota
	Weeks
	Months
	Quarters
)

// weekOf returns the first civil day of the week that holds civil day d,
// weeks starting on weekStart.
func weekOf(d int64, weekStart time.Weekday) int64 {
	// 1970-01-01 was a Thursday.
	return d - floorMod(d+int64(time.Thursday)-int64(weekStart), 7)
}

// CalendarPeriod returns the calendar period of kind c that is back periods before
// the one holding now (0: this one, 1: the last one), as [from, to): from
// and to are local midnights, to may be after now.
func (l *Layout) CalendarPeriod(now int64, c Calendar, back int, weekStart time.Weekday) (from, to int64) {
	d := l.Day(now)
	var first, next int64 // civil days
	switch c {
	case Days:
		first = d - int64(back)
		next = first + 1
	case Weeks:
		first = weekOf(d, weekStart) - 7*int64(back)
		next = first + 7
	case Months, Quarters:
		y, m, _ := civilDate(d)
		months := 1
		if c == Quarters {
			months = 3
			m -= (m - 1) % 3
		}
		m -= time.Month(months * back)
		first, next = civilDay(y, m, 1), civilDay(y, m+time.Month(months), 1)
	}
	return l.DayStart(first), l.DayStart(next)
}

// Grid is the points of a trend: steps of one length, numbered.
type Grid struct {
	l      *Layout
	step   time.Duration
	months bool
	days   int64 // a step of whole days: that many
	align  int64 // days: weeks start on the week start
	k      int   // shorter steps: nb buckets of tier k
	nb     int64
}

// Grid returns the grid of trend steps of length step: a step that is a
// whole number of days is that many local days (a multiple of 7 starts on
// weekStart); with months, each step is a calendar month; a shorter step
// must be a whole number of buckets of a tier, and steps are groups of them
// numbered from the Unix epoch (local hours for an hour step). Errors wrap
// window.ErrWindow and say what would work.
func (l *Layout) Grid(step time.Duration, months bool, weekStart time.Weekday) (Grid, error) {
	g := Grid{l: l, step: step, months: months, k: -1}
	switch {
	case months:
	case step <= 0:
		return g, fmt.Errorf("%w: step %v, want > 0", window.ErrWindow, step)
	case int64(step)%day == 0:
		g.days = int64(step) / day
		if g.days%7 == 0 {
			g.align = int64(time.Thursday) - int64(weekStart) // 1970-01-01 was a Thursday
		}
	default:
		for i, t := range l.tiers {
			if int64(step)%t.res == 0 {
				g.k = i
			}
		}
		if g.k < 0 {
			fine := l.Tier(0).Resolution
			return g, fmt.Errorf("%w: step %v is not a multiple of the finest resolution %v; use a multiple of it", window.ErrWindow, step, fine)
		}
		g.nb = int64(step) / l.tiers[g.k].res
	}
	return g, nil
}

// Step returns the number of the step that holds t.
func (g Grid) Step(t int64) int64 {
	switch {
	case g.months:
		y, m, _ := civilDate(g.l.Day(t))
		return int64(y)*12 + int64(m) - 1
	case g.days > 0:
		return floorDiv(g.l.Day(t)+g.align, g.days)
	}
	return floorDiv(g.l.Slot(g.k, t), g.nb)
}

// Start returns the start of step n.
func (g Grid) Start(n int64) int64 {
	switch {
	case g.months:
		return g.l.DayStart(civilDay(int(floorDiv(n, 12)), time.Month(floorMod(n, 12)+1), 1))
	case g.days > 0:
		return g.l.DayStart(n*g.days - g.align)
	}
	return g.l.Start(g.k, n*g.nb)
}

// Point is one point of a trend: [From, To), and whether it is less than
// its whole step (the current one, or one cut by the range's ends).
type Point struct {
	From, To int64
	Partial  bool
}

// Steps returns the first and last steps of g that meet [from, to) as of
// now, checking that the tiers hold the first (and so every) point. There
// are at most 10,000. Errors wrap window.ErrWindow and say what would work.
func (l *Layout) Steps(now, from, to int64, g Grid) (first, last int64, err error) {
	if from >= to {
		return 0, 0, fmt.Errorf("%w: empty range [%s, %s)", window.ErrWindow, stamp(from), stamp(to))
	}
	first, last = g.Step(from), g.Step(to-1)
	if n := last - first + 1; n > 10_000 {
		return 0, 0, fmt.Errorf("%w: %d points of %v, want at most 10000; use a longer step", window.ErrWindow, n, g.step)
	}
	if _, err := l.Period(now, from, min(g.Start(first+1), to)); err != nil {
		return 0, 0, fmt.Errorf("%w (the first point of the trend, from %s)", err, stamp(from))
	}
	return first, last, nil
}

// Point returns step n of g cut to [from, to). It is empty (From == To)
// for a step the clock skipped.
func (g Grid) Point(n, from, to int64) Point {
	a, b := g.Start(n), g.Start(n+1)
	p := Point{From: max(a, from), To: max(min(b, to), max(a, from))}
	p.Partial = p.From != a || p.To != b
	return p
}

// Earlier returns the start of the local day years years and days days
// before the one that holds t: the same date years back (February 29 of a
// year that has none is March 1), then days days earlier. Calendar
// baselines move a period with it: a day or week 364 days back, a month
// or quarter 1 year back.
func (l *Layout) Earlier(t int64, years, days int) int64 {
	y, m, d := civilDate(l.Day(t))
	return l.DayStart(civilDay(y-years, m, d) - int64(days))
}
