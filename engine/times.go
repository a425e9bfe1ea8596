package engine

import (
	"fmt"
	"time"
)

// Event times the engine represents: from the Unix epoch to the start of
// 2200, in UTC. Times are kept as Unix nanoseconds, which time.Time cannot
// give outside about 1678-2262 (UnixNano overflows and wraps), so a time
// outside this range is rejected, never recorded as another one.
var (
	minEventTime = time.Unix(0, 0).UTC()
	maxEventTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

const maxEventUnix = 7258118400 // maxEventTime.Unix(), checked by TestEventTimeRange

// eventNanos returns t in Unix nanoseconds. A time outside
// [minEventTime, maxEventTime) gives math.MinInt64 or math.MaxInt64, which
// every retention check rejects; timeError then says why.
func eventNanos(t time.Time) int64 {
	s := t.Unix()
	switch {
	case s < 0:
		return minNanos
	case s >= maxEventUnix:
		return maxNanos
	}
	return s*1e9 + int64(t.Nanosecond())
}

const (
	minNanos = -1 << 63
	maxNanos = 1<<63 - 1
)

// timeError explains why an event at t (eventNanos(at)) was rejected at
// now: outside what the engine represents, or outside what it keeps.
func (e *Engine) timeError(now, t int64, at time.Time) error {
	switch t {
	case minNanos:
		return fmt.Errorf("%w: %s is before %s, the earliest time the engine represents",
			ErrTooOld, at.UTC().Format(time.RFC3339Nano), minEventTime.Format(time.RFC3339))
	case maxNanos:
		return fmt.Errorf("%w: %s is after %s, the latest time the engine represents",
			ErrTooNew, at.UTC().Format(time.RFC3339Nano), maxEventTime.Format(time.RFC3339))
	}
	return e.layout.Check(now, t)
}
