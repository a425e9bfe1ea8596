package engine

import (
	"fmt"
	"math/bits"
	"runtime"
	"time"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

// Config configures an Engine. The zero value is a good default; each field
// says what its zero value means. New never writes to the Config it is given.
type Config struct {
	// Tiers of time buckets, finest first; each resolution must divide the
	// next. Zero: window.DefaultTiers(), minutes for 2 hours, hours for 48
	// hours and local days for 61 days, which answers windows from one
	// minute to 61 days and every period up to last month. Memory per key
	// grows with the number of buckets.
	Tiers []window.Tier
	// Location is the business time zone: days start at its local
	// midnight (23- or 25-hour days across DST changes), hours and weeks
	// follow its clock, periods such as Today are its dates, and results
	// report their times in it. Zero: UTC. The finest resolution must
	// divide every UTC offset the zone uses (one minute does for every
	// zone of the tz database since 1990).
	Location *time.Location
	// WeekStart is the first day of a week (ThisWeek, LastWeek, weekly
	// trends), counted in days after Monday: 0 Monday, as ISO 8601 has it,
	// 5 Saturday, 6 Sunday. Zero: Monday.
	WeekStart int
	// MaxFuture is how far ahead of the engine's clock an event's time may
	// be, for clock skew between the services that report events. Zero: one
	// minute. Negative: none.
	MaxFuture time.Duration
	// MaxKeys bounds the number of segment × touchpoint keys, so that a flood
	// of junk labels cannot take the host's memory; an event that would
	// create one more is rejected with ErrTooManyKeys, or recorded into the
	// Overflow key. Keys whose buckets have all aged out are dropped and do
	// not count. Zero: 10,000.
	MaxKeys int
	// Overflow is the key that events of new keys are recorded into once
	// MaxKeys keys exist, such as {"_other", "_other"}: scores stay complete,
	// legitimate keys keep being recorded, and memory stays bounded whatever
	// labels arrive. It does not count towards MaxKeys; Stats.Overflowed
	// counts the events it took in. Zero: none, such events are rejected
	// with ErrTooManyKeys. Its labels must be valid segment and touchpoint
	// names.
	Overflow Key
	// MaxBytes is a memory budget for what keys hold (Stats.Bytes). Once the
	// engine holds more, an event that would create a new key is rejected
	// with ErrMemoryBudget, and so is a MergeSnapshot that would go beyond
	// it; existing keys keep recording, each up to its worst case (every
	// bucket of every tier filled: see the README). The check is made only
	// when a key is created, on a walk of the engine's memory at most a
	// second old (by Clock) plus what keys created since take empty. Zero:
	// no budget. Negative is invalid.
	MaxBytes int64
	// MaxHeldResponses bounds the responses (events with a ResponseID) held for
	// deduplication and corrections, 24 bytes each in tables kept at most
	// 90% full. A response is held until its bucket ages out of the coarsest
	// tier (61 days with the default tiers), deleted ones too. When the
	// limit is reached, what aged out is forgotten first; if none did, an
	// event with a new response id is rejected with ErrTooManyResponses and
	// changes nothing, while held responses are still deduplicated,
	// corrected and deleted. (Counting a response without holding it would
	// count its retries again.) Zero: 1,000,000. Negative is invalid.
	MaxHeldResponses int
	// Precision of the unique-customer sketches, sketch.MinPrecision to
	// sketch.MaxPrecision: 2^p registers, standard error 1.04/√(2^p). Zero:
	// 12 (1.6%; a busy minute bucket holds 4 KiB of registers, a busy hour
	// or day 3 KiB, packed).
	Precision uint8
	// CacheBytes is the memory for cached results of closed (sealed) time
	// buckets, which make repeated queries cheap. Zero: 32 MiB. Negative:
	// no cache.
	CacheBytes int64
	// Lanes is the number of write lanes per key; writers on different
	// cores use different lanes, so a hot key does not bounce between
	// cores. Zero: GOMAXPROCS rounded up to a power of two, at most 64.
	Lanes int
	// MinResponses is the fewest responses of a metric a result must hold
	// for its score to count as resting on enough data (Result.Enough): a
	// dashboard greys a score below it, the sidecar's /metrics leaves its
	// score and margin out (an alert never fires on two answers), and a
	// comparison reports "not enough data" instead of testing. Zero: 10.
	// Negative is invalid.
	MinResponses int
	// Clock is the engine's clock. Zero: the system clock, read at most
	// once every 64 events on each core (and whenever an event's time is
	// ahead of the last reading), so a system-clock engine's notion of now
	// may lag by up to MaxFuture. Any other clock is read for every event;
	// window.ManualClock makes tests exact.
	Clock window.Clock
	// Observe, when set, is called with every event the engine records
	// or corrects (Outcome Recorded or Updated), from within the
	// recording call (Record, RecordAt, RecordResponse*, RecordBatch*)
	// once the event is in, with the answer a correction replaced: for
	// an alert on single answers (package alert's response rules), an
	// audit log, a forward to another system. It is not called for
	// duplicates, rejected events or deletions, nor for what
	// MergeSnapshot merges (a merge adds counts, not events), so events a
	// replica applies are observed and a snapshot it loads is not. It
	// must be safe for concurrent use and must not block: it delays the
	// recording call, which holds no lock while it runs. The Observation
	// is the engine's, lent for the call: copy what you keep. Zero:
	// nothing is called, at the cost of one branch per event.
	Observe func(*Observation)
}

// DefaultMinResponses is Config.MinResponses when left zero.
const DefaultMinResponses = 10

// settings is a validated Config with defaults filled in.
type settings struct {
	layout    *timeline.Layout
	location  *time.Location
	weekStart time.Weekday
	maxKeys   int
	overflow  Key
	maxBytes  int64
	// maxResponses is Config.MaxHeldResponses with its default.
	maxResponses int
	precision    uint8
	cacheBytes   int64
	lanes        int
	minResp      uint64
	clock        window.Clock
	// sampleEvery: Record reads the clock on one event in sampleEvery (see
	// clockSample). 64 for the system clock; 1, every event, for any other.
	sampleEvery uint32
	observe     func(*Observation)
}

func (c Config) settings() (settings, error) {
	s := settings{maxKeys: c.MaxKeys, precision: c.Precision, cacheBytes: c.CacheBytes, lanes: c.Lanes, clock: c.Clock,
		observe: c.Observe}
	tiers := c.Tiers
	if tiers == nil {
		tiers = window.DefaultTiers()
	}
	future := c.MaxFuture
	switch {
	case future == 0:
		future = time.Minute
	case future < 0:
		future = 0
	}
	var err error
	if s.location = c.Location; s.location == nil {
		s.location = time.UTC
	}
	if c.WeekStart < 0 || c.WeekStart > 6 {
		return s, fmt.Errorf("%w: WeekStart %d, want 0 (Monday) to 6 (Sunday)", ErrConfig, c.WeekStart)
	}
	s.weekStart = time.Weekday((1 + c.WeekStart) % 7)
	if s.layout, err = timeline.NewLayout(tiers, future, s.location); err != nil {
		return s, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	switch {
	case s.maxKeys == 0:
		s.maxKeys = 10_000
	case s.maxKeys < 0:
		return s, fmt.Errorf("%w: MaxKeys %d, want > 0", ErrConfig, s.maxKeys)
	}
	if o := c.Overflow; o != (Key{}) {
		if err := checkLabel(ErrConfig, "Overflow segment", o.Segment); err != nil {
			return s, err
		}
		if err := checkLabel(ErrConfig, "Overflow touchpoint", o.Touchpoint); err != nil {
			return s, err
		}
		s.overflow = o
	}
	if s.maxBytes = c.MaxBytes; s.maxBytes < 0 {
		return s, fmt.Errorf("%w: MaxBytes %d, want ≥ 0", ErrConfig, s.maxBytes)
	}
	switch s.maxResponses = c.MaxHeldResponses; {
	case s.maxResponses == 0:
		s.maxResponses = 1_000_000
	case s.maxResponses < 0:
		return s, fmt.Errorf("%w: MaxHeldResponses %d, want ≥ 0", ErrConfig, s.maxResponses)
	}
	// A held response keeps its finest-tier slot in 32 bits, relative to now.
	last := s.layout.Tier(s.layout.Tiers() - 1)
	if span := (last.Retention + last.Resolution + future) / s.layout.Tier(0).Resolution; span >= 1<<30 {
		return s, fmt.Errorf("%w: the tiers span %d finest buckets, want fewer than 2^30 (a coarser finest tier)", ErrConfig, span)
	}
	if s.precision == 0 {
		s.precision = sketch.DefaultPrecision
	}
	if _, err := sketch.NewUniques(s.precision); err != nil {
		return s, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if s.cacheBytes == 0 {
		s.cacheBytes = 32 << 20
	}
	switch {
	case s.lanes == 0:
		s.lanes = 1 << bits.Len(uint(runtime.GOMAXPROCS(0)-1))
	case s.lanes < 0 || s.lanes > 64:
		return s, fmt.Errorf("%w: Lanes %d, want 1-64", ErrConfig, s.lanes)
	}
	s.lanes = min(s.lanes, 64)
	switch {
	case c.MinResponses == 0:
		s.minResp = DefaultMinResponses
	case c.MinResponses < 0:
		return s, fmt.Errorf("%w: MinResponses %d, want ≥ 0", ErrConfig, c.MinResponses)
	default:
		s.minResp = uint64(c.MinResponses)
	}
	s.sampleEvery = 1
	if s.clock == nil {
		s.clock, s.sampleEvery = window.SystemClock{}, 64
	}
	return s, nil
}
