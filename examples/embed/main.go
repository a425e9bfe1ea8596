// Command embed is the smallest use of cxscore as a library: it records a
// few survey answers on a manual clock and prints the scores of the last
// hour, overall and for one segment.
//
//	go run ./examples/embed
package main

import (
	"fmt"
	"log"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

func main() {
	// A manual clock makes the output the same on every run; leave
	// Config.Clock unset for the system clock.
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC))
	e, err := engine.New(engine.Config{Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	answers := []engine.Event{
		{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 10},
		{CustomerID: "c-2", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.NPS, Score: 9},
		{CustomerID: "c-3", Segment: "enterprise", Touchpoint: "support", Metric: engine.NPS, Score: 4},
		{CustomerID: "c-1", Segment: "enterprise", Touchpoint: "support", Metric: engine.CSAT, Score: 5},
		{CustomerID: "c-4", Segment: "smb", Touchpoint: "checkout", Metric: engine.CES, Score: 6},
		{Segment: "smb", Touchpoint: "checkout", Metric: engine.NPS, Score: 7},  // anonymous
		{Segment: "smb", Touchpoint: "checkout", Metric: engine.NPS, Score: 11}, // off the 0-10 scale
	}
	for _, ev := range answers {
		ev.Time = clock.Now().Add(-5 * time.Minute)
		if err := e.Record(ev); err != nil {
			fmt.Println("rejected:", err)
		}
	}
	clock.Advance(time.Minute)

	for _, q := range []engine.Query{
		{Window: time.Hour}, // every segment and touchpoint
		{Segment: "enterprise", Window: time.Hour},
	} {
		var r engine.Result
		if err := e.Query(q, &r); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s × %s, %s to %s: %d customers\n", r.Segment, r.Touchpoint,
			r.From.Format("15:04"), r.To.Format("15:04"), r.UniqueCustomers)
		if nps, ok := r.NPS.Score(); ok {
			moe, _ := r.NPS.MarginOfError()
			fmt.Printf("  NPS  %+.0f ± %.0f (n=%d)\n", nps, moe, r.NPS.Responses())
		}
		if csat, ok := r.CSAT.Score(); ok {
			fmt.Printf("  CSAT %.0f%% (n=%d)\n", csat, r.CSAT.Responses())
		}
		if ces, ok := r.CES.Score(); ok {
			fmt.Printf("  CES  %.1f (n=%d)\n", ces, r.CES.Responses())
		}
	}
}
