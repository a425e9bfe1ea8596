package engine

import "time"

// Observation is what Config.Observe is told of an event the engine just
// recorded or corrected. The engine lends it for the call only and reuses
// it afterwards: copy what you keep (the strings may be kept).
type Observation struct {
	// Event is the event as recorded, its Time filled in (in
	// Config.Location) when it was zero.
	Event Event
	// Outcome is Recorded or Updated; duplicates and rejected events are
	// not observed.
	Outcome Outcome
	// Previous is the answer the engine held for the event's response
	// before this delivery: for Updated, the answer the correction
	// replaced; for Recorded, the answer of a deleted response that this
	// delivery records anew. Its Metric is zero when there was none (an
	// anonymous event, a response seen for the first time).
	Previous Answer
}

// Answer is one answer of a response: its key, metric and score. The zero
// Answer is none. Key is zero when the engine no longer holds the
// answer's key (deleted, or aged out since).
type Answer struct {
	Key    Key
	Metric Metric
	Score  int
}

// observe hands what record did with ev to Config.Observe, in w's
// Observation. Only called when it is set.
func (e *Engine) observe(w *writer, t int64, ev *Event, o Outcome, prev Answer) {
	ob := &w.obs
	ob.Event, ob.Outcome, ob.Previous = *ev, o, prev
	if ob.Event.Time.IsZero() {
		ob.Event.Time = time.Unix(0, t).In(e.set.location)
	}
	e.set.observe(ob)
}
