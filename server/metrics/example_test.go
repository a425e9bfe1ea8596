package metrics_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/metrics"
	"github.com/cxscore/cxscore/window"
)

// A collector registered in a registry (prometheus.MustRegister for the
// default one), with roll-ups: the segment's unique customers over all its
// touchpoints are 2, not the 3 that sum() over its keys would give. Score
// gauges are left out below Config.MinResponses (10 unless set): here one
// answer is enough, so each of the 6 series has an NPS.
func ExampleNew() {
	clock := window.NewManualClock(time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC))
	e, err := engine.New(engine.Config{Clock: clock, MinResponses: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	for _, ev := range []engine.Event{
		{CustomerID: "c-1", Segment: "smb", Touchpoint: "web", Metric: engine.NPS, Score: 9},
		{CustomerID: "c-1", Segment: "smb", Touchpoint: "app", Metric: engine.NPS, Score: 10},
		{CustomerID: "c-2", Segment: "smb", Touchpoint: "app", Metric: engine.NPS, Score: 3},
	} {
		ev.Time = clock.Now()
		if err := e.Record(ev); err != nil {
			log.Fatal(err)
		}
	}
	c, err := metrics.New(e, metrics.Options{Clock: clock, Windows: []metrics.Window{{Text: "1h", Duration: time.Hour}}, Rollups: true})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "cxscore_unique_customers" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			fmt.Println(strings.Join(labels, " "), m.GetGauge().GetValue())
		}
	}
	fmt.Println(testutil.CollectAndCount(c, "cxscore_nps_score"), "NPS series")
	// Output:
	// segment=* touchpoint=* window=1h 2
	// segment=* touchpoint=app window=1h 2
	// segment=* touchpoint=web window=1h 1
	// segment=smb touchpoint=* window=1h 2
	// segment=smb touchpoint=app window=1h 2
	// segment=smb touchpoint=web window=1h 1
	// 6 NPS series
}
