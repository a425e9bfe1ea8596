package engine

import "github.com/cxscore/cxscore/window"

// writer is a recorder's placement hint and clock sample. Record takes one
// from a sync.Pool, which in practice hands each core back the writer it
// used last, so a core keeps writing the same lane of a hot key and does
// not bounce its cache lines. Nothing depends on that: a writer holds no
// data between calls (obs is lent to Config.Observe within one), and a fresh one (the pool is emptied by every GC) only costs a clock
// read and maybe a lane change. Keys are found through the engine's shared
// key cache, not a per-core one.
type writer struct {
	lane  int
	clock clockSample
	obs   Observation // what Config.Observe is given, by pointer: no copy, no allocation
}

// clockSample spares Record most clock reads: time.Now costs about 47 ns, as
// much as the rest of Record. It reads the clock on the first of every
// `every` events and whenever an event's time is ahead of the last reading,
// so its "now" lags the clock by at most the time `every` events take, and
// never lets an event that is on time look too new. every = 1 reads the
// clock for every event.
type clockSample struct {
	events      uint32
	now, oldest int64 // the last reading and the oldest time it accepts, ns
}

// read reads the clock and returns the reading, ns.
func (c *clockSample) read(clock window.Clock, e *Engine) int64 {
	c.now = clock.Now().UnixNano()
	c.oldest = e.layout.Oldest(c.now)
	return c.now
}

// sample returns now, reading the clock every `every` events or when an
// event at time t (0: none given) is ahead of the last reading.
func (c *clockSample) sample(clock window.Clock, every uint32, e *Engine, t int64, hasTime bool) {
	c.events++
	switch {
	case c.events >= every:
		c.events = 0
		c.read(clock, e)
	case !hasTime:
		c.read(clock, e) // "now" means now, not the last reading
	case t > c.now+int64(e.layout.Future()):
		c.read(clock, e) // maybe the clock has moved on
	}
}
