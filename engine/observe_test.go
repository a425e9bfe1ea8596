package engine

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

// observed collects what Config.Observe is told.
type observed struct {
	mu   sync.Mutex
	list []Observation
}

func (o *observed) add(ob *Observation) {
	o.mu.Lock()
	o.list = append(o.list, *ob)
	o.mu.Unlock()
}

func (o *observed) take() []Observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.list
	o.list = nil
	return l
}

func TestObserve(t *testing.T) {
	var obs observed
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, Observe: obs.add})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ev := func(id string, v uint64, score int) Event {
		return Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: score, ResponseID: id, Version: v}
	}
	want := func(what string, outcomes []Outcome, prevs []Answer) {
		t.Helper()
		got := obs.take()
		if len(got) != len(outcomes) {
			t.Fatalf("%s: got %d observations %+v, want %d", what, len(got), got, len(outcomes))
		}
		for i, o := range got {
			if o.Outcome != outcomes[i] || o.Previous != prevs[i] {
				t.Errorf("%s: observation %d: got %v with previous %+v, want %v with %+v", what, i, o.Outcome, o.Previous, outcomes[i], prevs[i])
			}
			if !o.Event.Time.Equal(t0) {
				t.Errorf("%s: observation %d: time %v, want the clock's %v", what, i, o.Event.Time, t0)
			}
		}
	}
	none := Answer{}
	if err := e.Record(ev("", 0, 3)); err != nil {
		t.Fatal(err)
	}
	e.Record(ev("", 0, 3))
	want("anonymous twice", []Outcome{Recorded, Recorded}, []Answer{none, none})
	e.Record(ev("r1", 1, 9))
	e.Record(ev("r1", 1, 9))
	e.Record(ev("r1", 0, 2))
	want("a response, a duplicate, an older version", []Outcome{Recorded}, []Answer{none})
	e.Record(ev("r1", 2, 3))
	want("a correction", []Outcome{Updated}, []Answer{{Key{"s", "t"}, NPS, 9}})
	if err := e.Record(Event{Segment: "s", Touchpoint: "t", Metric: NPS, Score: 11}); !errors.Is(err, ErrScoreOutOfRange) {
		t.Fatalf("score 11: got %v, want ErrScoreOutOfRange", err)
	}
	want("a rejected event", nil, nil)
	if ok, err := e.DeleteResponse("r1"); !ok || err != nil {
		t.Fatalf("DeleteResponse: %v, %v", ok, err)
	}
	want("a deletion", nil, nil)
	e.Record(ev("r1", 3, 4))
	want("a deleted response recorded anew", []Outcome{Recorded}, []Answer{{Key{"s", "t"}, NPS, 3}})

	out := make([]Outcome, 3)
	e.RecordBatchResponsesAt(t0, []Event{ev("r2", 1, 5), ev("r2", 1, 5), ev("r2", 2, 10)}, out)
	e.RecordBatch([]Event{ev("", 0, 1)})
	want("batches", []Outcome{Recorded, Updated, Recorded}, []Answer{none, {Key{"s", "t"}, NPS, 5}, none})
	e.RecordResponseAt(t0, ev("r3", 1, 0))
	e.RecordAt(t0, ev("r4", 1, 0))
	e.RecordResponse(ev("r5", 1, 0))
	want("the other Record calls", []Outcome{Recorded, Recorded, Recorded}, []Answer{none, none, none})

	var snap bytes.Buffer
	if _, err := e.WriteSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	other, err := New(Config{Clock: clock, Observe: obs.add})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.MergeSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	want("a merge", nil, nil)
	other.Record(ev("r1", 3, 4))
	want("a response the merge brought", nil, nil)
}

func TestObserveTime(t *testing.T) {
	var got Observation
	loc := time.FixedZone("UTC+2", 2*3600)
	e, err := New(Config{Location: loc, Observe: func(o *Observation) { got = *o }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.RecordAt(t0, Event{Segment: "s", Touchpoint: "t", Metric: CSAT, Score: 1}); err != nil {
		t.Fatal(err)
	}
	if !got.Event.Time.Equal(t0) || got.Event.Time.Location() != loc {
		t.Errorf("an event without a time: got %v, want %v in %v", got.Event.Time, t0, loc)
	}
	at := t0.Add(-time.Minute)
	e.RecordAt(t0, Event{Segment: "s", Touchpoint: "t", Metric: CSAT, Score: 1, Time: at})
	if got.Event.Time != at {
		t.Errorf("an event with a time: got %v, want it as given, %v", got.Event.Time, at)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	n := 0
	e, err := New(Config{Observe: func(o *Observation) {
		if o.Event.Score < 3 {
			n++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ev := Event{CustomerID: "c-42", Segment: "enterprise", Touchpoint: "checkout", Metric: CSAT, Score: 4}
	e.Record(ev)
	if a := testing.AllocsPerRun(1000, func() { e.Record(ev) }); a != 0 {
		t.Errorf("Record with Observe set: got %v allocs, want 0", a)
	}
}
