package sketch_test

import (
	"fmt"

	"github.com/cxscore/cxscore/sketch"
)

func Example() {
	var h sketch.Histogram
	var u sketch.Uniques
	answers := []struct {
		customer string
		metric   sketch.Metric
		score    int
	}{
		{"c-1", sketch.NPS, 10}, {"c-2", sketch.NPS, 9}, {"c-3", sketch.NPS, 6},
		{"c-1", sketch.CSAT, 5}, {"c-3", sketch.CSAT, 2},
	}
	for _, a := range answers {
		if err := a.metric.Check(a.score); err != nil {
			panic(err) // validate outside data before Add
		}
		h.Add(a.metric, a.score)
		u.Insert(sketch.Hash(a.customer))
	}
	nps, _ := h.NPS().Score()
	csat, _ := h.CSAT().Score()
	fmt.Printf("NPS %.1f, CSAT %.0f, %d customers\n", nps, csat, u.Estimate())
	// Output: NPS 33.3, CSAT 50, 3 customers
}

func ExampleCSATSummary_Score() {
	var h sketch.Histogram
	if _, ok := h.CSAT().Score(); !ok {
		fmt.Println("no CSAT responses: no score")
	}
	h.AddN(sketch.CSAT, 4, 41)
	h.AddN(sketch.CSAT, 2, 9)
	score, _ := h.CSAT().Score()
	moe, _ := h.CSAT().MarginOfError()
	fmt.Printf("CSAT %.0f ± %.1f\n", score, moe)
	// Output:
	// no CSAT responses: no score
	// CSAT 82 ± 10.5
}

func ExampleUniques_Merge() {
	var monday, tuesday sketch.Uniques
	for _, id := range []string{"ann", "bob", "cy"} {
		monday.Insert(sketch.Hash(id))
	}
	for _, id := range []string{"bob", "cy", "dee"} {
		tuesday.Insert(sketch.Hash(id))
	}
	both := monday.Clone()
	if err := both.Merge(&tuesday); err != nil {
		panic(err)
	}
	fmt.Println(monday.Estimate(), tuesday.Estimate(), both.Estimate())
	// Output: 3 3 4
}

func ExampleMetric_Check() {
	err := sketch.NPS.Check(11)
	fmt.Println(err)
	// Output: score out of range: nps score 11, want 0-10
}
