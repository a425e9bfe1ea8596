package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

// Times outside what Unix nanoseconds hold (about 1678-2262), or outside
// 1970-2200, are rejected with a message giving the time as sent; before,
// 1442 and 2611 wrapped around and were recorded as about 30 minutes ago.
func TestEventTimeRange(t *testing.T) {
	if got := maxEventTime.Unix(); got != maxEventUnix {
		t.Fatalf("maxEventUnix %d, want %d", int64(maxEventUnix), got)
	}
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	at := func(year int) time.Time { return time.Date(year, 11, 26, 10, 7, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		time time.Time
		want error
		msg  string
	}{
		{"1442", at(1442), ErrTooOld, "time older than the retention: 1442-11-26T10:07:00Z is before 1970-01-01T00:00:00Z, the earliest time the engine represents"},
		{"2611", at(2611), ErrTooNew, "time too far in the future: 2611-11-26T10:07:00Z is after 2200-01-01T00:00:00Z, the latest time the engine represents"},
		{"1677", at(1677), ErrTooOld, "time older than the retention: 1677-11-26T10:07:00Z is before 1970-01-01T00:00:00Z, the earliest time the engine represents"},
		{"2263", at(2263), ErrTooNew, "time too far in the future: 2263-11-26T10:07:00Z is after 2200-01-01T00:00:00Z, the latest time the engine represents"},
		{"just before 1970", time.Unix(-1, 999_999_999), ErrTooOld, "time older than the retention: 1969-12-31T23:59:59.999999999Z is before 1970-01-01T00:00:00Z, the earliest time the engine represents"},
		{"2200", maxEventTime, ErrTooNew, "time too far in the future: 2200-01-01T00:00:00Z is after 2200-01-01T00:00:00Z, the latest time the engine represents"},
		{"max time", time.Unix(1<<63-62135596801, 999999999), ErrTooNew, "time too far in the future: 292277024627-12-06T15:30:07.999999999Z is after 2200-01-01T00:00:00Z, the latest time the engine represents"},
		{"1971", time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC), ErrTooOld, "time older than the retention: 1971-01-01T00:00:00Z is before 2026-09-26T00:00:00Z, the start of the 1464h0m0s retained at 2026-11-26T10:37:12Z"},
	} {
		ev := Event{CustomerID: "c", Segment: "s", Touchpoint: "t", Metric: NPS, Score: 10, Time: tc.time}
		for _, record := range []struct {
			how string
			fn  func() error
		}{
			{"Record", func() error { return e.Record(ev) }},
			{"RecordAt", func() error { return e.RecordAt(t0, ev) }},
			{"RecordBatch", func() error { return e.RecordBatch([]Event{ev}) }},
		} {
			err := record.fn()
			if !errors.Is(err, tc.want) {
				t.Errorf("%s %s: got %v, want %v", record.how, tc.name, err, tc.want)
				continue
			}
			var be *BatchError
			if errors.As(err, &be) {
				err = be.Rejected[0].Err
			}
			if err.Error() != tc.msg {
				t.Errorf("%s %s: message %q, want %q", record.how, tc.name, err, tc.msg)
			}
		}
	}
	if st := e.Stats(); st.Keys != 0 {
		t.Fatalf("after rejected times: %d keys, want 0", st.Keys)
	}

	// The zero time still means now.
	if err := e.Record(Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: 10}); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := e.Query(Query{Window: time.Minute}, &r); err != nil {
		t.Fatal(err)
	}
	if r.Responses() != 1 {
		t.Fatalf("zero time: %d responses in the last minute, want 1", r.Responses())
	}

	// Near the end of the range, the engine's own future bound still applies
	// until the range's.
	clock.Set(maxEventTime.Add(-30 * time.Second))
	if err := e.Record(Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: 10, Time: maxEventTime.Add(-time.Nanosecond)}); err != nil {
		t.Fatalf("the last representable nanosecond: %v", err)
	}
	if err := e.Record(Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: 10, Time: maxEventTime.Add(10 * time.Second)}); !errors.Is(err, ErrTooNew) {
		t.Fatalf("10 s past 2200: got %v, want ErrTooNew", err)
	}
}
