package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// keysModel extends the reference model with what makes keys go: deletion,
// expiry sweeps (mirroring the engine's schedule: a sweep at most once a
// minute of record time) and the overflow key.
type keysModel struct {
	*model
	overflow  Key
	overflows int64
	nextSweep int64
}

func (m *keysModel) oldest(now int64) int64 {
	last := m.tiers[len(m.tiers)-1]
	day := int64(last.Resolution)
	return (now/day - int64(last.Retention/last.Resolution)) * day
}

func (m *keysModel) sweep(now int64) {
	m.nextSweep = now + int64(time.Minute)
	live := map[Key]bool{}
	for _, e := range m.events {
		if e.t >= m.oldest(now) {
			live[Key{e.Segment, e.Touchpoint}] = true
		}
	}
	for k := range m.keys {
		if !live[k] {
			m.drop(func(x Key) bool { return x == k })
		}
	}
}

func (m *keysModel) drop(match func(Key) bool) (n int) {
	for k := range m.keys {
		if match(k) {
			delete(m.keys, k)
			n++
		}
	}
	kept := m.events[:0]
	for _, e := range m.events {
		if !match(Key{e.Segment, e.Touchpoint}) {
			kept = append(kept, e)
		}
	}
	m.events = kept
	return n
}

// record is what the engine must do with ev at now: the error class, and
// the event as recorded (into the overflow key, maybe).
func (m *keysModel) record(now int64, ev Event) (error, Event) {
	k := Key{ev.Segment, ev.Touchpoint}
	max := m.maxKeys
	m.maxKeys = 1 << 30 // the key count is checked here, without the overflow key
	err := m.expect(now, ev)
	m.maxKeys = max
	if err == nil && !m.keys[k] && m.count() >= m.maxKeys {
		if now >= m.nextSweep {
			m.sweep(now)
		}
		if !m.keys[k] && m.count() >= m.maxKeys {
			err = ErrTooManyKeys
		}
		if errors.Is(err, ErrTooManyKeys) && m.overflow != (Key{}) {
			err = nil
			m.overflows++
			ev.Segment, ev.Touchpoint = m.overflow.Segment, m.overflow.Touchpoint
		}
	}
	if err == nil {
		m.keys[Key{ev.Segment, ev.Touchpoint}] = true
		m.events = append(m.events, modelEvent{ev, ev.Time.UnixNano()})
		if now >= m.nextSweep {
			m.sweep(now)
		}
	}
	return err, ev
}

// count is the number of keys that count towards MaxKeys.
func (m *keysModel) count() int {
	n := len(m.keys)
	if m.keys[m.overflow] {
		n--
	}
	return n
}

