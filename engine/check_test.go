package engine

import (
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// TestCheckAgreesWithRecord: Check returns what Record would, changes
// nothing, and Record then gives the same answer.
func TestCheckAgreesWithRecord(t *testing.T) {
	sentinels := []error{ErrUnknownMetric, ErrScoreOutOfRange, ErrInvalidSegment, ErrInvalidTouchpoint, ErrTooOld, ErrTooNew, ErrTooManyKeys, ErrClosed}
	class := func(err error) error {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return s
			}
		}
		return err
	}
	rapid.Check(t, func(t *rapid.T) {
		clock := window.NewManualClock(t0)
		e, err := New(Config{Clock: clock, MaxKeys: 3, CacheBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		good := []string{"a", "b", "c"}
		bad := []string{"", All, string([]byte{0xff}), string(make([]byte, MaxLabelBytes+1))}
		label := func(what string) string {
			if rapid.IntRange(0, 9).Draw(t, what+" bad") == 0 {
				return rapid.SampledFrom(bad).Draw(t, what)
			}
			return rapid.SampledFrom(good).Draw(t, what)
		}
		for range 40 {
			ev := Event{
				CustomerID: rapid.SampledFrom([]string{"", "c1", "c2"}).Draw(t, "customer"),
				Segment:    label("segment"),
				Touchpoint: label("touchpoint"),
				Metric:     Metric(rapid.IntRange(0, 4).Draw(t, "metric")),
				Score:      rapid.IntRange(-1, 12).Draw(t, "score"),
			}
			offsets := []time.Duration{0, -36 * 24 * time.Hour, -34 * 24 * time.Hour, -time.Hour, 30 * time.Second, 2 * time.Minute}
			if off := rapid.SampledFrom(offsets).Draw(t, "offset"); off != 0 {
				ev.Time = clock.Now().Add(off)
			}
			if rapid.IntRange(0, 30).Draw(t, "close") == 0 {
				e.Close()
			}
			before := e.Stats()
			checked := e.Check(ev)
			if after := e.Stats(); after != before {
				t.Fatalf("Check changed the engine: got %+v, want %+v", after, before)
			}
			recorded := e.Record(ev)
			if class(checked) != class(recorded) {
				t.Fatalf("Check(%+v) = %v, Record = %v", ev, checked, recorded)
			}
			clock.Advance(time.Duration(rapid.IntRange(0, 120).Draw(t, "advance s")) * time.Second)
		}
	})
}

func TestRetention(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got, want := e.Retention(), 61*24*time.Hour; got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}
