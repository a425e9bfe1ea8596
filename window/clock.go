package window

import (
	"sync/atomic"
	"time"
)

// Clock tells the time. The engine reads it instead of calling time.Now, so
// tests can move time by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, time.Now.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when told to. It is safe for
// concurrent use. Its zero value reads the Unix epoch.
type ManualClock struct {
	ns atomic.Int64
}

// NewManualClock returns a clock reading t.
func NewManualClock(t time.Time) *ManualClock {
	c := new(ManualClock)
	c.Set(t)
	return c
}

// Now returns the clock's time, in UTC.
func (c *ManualClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set makes the clock read t.
func (c *ManualClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock forward by d (back, if d is negative).
func (c *ManualClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
