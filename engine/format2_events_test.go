package engine

import (
	"fmt"
	"time"
)

// format2Clock is the time testdata/format2/main.snap was written at, by
// main's engine at commit 1a1b2bf (snapshot format 2), after
// recordFormat2 at that time.
var format2Clock = time.Date(2026, 11, 26, 10, 37, 12, 0, time.UTC)

// recordFormat2 records, at now, the events testdata/format2/main.snap
// holds: anonymous events over 30 days, responses with an identity (some
// corrected by a later version, one deleted) and customers. This file is
// the same in main's tree, where the snapshot was made.
func recordFormat2(e *Engine, now time.Time) error {
	ages := []time.Duration{0, 30 * time.Second, 7 * time.Minute, 50 * time.Minute, 3 * time.Hour,
		26 * time.Hour, 47 * time.Hour, 4 * 24 * time.Hour, 20 * 24 * time.Hour, 30 * 24 * time.Hour}
	for i, age := range ages {
		for j, m := range []Metric{CSAT, CES, NPS} {
			lo, hi := m.Scale()
			ev := Event{Segment: []string{"enterprise", "smb"}[i%2], Touchpoint: []string{"web", "app", "checkout"}[j],
				Metric: m, Score: lo + (i*3+j)%(hi-lo+1), Time: now.Add(-age), CustomerID: fmt.Sprintf("c-%d", (i*7+j)%9)}
			if err := e.RecordAt(now, ev); err != nil {
				return err
			}
			ev.ResponseID = fmt.Sprintf("r-%d-%d", i, j)
			ev.Version = 1
			if _, err := e.RecordResponseAt(now, ev); err != nil {
				return err
			}
			if (i+j)%3 == 0 { // a correction
				ev.Version, ev.Score = 2, hi
				if _, err := e.RecordResponseAt(now, ev); err != nil {
					return err
				}
			}
		}
	}
	_, err := e.DeleteResponseAt(now, "r-4-1")
	return err
}
