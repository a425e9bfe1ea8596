package engine

import (
	"fmt"

	"github.com/cxscore/cxscore/internal/timeline"
)

// Period is a calendar period in the engine's time zone (Config.Location),
// as a CX team asks for it: "today", "last week". The zero value is no
// period. Weeks start on Config.WeekStart (Monday, as ISO 8601 has it,
// unless set); quarters are January-March, April-June, July-September
// and October-December. A period is answered from whole local buckets
// (local midnights are bucket edges in every zone), up to now for the
// current one.
type Period uint8

// Calendar periods.
const (
	Today Period = iota + 1
	Yesterday
	ThisWeek
	LastWeek
	ThisMonth
	LastMonth
	ThisQuarter
	LastQuarter
)

var periodNames = [...]string{"", "today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter"}

// String returns the period's name as the HTTP API spells it: "today",
// "this_week", "last_quarter".
func (p Period) String() string {
	if int(p) < len(periodNames) {
		return periodNames[p]
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

// ParsePeriod returns the period named s, as String spells it. The error
// wraps ErrWindow.
func ParsePeriod(s string) (Period, error) {
	for i, n := range periodNames[1:] {
		if s == n {
			return Period(i + 1), nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not a period; want today, yesterday, this_week, last_week, this_month, last_month, this_quarter or last_quarter", ErrWindow, s)
}

// calendar returns the period's kind and how many periods back it is.
func (p Period) calendar() (c timeline.Calendar, back int, ok bool) {
	switch p {
	case Today, Yesterday:
		c = timeline.Days
	case ThisWeek, LastWeek:
		c = timeline.Weeks
	case ThisMonth, LastMonth:
		c = timeline.Months
	case ThisQuarter, LastQuarter:
		c = timeline.Quarters
	default:
		return 0, 0, false
	}
	return c, int(p-1) % 2, true
}