func TestKeysComeAndGo(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tiers := []window.Tier{
			{Resolution: time.Minute, Retention: 10 * time.Minute},
			{Resolution: 10 * time.Minute, Retention: 2 * time.Hour},
			{Resolution: time.Hour, Retention: 12 * time.Hour},
		}
		clock := window.NewManualClock(t0)
		cfg := Config{Tiers: tiers, MaxKeys: rapid.IntRange(1, 6).Draw(t, "max keys"), Clock: clock, Lanes: rapid.IntRange(1, 3).Draw(t, "lanes")}
		if rapid.Bool().Draw(t, "overflow") {
			cfg.Overflow = Key{"_other", "_other"}
		}
		if rapid.Bool().Draw(t, "no cache") {
			cfg.CacheBytes = -1
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		set, _ := cfg.settings()
		m := &keysModel{model: &model{maxKeys: cfg.MaxKeys, minResp: DefaultMinResponses, future: set.layout.Future(), keys: map[Key]bool{}}, overflow: cfg.Overflow}
		for k := range set.layout.Tiers() {
			m.tiers = append(m.tiers, set.layout.Tier(k))
		}
		segs, tps := []string{"enterprise", "smb", "consumer"}, []string{"checkout", "web", "app"}
		var last *Query // asked again after every deletion, to catch a stale cached answer
		query := func(step int, now time.Time, q Query) {
			var r Result
			if err := e.QueryAt(now, q, &r); err != nil {
				t.Fatalf("step %d: Query: %v", step, err)
			}
			from, to, _ := m.span(now.UnixNano(), q.Window)
			m.check(t, fmt.Sprintf("step %d: %s × %s over %v", step, q.Segment, q.Touchpoint, q.Window), q.Segment, q.Touchpoint, from, to, true, &r)
			last = &q
		}
		for step := range rapid.IntRange(20, 120).Draw(t, "steps") {
			now := clock.Now()
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op == 0:
				clock.Advance(rapid.SampledFrom([]time.Duration{time.Second, time.Minute, 7 * time.Minute, time.Hour, 11 * time.Hour, 13 * time.Hour}).Draw(t, "advance"))
			case op <= 4:
				ev := Event{
					Segment:    rapid.SampledFrom(segs).Draw(t, "segment"),
					Touchpoint: rapid.SampledFrom(tps).Draw(t, "touchpoint"),
					Metric:     NPS,
					Score:      rapid.IntRange(0, 10).Draw(t, "score"),
					CustomerID: rapid.SampledFrom(customers[:50]).Draw(t, "customer"),
					Time:       now.Add(-time.Duration(rapid.Int64Range(0, int64(13*time.Hour)).Draw(t, "age"))),
				}
				want, _ := m.record(now.UnixNano(), ev)
				if err := e.RecordAt(now, ev); !errors.Is(err, want) || (err == nil) != (want == nil) {
					t.Fatalf("step %d: Record(%s × %s at %v): got %v, want %v", step, ev.Segment, ev.Touchpoint, ev.Time, err, want)
				}
			case op == 5:
				seg := rapid.SampledFrom(segs).Draw(t, "delete segment")
				tp := rapid.SampledFrom(append([]string{"", All}, tps...)).Draw(t, "delete touchpoint")
				want := m.drop(func(k Key) bool { return k.Segment == seg && (tp == "" || tp == All || k.Touchpoint == tp) })
				if got, err := e.DeleteKeys(seg, tp); err != nil || got != want {
					t.Fatalf("step %d: DeleteKeys(%q, %q): got %d, %v, want %d", step, seg, tp, got, err, want)
				}
				if last != nil {
					e.cache.wait()
					query(step, now, *last)
				}
			default:
				seg := rapid.SampledFrom(append([]string{All, "_other"}, segs...)).Draw(t, "q segment")
				tp := rapid.SampledFrom(append([]string{All}, tps...)).Draw(t, "q touchpoint")
				w := rapid.SampledFrom([]time.Duration{5 * time.Minute, 2 * time.Hour, 12 * time.Hour}).Draw(t, "window")
				query(step, now, Query{Segment: seg, Touchpoint: tp, Window: w})
			}
			var want []Key
			for _, k := range e.Keys(nil) {
				if !m.keys[k] {
					t.Fatalf("step %d: engine holds key %v, the model does not (engine %v, model %v)", step, k, e.Keys(nil), m.keys)
				}
				want = append(want, k)
			}
			if len(want) != len(m.keys) {
				t.Fatalf("step %d: engine holds %d keys %v, model %d %v", step, len(want), want, len(m.keys), m.keys)
			}
			if got := e.Stats().Overflowed; got != m.overflows {
				t.Fatalf("step %d: Stats.Overflowed %d, want %d", step, got, m.overflows)
			}
		}
	})
}

func TestDeleteKeysErrors(t *testing.T) {
	e, _ := New(Config{Clock: window.NewManualClock(t0)})
	for _, seg := range []string{"", All, string(make([]byte, 129))} {
		if _, err := e.DeleteKeys(seg, ""); !errors.Is(err, ErrInvalidSegment) {
			t.Errorf("DeleteKeys(%q): got %v, want ErrInvalidSegment", seg, err)
		}
	}
	if n, err := e.DeleteKeys("nobody", ""); n != 0 || err != nil {
		t.Errorf("DeleteKeys of no key: got %d, %v, want 0, nil", n, err)
	}
	e.Close()
	if _, err := e.DeleteKeys("smb", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v, want ErrClosed", err)
	}
	if _, err := New(Config{Overflow: Key{"_other", All}}); !errors.Is(err, ErrConfig) {
		t.Errorf("Overflow touchpoint %q: got %v, want ErrConfig", All, err)
	}
}

