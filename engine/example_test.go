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

// A team in New York asks how this week went against last week, and where
// NPS is this month: weeks start on Monday at local midnight, months on
// the 1st, in the business zone. From and To say what was covered.
func ExampleQuery_period() {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, ny) // a Wednesday
	e, _ := engine.New(engine.Config{Clock: window.NewManualClock(now), Location: ny})
	defer e.Close()
	for _, a := range []struct {
		days  int
		score int
	}{{0, 10}, {1, 9}, {2, 3}, {8, 6}, {9, 10}, {20, 9}} {
		e.Record(engine.Event{Segment: "smb", Touchpoint: "app", Metric: engine.NPS, Score: a.score, Time: now.AddDate(0, 0, -a.days)})
	}
	for _, p := range []engine.Period{engine.ThisWeek, engine.LastWeek, engine.ThisMonth} {
		var r engine.Result
		if err := e.Query(engine.Query{Period: p}, &r); err != nil {
			panic(err)
		}
		nps, _ := r.NPS.Score()
		fmt.Printf("%-10s %s to %s  NPS %4.0f  (%d answers) partial %v\n",
			p, r.From.Format("Mon Jan 2 15:04"), r.To.Format("Mon Jan 2 15:04"), nps, r.NPS.Responses(), r.Partial)
	}
	// Output:
	// this_week  Mon Nov 23 00:00 to Wed Nov 25 09:30  NPS   33  (3 answers) partial true
	// last_week  Mon Nov 16 00:00 to Mon Nov 23 00:00  NPS    0  (2 answers) partial false
	// this_month Sun Nov 1 00:00 to Wed Nov 25 09:30  NPS   33  (6 answers) partial true
}

// An absolute range, such as Black Friday in Berlin: [From, To) in the
// business zone, answered from whole local days.
func ExampleQuery_range() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, berlin)
	e, _ := engine.New(engine.Config{Clock: window.NewManualClock(now), Location: berlin})
	defer e.Close()
	for _, at := range []time.Time{
		time.Date(2026, 11, 26, 23, 59, 0, 0, berlin), // Thursday
		time.Date(2026, 11, 27, 0, 1, 0, 0, berlin),   // Black Friday
		time.Date(2026, 11, 27, 18, 0, 0, 0, berlin),
		time.Date(2026, 11, 28, 0, 0, 0, 0, berlin), // Saturday
	} {
		e.Record(engine.Event{Segment: "consumer", Touchpoint: "checkout", Metric: engine.CSAT, Score: 5, Time: at})
	}
	var r engine.Result
	q := engine.Query{From: time.Date(2026, 11, 27, 0, 0, 0, 0, berlin), To: time.Date(2026, 11, 28, 0, 0, 0, 0, berlin)}
	if err := e.Query(q, &r); err != nil {
		panic(err)
	}
	fmt.Printf("%s to %s: %d CSAT answers\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.CSAT.Responses())
	// Output: 2026-11-27T00:00:00+01:00 to 2026-11-28T00:00:00+01:00: 2 CSAT answers
}

// Days start at local midnight in the business zone, across DST changes
// too: in New York, November 1, 2026 lasts 25 hours.
func ExampleConfig_location() {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 2, 8, 0, 0, 0, ny)
	e, _ := engine.New(engine.Config{Clock: window.NewManualClock(now), Location: ny})
	defer e.Close()
	points, err := e.Trend(engine.Query{Period: engine.ThisWeek}, 24*time.Hour, nil)
	if err != nil {
		panic(err)
	}
	var r engine.Result
	e.Query(engine.Query{Period: engine.Yesterday}, &r)
	fmt.Printf("yesterday: %s to %s, %v\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.To.Sub(r.From))
	fmt.Printf("this week: %d day(s), from %s\n", len(points), points[0].From.Format(time.RFC3339))
	// Output:
	// yesterday: 2026-11-01T00:00:00-04:00 to 2026-11-02T00:00:00-05:00, 25h0m0s
	// this week: 1 day(s), from 2026-11-02T00:00:00-05:00
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

func ExampleEngine_ComparePeriodAt() {
	// November 24 in New York: this month so far against all of October.
	nyc, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 11, 24, 10, 15, 0, 0, nyc)
	e, _ := engine.New(engine.Config{Location: nyc, Clock: window.NewManualClock(now)})
	defer e.Close()
	for i := range 20 {
		nov := time.Date(2026, 11, 1+i, 12, 0, 0, 0, nyc)
		oct := time.Date(2026, 10, 1+i, 12, 0, 0, 0, nyc)
		e.RecordAt(now, engine.Event{Segment: "smb", Touchpoint: "support", Metric: engine.CSAT, Score: []int{5, 4, 2, 5}[i%4], Time: nov})
		e.RecordAt(now, engine.Event{Segment: "smb", Touchpoint: "support", Metric: engine.CSAT, Score: []int{2, 4, 1, 3}[i%4], Time: oct})
	}
	var c engine.Comparison
	if err := e.ComparePeriodAt(now, engine.Selection{}, engine.ThisMonth, engine.Previous, &c); err != nil {
		panic(err)
	}
	cur, _ := c.Current.CSAT.Score()
	base, _ := c.Baseline.CSAT.Score()
	sig, _ := c.CSAT.Significant()
	fmt.Printf("%s so far (partial %t): CSAT %.0f%%; %s: %.0f%%\n", c.Current.From.Format("January 2"), c.Current.Partial, cur,
		c.Baseline.From.Format("January"), base)
	fmt.Printf("%+.0f points, p = %.2g, significant: %t\n", c.CSAT.Difference, c.CSAT.PValue, sig)
	// Output:
	// November 1 so far (partial true): CSAT 75%; October: 25%
	// +50 points, p = 0.0018, significant: true
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

// Config.Observe is told of every event recorded or corrected, with the
// answer a correction replaced; duplicates are not observed.
func ExampleConfig_observe() {
	observe := func(o *engine.Observation) {
		if o.Event.Metric == engine.NPS && o.Event.Score <= 6 {
			fmt.Printf("%s %s: detractor %s (score %d, was %d)\n",
				o.Event.Segment, o.Outcome, o.Event.ResponseID, o.Event.Score, o.Previous.Score)
		}
	}
	e, err := engine.New(engine.Config{Observe: observe})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	ev := engine.Event{Segment: "enterprise", Touchpoint: "support", Metric: engine.NPS, Score: 9, ResponseID: "r-1", Version: 1}
	e.Record(ev) // a promoter: observed, not printed
	ev.Score, ev.Version = 3, 2
	e.Record(ev) // a correction
	e.Record(ev) // a duplicate: not observed
	// Output:
	// enterprise updated: detractor r-1 (score 3, was 9)
}
