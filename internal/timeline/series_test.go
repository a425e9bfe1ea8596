package timeline

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
	"unsafe"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// tb is a test bucket: a count and a sum of event weights, so a lost or a
// doubled event shows in the sum even when the count happens to match; and
// whether the series sealed it.
type tb struct {
	n, sum int64
	sealed bool
}

func (b *tb) Reset()        { *b = tb{} }
func (b *tb) Merge(o *tb)   { b.n += o.n; b.sum += o.sum }
func (b *tb) Seal()         { b.sealed = true }
func newTB(int) *tb         { return new(tb) }
func add(w int64) func(*tb) { return func(b *tb) { b.n++; b.sum += w } }

type event struct{ t, w int64 }

var t0 = time.Date(2026, 11, 26, 10, 37, 12, 0, time.UTC).UnixNano()

func smallLayout(t interface{ Fatal(...any) }) *Layout {
	l, err := NewLayout([]window.Tier{
		{Resolution: time.Minute, Retention: 10 * time.Minute},
		{Resolution: 10 * time.Minute, Retention: time.Hour},
		{Resolution: time.Hour, Retention: 6 * time.Hour},
	}, 90*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSeriesMatchesModel(t *testing.T) {
	zoned := func(zone string) func() *Layout {
		return func() *Layout {
			l, err := NewLayout(window.DefaultTiers(), time.Minute, mustZone(t, zone))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	}
	layouts := map[string]func() *Layout{
		"small":   func() *Layout { return smallLayout(t) },
		"default": zoned("UTC"),
		// Clocks that cross a DST change: hours and days of local length.
		"Lord_Howe": zoned("Australia/Lord_Howe"),
		"New_York":  zoned("America/New_York"),
		"Kathmandu": zoned("Asia/Kathmandu"),
	}
	for name, mk := range layouts {
		t.Run(name, func(t *testing.T) {
			l := mk()
			longest := int64(l.Retention())
			trs := transitions(l.Location(), time.Unix(0, t0-int64(365*24*time.Hour)), time.Unix(0, t0))
			rapid.Check(t, func(rt *rapid.T) {
				s := NewSeries[tb](l, rapid.IntRange(1, 3).Draw(rt, "lanes"), newTB)
				now := t0 + rapid.Int64Range(0, int64(24*time.Hour)).Draw(rt, "start")
				if len(trs) > 0 {
					now = rapid.SampledFrom(trs).Draw(rt, "transition").UnixNano() + rapid.Int64Range(-int64(50*time.Hour), int64(2*time.Hour)).Draw(rt, "before it")
				}
				var events []event
				var lates []int64
				for _, tr := range l.tiers {
					for _, n := range []int64{1, 3, tr.retain / 2, tr.retain + 2, tr.size + 1} {
						if back := n * tr.res; back < longest {
							lates = append(lates, back)
						}
					}
				}
				jumps := []int64{0, int64(time.Second), int64(17 * time.Second), int64(time.Minute), int64(7 * time.Minute),
					int64(time.Hour), int64(5 * time.Hour), int64(26 * time.Hour), longest, 2 * longest}
				for step := range rapid.IntRange(50, 300).Draw(rt, "steps") {
					switch rapid.IntRange(0, 9).Draw(rt, "op") {
					case 0: // the clock moves a little
						now += rapid.Int64Range(0, int64(3*time.Minute)).Draw(rt, "tick")
					case 1: // the clock moves, sometimes past every ring
						j := rapid.SampledFrom(jumps).Draw(rt, "jump")
						now += j + rapid.Int64Range(0, max(j/3, 1)).Draw(rt, "jitter")
					case 2, 3, 4, 5, 6: // an event: mostly recent, sometimes late, sometimes a little ahead
						var at int64
						switch rapid.IntRange(0, 3).Draw(rt, "age") {
						case 0:
							at = now - rapid.Int64Range(0, int64(2*time.Minute)).Draw(rt, "recent")
						case 1: // late by about a bucket of some tier, or a ring of it
							back := rapid.SampledFrom(lates).Draw(rt, "late")
							at = now - back - rapid.Int64Range(0, back/2).Draw(rt, "late jitter")
						case 2:
							at = now + rapid.Int64Range(0, int64(l.Future())).Draw(rt, "ahead")
						default:
							at = now - rapid.Int64Range(-2*int64(l.Future()), longest+int64(time.Hour)).Draw(rt, "any")
						}
						if err := l.Check(now, at); err != nil {
							if !errors.Is(err, window.ErrTooOld) && !errors.Is(err, window.ErrTooNew) {
								rt.Fatalf("Check: %v", err)
							}
							continue
						}
						w := int64(step*1000 + 1)
						s.Add(rapid.IntRange(0, 5).Draw(rt, "lane"), now, at, add(w))
						events = append(events, event{at, w})
					default: // a read of a retained bucket
						k := rapid.IntRange(0, l.Tiers()-1).Draw(rt, "tier")
						cur := l.Slot(k, now)
						slot := cur - rapid.Int64Range(-l.tiers[k].ahead, l.tiers[k].retain-1).Draw(rt, "back")
						u := Unit{k, slot}
						if !l.Retained(now, u) {
							rt.Fatalf("unit %v not retained at now", u)
						}
						var got, want tb
						s.Collect(u, &got)
						from, to := l.Start(k, slot), l.Start(k, slot+1)
						for _, e := range events {
							if e.t >= from && e.t < to {
								want.n++
								want.sum += e.w
							}
						}
						if got != want {
							rt.Fatalf("Collect(%v) at step %d: got %+v, want %+v", u, step, got, want)
						}
						if k == 0 {
							var fine tb
							s.CollectFine(slot, slot+1, &fine)
							if fine != want {
								rt.Fatalf("CollectFine(%d): got %+v, want %+v", slot, fine, want)
							}
						}
					}
				}
				// Memory stays bounded by the rings, whatever the clock did.
				limit := 0
				for k, tr := range l.tiers {
					lanes := 1
					if k == 0 {
						lanes = s.Lanes()
					}
					limit += lanes * (int(tr.size) + maxSpare)
				}
				if n := s.Buckets(); n > limit {
					rt.Fatalf("series holds %d buckets, want at most %d", n, limit)
				}
				checkSealed(rt, s)
			})
		})
	}
}

// checkSealed fails unless exactly the buckets of coarse tiers other than
// each ring's newest are sealed.
func checkSealed(t interface{ Fatalf(string, ...any) }, s *Series[tb, *tb]) {
	for i := range s.lanes {
		for _, e := range s.lanes[i].ring.entries {
			if e.slot != noSlot && e.b.sealed {
				t.Fatalf("lane %d: finest-tier bucket of slot %d is sealed", i, e.slot)
			}
		}
	}
	for k := range s.coarse {
		r := &s.coarse[k]
		for _, e := range r.entries {
			if e.slot != noSlot && e.b.sealed == (e.slot == r.newest) {
				t.Fatalf("tier %d: bucket of slot %d (newest %d) has sealed = %v", k+1, e.slot, r.newest, e.b.sealed)
			}
		}
	}
}

// After a long idle gap the series answers with nothing old, holds few
// buckets, and a new event lands alone.
func TestSeriesIdleGap(t *testing.T) {
	l := smallLayout(t)
	s := NewSeries[tb](l, 2, newTB)
	for i := range 600 { // 10 hours of one event a minute
		at := t0 + int64(i)*int64(time.Minute)
		s.Add(i, at, at, add(1))
	}
	now := t0 + int64(30*24*time.Hour)
	s.Add(0, now, now, add(5))
	for k := range l.Tiers() {
		var got tb
		s.Collect(Unit{k, l.Slot(k, now)}, &got)
		if got != (tb{n: 1, sum: 5}) {
			t.Errorf("tier %d after a 30-day gap: got %+v, want {1 5}", k, got)
		}
	}
	// The next minute's first event folds the gap away and frees the rest.
	s.Add(1, now+int64(time.Minute), now+int64(time.Minute), add(1))
	if n := s.Buckets(); n > 4+(2+2)*maxSpare {
		t.Errorf("after a 30-day gap the series holds %d buckets (%s), want only the new ones and spares", n, s.debugCounts())
	}
}

func TestSeriesConcurrent(t *testing.T) {
	l := smallLayout(t)
	s := NewSeries[tb](l, 4, newTB)
	const writers, perWriter = 4, 3000
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// Writers share one clock that walks through 50 minutes,
				// so buckets open and fold while readers read.
				now := t0 + int64(i)*int64(time.Second)
				s.Add(w, now, now-int64(i%7)*int64(time.Second), add(1))
			}
		})
	}
	readers := sync.WaitGroup{}
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				var b tb
				s.Collect(Unit{2, l.Slot(2, t0)}, &b)
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	var got tb
	from := l.Slot(1, t0-int64(time.Minute))
	to := l.Slot(1, t0+int64(perWriter)*int64(time.Second)) + 1
	for slot := from; slot < to; slot++ {
		s.Collect(Unit{1, slot}, &got)
	}
	if want := int64(writers * perWriter); got.n != want || got.sum != want {
		t.Fatalf("after concurrent writes: got %+v, want %d events", got, want)
	}
}

