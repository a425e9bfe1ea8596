package engine

import (
	"fmt"
	"time"
)

// Check reports whether Record would accept ev now, without recording it:
// it returns the error Record would (ErrUnknownMetric, ErrScoreOutOfRange,
// ErrInvalidSegment, ErrInvalidTouchpoint, ErrTooOld, ErrTooNew,
// ErrTooManyKeys or ErrClosed), or nil. An event with a zero Time is
// checked at now. Services that hand events to someone else to record,
// such as a replicated log, check them first.
//
// A nil Check is no promise about a later Record: the clock moves on and
// other writers may take the last free keys.
func (e *Engine) Check(ev Event) error {
	if e.closed.Load() {
		return ErrClosed
	}
	if err := ev.Metric.Check(ev.Score); err != nil {
		return err
	}
	now := e.set.clock.Now().UnixNano()
	if !ev.Time.IsZero() {
		if err := e.layout.Check(now, ev.Time.UnixNano()); err != nil {
			return err
		}
	}
	if e.keys.get(ev.Segment, ev.Touchpoint, keyHash(ev.Segment, ev.Touchpoint)) != nil {
		return nil
	}
	if err := checkLabel(ErrInvalidSegment, "segment", ev.Segment); err != nil {
		return err
	}
	if err := checkLabel(ErrInvalidTouchpoint, "touchpoint", ev.Touchpoint); err != nil {
		return err
	}
	e.keys.create.Lock()
	n := e.keys.count
	e.keys.create.Unlock()
	if n >= e.set.maxKeys {
		return fmt.Errorf("%w: segment %q × touchpoint %q would be key %d, the limit is %d", ErrTooManyKeys, ev.Segment, ev.Touchpoint, n+1, e.set.maxKeys)
	}
	return nil
}

// Retention returns the longest retention of the engine's tiers: events
// older than that are rejected with ErrTooOld.
func (e *Engine) Retention() time.Duration { return e.layout.Retention() }

// Location returns the engine's business time zone, Config.Location (UTC
// when left nil): the zone of its days, weeks and months, and of the times
// in its results.
func (e *Engine) Location() *time.Location { return e.set.location }
