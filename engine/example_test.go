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
	points, err := e.Trend(engine.Query{Segment: "smb", Window: 3 * time.Hour}, time.Hour, nil)
	if err != nil {
		panic(err)
	}
	for _, p := range points {
		nps, _ := p.NPS.Score()
		fmt.Printf("%s  NPS %4.0f  (%d answers)\n", p.From.Format("15:04"), nps, p.NPS.Responses())
	}
	// Output:
	// 07:00  NPS   33  (3 answers)
	// 08:00  NPS  100  (2 answers)
	// 09:00  NPS  -33  (3 answers)
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

func ExampleEngine_CompareAt() {
	now := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	e, _ := engine.New(engine.Config{Clock: window.NewManualClock(now)})
	defer e.Close()
	// A week of NPS answers for delivery and returns, the post-purchase
	// stage, against support: 30 answers each.
	for i := range 30 {
		at := now.Add(-time.Duration(i) * 5 * time.Hour)
		for tp, score := range map[string]int{"delivery": 10, "returns": []int{9, 3}[i%2], "support": []int{6, 8}[i%2]} {
			e.RecordAt(now, engine.Event{Segment: "consumer", Touchpoint: tp, Metric: engine.NPS, Score: score, Time: at})
		}
	}
	stage := engine.Selection{Touchpoints: []string{"delivery", "returns"}}
	var c engine.Comparison
	if err := e.CompareAt(now, stage, 7*24*time.Hour, engine.Rest, &c); err != nil {
		panic(err)
	}
	cur, _ := c.Current.NPS.Score()
	base, _ := c.Baseline.NPS.Score()
	sig, _ := c.NPS.Significant()
	fmt.Printf("post-purchase NPS %.0f against %.0f: %+.0f points [%.0f, %.0f], p = %.2g, significant: %t\n",
		cur, base, c.NPS.Difference, c.NPS.Low, c.NPS.High, c.NPS.PValue, sig)
	// Output: post-purchase NPS 50 against -50: +100 points [65, 121], p = 1.1e-10, significant: true
}

func ExampleEngine_RollupsAt() {
	now := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	e, _ := engine.New(engine.Config{Clock: window.NewManualClock(now)})
	defer e.Close()
	for _, ev := range []engine.Event{
		{CustomerID: "ann", Segment: "enterprise", Touchpoint: "checkout", Metric: engine.CSAT, Score: 5},
		{CustomerID: "ann", Segment: "enterprise", Touchpoint: "support", Metric: engine.CSAT, Score: 2},
		{CustomerID: "bob", Segment: "smb", Touchpoint: "checkout", Metric: engine.CSAT, Score: 4},
	} {
		e.RecordAt(now, ev)
	}
	keys, _ := e.MatrixAt(now, time.Hour, nil)
	rollups, _ := e.RollupsAt(now, time.Hour, nil)
	for _, r := range append(keys, rollups...) {
		fmt.Printf("%-10s × %-8s CSAT responses %d, customers %d\n", r.Segment, r.Touchpoint, r.CSAT.Responses(), r.UniqueCustomers)
	}
	// Output:
	// enterprise × checkout CSAT responses 1, customers 1
	// enterprise × support  CSAT responses 1, customers 1
	// smb        × checkout CSAT responses 1, customers 1
	// *          × *        CSAT responses 3, customers 2
	// *          × checkout CSAT responses 2, customers 2
	// *          × support  CSAT responses 1, customers 1
	// enterprise × *        CSAT responses 2, customers 1
	// smb        × *        CSAT responses 1, customers 1
}