// A flood of junk segments fills the key table up to MaxKeys and no
// further: with an overflow key, their events are still counted, the
// legitimate keys keep recording, and once the junk ages out new
// legitimate keys get keys of their own again.
func TestOverflowFlood(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, MaxKeys: 1000, Overflow: Key{"_other", "_other"}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	record := func(seg string) {
		t.Helper()
		if err := e.Record(Event{Segment: seg, Touchpoint: "web", Metric: CSAT, Score: 5}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		record(fmt.Sprintf("legit-%d", i))
	}
	const junk = 100_000
	for i := range junk {
		record(fmt.Sprintf("junk-%d", i))
	}
	for i := range 10 {
		record(fmt.Sprintf("legit-%d", i))
	}
	record("latecomer") // no room: into the overflow key
	st := e.Stats()
	if st.Keys != 1001 || st.Overflowed != junk-990+1 {
		t.Fatalf("after the flood: %d keys, %d overflowed, want 1001, %d", st.Keys, st.Overflowed, junk-990+1)
	}
	var r Result
	if err := e.Query(Query{Segment: "legit-3", Touchpoint: "web", Window: time.Hour}, &r); err != nil || r.CSAT.Responses() != 2 {
		t.Fatalf("a legitimate key: %d responses, %v, want 2", r.CSAT.Responses(), err)
	}
	if err := e.Query(Query{Window: time.Hour}, &r); err != nil || r.CSAT.Responses() != 10+junk+10+1 {
		t.Fatalf("every key: %d responses, %v, want %d: nothing is lost", r.CSAT.Responses(), err, 10+junk+10+1)
	}
	clock.Advance(62 * 24 * time.Hour) // everything ages out
	record("latecomer")
	if st := e.Stats(); st.Keys != 1 {
		t.Fatalf("after the junk aged out: %d keys, want 1", st.Keys)
	}
}

// Keys that aged out give their memory back.
func TestExpiredKeysFreeMemory(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for k := range 500 {
		for c := range 40 {
			ev := Event{Segment: fmt.Sprintf("s-%d", k), Touchpoint: "web", Metric: NPS, Score: c % 11,
				CustomerID: fmt.Sprintf("c-%d", c), Time: t0.Add(-time.Duration(c) * time.Hour)}
			if err := e.Record(ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	full := heap()
	clock.Advance(62 * 24 * time.Hour)
	if err := e.Record(Event{Segment: "new", Touchpoint: "web", Metric: NPS, Score: 9}); err != nil {
		t.Fatal(err)
	}
	after := heap()
	t.Logf("heap: %d KiB empty, %d KiB with 500 keys, %d KiB after they aged out", before>>10, full>>10, after>>10)
	if st := e.Stats(); st.Keys != 1 {
		t.Fatalf("%d keys after expiry, want 1", st.Keys)
	}
	if grown, kept := full-before, int64(after)-int64(before); kept > int64(grown/20) {
		t.Fatalf("expired keys kept %d of %d bytes, want under 5%%", kept, grown)
	}
}

// Writers recording into keys that are deleted under them: no race, no
// write into a dropped series, and the engine stays consistent.
func TestDeleteWhileRecording(t *testing.T) {
	e, err := New(Config{Clock: window.NewManualClock(t0), Lanes: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const writers, perWriter = 4, 3000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				ev := Event{Segment: "smb", Touchpoint: fmt.Sprint("tp-", i%3), Metric: CES, Score: 1 + (w+i)%7, CustomerID: fmt.Sprint(i)}
				if err := e.Record(ev); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	deleted := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				deleted <- n
				return
			default:
			}
			if _, err := e.DeleteKeys("smb", fmt.Sprint("tp-", n%3)); err != nil {
				t.Error(err)
			}
			n++
			runtime.Gosched()
		}
	}()
	wg.Wait()
	close(stop)
	t.Logf("%d deletions during %d writes", <-deleted, writers*perWriter)
	var r Result
	if err := e.Query(Query{Segment: "smb", Window: time.Hour}, &r); err != nil || r.CES.Responses() > writers*perWriter {
		t.Fatalf("after: %d responses, %v", r.CES.Responses(), err)
	}
	for _, tp := range []string{"tp-0", "tp-1", "tp-2"} {
		if _, err := e.DeleteKeys("smb", tp); err != nil {
			t.Fatal(err)
		}
		if err := e.Record(Event{Segment: "smb", Touchpoint: tp, Metric: CES, Score: 7}); err != nil {
			t.Fatal(err)
		}
		if err := e.Query(Query{Segment: "smb", Touchpoint: tp, Window: time.Hour}, &r); err != nil || r.CES.Responses() != 1 {
			t.Fatalf("%s recreated: %d responses, %v, want 1", tp, r.CES.Responses(), err)
		}
	}
}
