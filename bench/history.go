package bench

import (
	"time"

	"github.com/cxscore/cxscore/engine"
)

// History is simulated past traffic to query: 34 days of it, recorded in
// arrival order with each event's arrival as "now", so that every tier of
// every key fills the way it would in production. Old history runs at a
// lower rate than the last hour, which keeps building it to a few seconds;
// coverage events make sure every key has a bucket in every day and every
// hour, as a month of real traffic would.
type History struct {
	// End is the queries' "now": the last event arrives just before it.
	End time.Time
	// DayRate is how many workload events arrive per simulated hour from 34
	// days to 48 hours before End.
	DayRate int
	// HourRate is how many arrive per simulated minute from 48 hours before
	// End until the full-rate part.
	HourRate int
	// FullMinutes is how many minutes before End the workload runs at its
	// own rate (Config.Rate events a second).
	FullMinutes int
	// Coverage adds one event for every key every day before the last 48
	// hours, and every hour within them.
	Coverage bool
}

// DefaultHistory is the history the query benchmarks build: a month of
// 500 events an hour, two days of 100 a minute and the last hour at 1,000 a
// second, about 4.4 million events. End is mid-minute, mid-hour and
// mid-day, so no window is aligned to a bucket edge.
func DefaultHistory() History {
	return History{
		End:         time.Date(2026, 4, 6, 10, 37, 30, 0, time.UTC),
		DayRate:     500,
		HourRate:    100,
		FullMinutes: 61,
		Coverage:    true,
	}
}

// Replay calls record for every event of h, drawn from w, in arrival order:
// record's now is the event's arrival. The order and the events are the
// same on every call.
func (h History) Replay(w *Workload, record func(now time.Time, ev *engine.Event)) {
	var ev engine.Event
	s := w.Stream(time.Time{})
	keys := make([]engine.Key, 0, len(w.segments)*len(w.touch))
	for _, seg := range w.segments {
		for _, tp := range w.touch {
			keys = append(keys, engine.Key{Segment: seg, Touchpoint: tp})
		}
	}
	// fill records n workload events and cover coverage events over
	// [from, from+d), evenly spread and interleaved.
	next := 0 // next key to cover
	fill := func(from time.Time, d time.Duration, n, cover int) {
		total := n + cover
		for i := range total {
			now := from.Add(time.Duration(i) * d / time.Duration(total))
			s.Next(&ev) // its customer, metric and score
			if (i+1)*cover/total > i*cover/total {
				k := keys[next%len(keys)]
				ev.Segment, ev.Touchpoint = k.Segment, k.Touchpoint
				next++
			}
			ev.Time = now
			record(now, &ev)
		}
	}
	// share is the number of keys to cover in part i of parts.
	share := func(i, parts int) int {
		if !h.Coverage {
			return 0
		}
		return len(keys)*(i+1)/parts - len(keys)*i/parts
	}
	full := h.End.Add(-time.Duration(h.FullMinutes) * time.Minute)
	hours := h.End.Add(-48 * time.Hour).Truncate(time.Hour)
	days := h.End.Add(-34 * 24 * time.Hour).Truncate(time.Hour)
	// A month of days: DayRate events an hour and each key once a day.
	for hour := days; hour.Before(hours); hour = hour.Add(time.Hour) {
		fill(hour, time.Hour, h.DayRate, share(hour.Hour(), 24))
	}
	// Two days of minutes: HourRate events a minute and each key once an hour.
	next = 0
	for minute := hours; minute.Before(full); minute = minute.Add(time.Minute) {
		fill(minute, time.Minute, h.HourRate, share(minute.Minute(), 60))
	}
	// The last FullMinutes at the workload's own rate, late events and all.
	fs := w.Stream(full)
	for n := h.FullMinutes * 60 * w.config.Rate; n > 0; n-- {
		now := fs.Next(&ev)
		if !now.Before(h.End) {
			break
		}
		record(now, &ev)
	}
}
