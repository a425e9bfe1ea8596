package sketch

import (
	"fmt"
	"strings"
)

// Metric names one of the three survey metrics. Its zero value is invalid,
// so an Event whose metric was never set is rejected rather than counted.
type Metric uint8

// The survey metrics and their scales.
const (
	CSAT Metric = iota + 1 // customer satisfaction, 1-5
	CES                    // customer effort, 1-7
	NPS                    // likelihood to recommend, 0-10
)

// metricInfo is what the histogram needs of a metric: its scale and where its
// counters start in the shared counter array.
var metricInfo = [...]struct {
	name     string
	min, max int
	offset   int
}{
	CSAT: {"csat", 1, 5, 0},
	CES:  {"ces", 1, 7, 5},
	NPS:  {"nps", 0, 10, 12},
}

// counters is the number of score counters of all three metrics: 5 + 7 + 11.
const counters = 23

// ParseMetric returns the metric named "csat", "ces" or "nps", in any case
// ("NPS" too). Any other name gives an error wrapping ErrUnknownMetric.
func ParseMetric(name string) (Metric, error) {
	for m := CSAT; m <= NPS; m++ {
		if strings.EqualFold(metricInfo[m].name, name) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: %q, want csat, ces or nps", ErrUnknownMetric, name)
}

// Valid reports whether m is one of CSAT, CES and NPS.
func (m Metric) Valid() bool { return m >= CSAT && m <= NPS }

// String returns the metric's wire name, or "metric(N)" for an invalid one.
func (m Metric) String() string {
	if !m.Valid() {
		return fmt.Sprintf("metric(%d)", uint8(m))
	}
	return metricInfo[m].name
}

// Scale returns the lowest and highest score of m; (0, -1) for an invalid metric.
func (m Metric) Scale() (lowest, highest int) {
	if !m.Valid() {
		return 0, -1
	}
	return metricInfo[m].min, metricInfo[m].max
}

// Check returns nil if score is on m's scale. Otherwise it returns an error
// wrapping ErrUnknownMetric or ErrScoreOutOfRange that names the metric, the
// score and the scale, such as "score out of range: nps score 11, want 0-10".
func (m Metric) Check(score int) error {
	if !m.Valid() {
		return fmt.Errorf("%w: %s", ErrUnknownMetric, m)
	}
	info := &metricInfo[m]
	if score < info.min || score > info.max {
		return fmt.Errorf("%w: %s score %d, want %d-%d", ErrScoreOutOfRange, info.name, score, info.min, info.max)
	}
	return nil
}