func TestLaneSize(t *testing.T) {
	if got := unsafe.Sizeof(lane[tb, *tb]{}); got != 128 {
		t.Fatalf("lane is %d bytes, want 128 (one lane per two cache lines)", got)
	}
}

func TestSeriesAddDoesNotAllocate(t *testing.T) {
	l := smallLayout(t)
	s := NewSeries[tb](l, 2, newTB)
	s.Add(0, t0, t0, add(1))
	w := add(1)
	if n := testing.AllocsPerRun(1000, func() { s.Add(0, t0, t0, w) }); n != 0 {
		t.Fatalf("Add to an open bucket: got %v allocs, want 0", n)
	}
}

func ExampleLayout_Units() {
	l, _ := NewLayout(window.DefaultTiers(), time.Minute, nil)
	now := time.Date(2026, 11, 26, 10, 37, 0, 0, time.UTC).UnixNano()
	span, _ := l.Span(now, 30*24*time.Hour)
	counts := map[time.Duration]int{}
	for _, u := range l.Units(span.From, l.Start(0, l.Slot(0, now)), nil) {
		counts[l.Tier(u.Tier).Resolution]++
	}
	fmt.Println(time.Unix(0, span.From).UTC().Format(time.DateOnly), counts[24*time.Hour], counts[time.Hour], counts[time.Minute])
	// Output: 2026-10-27 30 10 37
}

