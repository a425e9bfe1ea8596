package engine_test

import (
	"fmt"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

func Example() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC))
	e, err := engine.New(engine.Config{Clock: clock})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	for i, score := range []int{10, 9, 9, 7, 3} {
		err := e.Record(engine.Event{
			CustomerID: fmt.Sprintf("c-%d", i%4),
			Segment:    "enterprise",
			Touchpoint: "checkout",
			Metric:     engine.NPS,
			Score:      score,
			Time:       clock.Now(),
		})
		if err != nil {
			panic(err)
		}
	}
	var r engine.Result
	if err := e.Query(engine.Query{Segment: "enterprise", Window: time.Hour}, &r); err != nil {
		panic(err)
	}
	nps, _ := r.NPS.Score()
	moe, _ := r.NPS.MarginOfError()
	fmt.Printf("%s × %s: NPS %.0f ± %.0f from %d responses of %d customers\n",
		r.Segment, r.Touchpoint, nps, moe, r.NPS.Responses(), r.UniqueCustomers)
	// Output: enterprise × *: NPS 40 ± 55 from 5 responses of 4 customers
}
