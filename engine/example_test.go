package engine_test

import (
	"bytes"
	"errors"
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

func ExampleEngine_Query_rollup() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC))
	e, _ := engine.New(engine.Config{Clock: clock})
	defer e.Close()
	for _, ev := range []engine.Event{
		{CustomerID: "ann", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.CSAT, Score: 5},
		{CustomerID: "ann", Segment: "enterprise", Touchpoint: "support", Metric: engine.CSAT, Score: 2},
		{CustomerID: "bob", Segment: "smb", Touchpoint: "checkout", Metric: engine.CSAT, Score: 4},
	} {
		if err := e.Record(ev); err != nil { // Time zero: now, on the engine's clock
			panic(err)
		}
	}
	for _, q := range []engine.Query{
		{Segment: "enterprise", Touchpoint: "checkout", Window: 5 * time.Minute},
		{Segment: "enterprise", Window: 5 * time.Minute},  // every touchpoint
		{Touchpoint: "checkout", Window: 5 * time.Minute}, // every segment
		{Window: 5 * time.Minute},                         // everything
	} {
		var r engine.Result
		e.Query(q, &r)
		csat, _ := r.CSAT.Score()
		fmt.Printf("%-10s × %-8s CSAT %3.0f  customers %d\n", r.Segment, r.Touchpoint, csat, r.UniqueCustomers)
	}
	// Output:
	// enterprise × checkout CSAT 100  customers 1
	// enterprise × *        CSAT  50  customers 1
	// *          × checkout CSAT 100  customers 2
	// *          × *        CSAT  67  customers 2
}

func ExampleEngine_Trend() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC))
	e, _ := engine.New(engine.Config{Clock: clock})
	defer e.Close()
	for hour, scores := range [][]int{{10, 9, 3}, {10, 10}, {5, 6, 9}} {
		for _, s := range scores {
			e.Record(engine.Event{Segment: "smb", Touchpoint: "app", Metric: engine.NPS, Score: s})
		}
		if hour < 2 {
			clock.Advance(time.Hour)
		}
	}
	clock.Advance(20 * time.Minute) // 09:20: the last point is partial
	points, err := e.Trend(engine.Query{Segment: "smb", Window: 2 * time.Hour}, time.Hour, nil)
	if err != nil {
		panic(err)
	}
	for _, p := range points {
		nps, _ := p.NPS.Score()
		fmt.Printf("%s-%s  NPS %4.0f  (%d answers) partial %v\n", p.From.Format("15:04"), p.To.Format("15:04"), nps, p.NPS.Responses(), p.Partial)
	}
	// Output:
	// 07:00-08:00  NPS   33  (3 answers) partial false
	// 08:00-09:00  NPS  100  (2 answers) partial false
	// 09:00-09:20  NPS  -33  (3 answers) partial true
}

func ExampleEngine_RecordBatch() {
	e, _ := engine.New(engine.Config{Clock: window.NewManualClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))})
	defer e.Close()
	err := e.RecordBatch([]engine.Event{
		{Segment: "smb", Touchpoint: "web", Metric: engine.CES, Score: 6},
		{Segment: "smb", Touchpoint: "web", Metric: engine.CES, Score: 8},
		{Segment: "", Touchpoint: "web", Metric: engine.CES, Score: 5},
	})
	var be *engine.BatchError
	if errors.As(err, &be) {
		for _, r := range be.Rejected {
			fmt.Printf("event %d: %v\n", r.Index, r.Err)
		}
	}
	fmt.Println("score out of range among them:", errors.Is(err, engine.ErrScoreOutOfRange))
	// Output:
	// event 1: score out of range: ces score 8, want 1-7
	// event 2: invalid segment: empty segment
	// score out of range among them: true
}

func ExampleEngine_MergeSnapshot() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	replicas := make([]*engine.Engine, 2)
	for i := range replicas {
		replicas[i], _ = engine.New(engine.Config{Clock: clock})
		defer replicas[i].Close()
	}
	replicas[0].Record(engine.Event{CustomerID: "ann", Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 10})
	replicas[1].Record(engine.Event{CustomerID: "ann", Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 9})
	replicas[1].Record(engine.Event{CustomerID: "bob", Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 2})

	// An aggregator folds every replica's snapshot into one view.
	global, _ := engine.New(engine.Config{Clock: clock})
	defer global.Close()
	for _, r := range replicas {
		var snap bytes.Buffer
		if _, err := r.WriteSnapshot(&snap); err != nil {
			panic(err)
		}
		if err := global.MergeSnapshot(&snap); err != nil {
			panic(err)
		}
	}
	var res engine.Result
	global.Query(engine.Query{Window: time.Hour}, &res)
	nps, _ := res.NPS.Score()
	fmt.Printf("NPS %.0f from %d answers by %d customers\n", nps, res.NPS.Responses(), res.UniqueCustomers)
	// Output: NPS 33 from 3 answers by 2 customers
}