func (s *Series[B, PB]) debugCounts() string {
	out := ""
	for i := range s.lanes {
		out += fmt.Sprintf("lane%d=%d(spare %d) ", i, s.lanes[i].ring.count(), len(s.lanes[i].ring.spare))
	}
	for i := range s.coarse {
		out += fmt.Sprintf("tier%d=%d(spare %d) ", i+1, s.coarse[i].count(), len(s.coarse[i].spare))
	}
	return out
}

// Retire against concurrent writers: every Add either wrote, before the
// series was retired, or reports that it did not; none is lost half-way.
func TestRetireLosesNoWrite(t *testing.T) {
	l, _ := NewLayout(window.DefaultTiers(), time.Minute, nil)
	for round := range 20 {
		s := NewSeries[tb, *tb](l, 2, newTB)
		now := int64(time.Hour) * 500_000
		var wg sync.WaitGroup
		var written [4]int64
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 500 {
					if _, ok := s.Add(w, now, now-int64(i%90)*int64(time.Minute), func(b *tb) { b.n++; b.sum++ }); ok {
						written[w]++
					}
				}
			}()
		}
		if round%2 == 0 {
			s.Retire(math.MaxInt64)
		}
		wg.Wait()
		s.Retire(math.MaxInt64)
		var got tb
		for slot := l.Slot(0, now) - 100; slot <= l.Slot(0, now); slot++ {
			s.Collect(Unit{Tier: 0, Slot: slot}, &got)
		}
		if want := written[0] + written[1] + written[2] + written[3]; got.n != want {
			t.Fatalf("round %d: series holds %d events, writers were told %d were written", round, got.n, want)
		}
		if _, ok := s.Add(0, now, now, func(b *tb) { b.n++ }); ok {
			t.Fatal("Add to a retired series reported ok")
		}
	}
}

func TestRetireOnlyIdle(t *testing.T) {
	l, _ := NewLayout(window.DefaultTiers(), time.Minute, nil)
	s := NewSeries[tb, *tb](l, 1, newTB)
	now := int64(time.Hour) * 500_000
	s.Add(0, now, now-int64(time.Hour), func(b *tb) { b.n++ })
	if s.Retire(now - 2*int64(time.Hour)) {
		t.Fatal("retired a series holding an event after the bound")
	}
	if !s.Retire(now + int64(time.Hour)) {
		t.Fatal("did not retire a series whose events are all before the bound")
	}
}
