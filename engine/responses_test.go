package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

// The reference model of responses with an identity: anonymous events, the
// latest version of every response (latest wins, deleted ones kept until
// their time ages out), and every answer ever added, whose customers stay
// counted (the documented upper bound on unique customers).
type respModel struct {
	layout *timeline.Layout
	anon   []modelEvent
	held   map[string]*heldModel
	ever   []modelEvent
}

type heldModel struct {
	version uint64
	ev      modelEvent
	deleted bool
}

func newRespModel(l *timeline.Layout) *respModel {
	return &respModel{layout: l, held: map[string]*heldModel{}}
}

// forget drops the responses whose time is older than retention at now.
func (m *respModel) forget(now int64) {
	oldest := m.layout.Oldest(now)
	for id, h := range m.held {
		if h.ev.t < oldest {
			delete(m.held, id)
		}
	}
}

// record applies an accepted event and returns its outcome.
func (m *respModel) record(now int64, ev Event) Outcome {
	me := modelEvent{ev, ev.Time.UnixNano()}
	if ev.ResponseID == "" {
		m.anon = append(m.anon, me)
		m.ever = append(m.ever, me)
		return Recorded
	}
	m.forget(now)
	h, ok := m.held[ev.ResponseID]
	if ok && ev.Version <= h.version {
		return Duplicate
	}
	outcome := Recorded
	if ok && !h.deleted {
		outcome = Updated
	}
	m.held[ev.ResponseID] = &heldModel{version: ev.Version, ev: me}
	m.ever = append(m.ever, me)
	return outcome
}

func (m *respModel) delete(now int64, id string) bool {
	m.forget(now)
	h, ok := m.held[id]
	if !ok || h.deleted {
		return false
	}
	h.deleted = true
	return true
}

func selected(e modelEvent, seg, tp string, from, to int64) bool {
	return e.t >= from && e.t < to && (seg == All || seg == e.Segment) && (tp == All || tp == e.Touchpoint)
}

func (m *respModel) result(seg, tp string, from, to int64) (h sketch.Histogram, uniques int) {
	for _, e := range m.anon {
		if selected(e, seg, tp, from, to) {
			h.Add(e.Metric, e.Score)
		}
	}
	for _, r := range m.held {
		if !r.deleted && selected(r.ev, seg, tp, from, to) {
			h.Add(r.ev.Metric, r.ev.Score)
		}
	}
	ids := map[string]bool{}
	for _, e := range m.ever {
		if e.CustomerID != "" && selected(e, seg, tp, from, to) {
			ids[e.CustomerID] = true
		}
	}
	return h, len(ids)
}

// check compares r with the model over [r.From, r.To), and if r ends at
// now (a sliding window, the partial point of a trend), also the events
// stamped ahead of now in the finest bucket that holds now, which a live
// answer reads whole.
func (m *respModel) check(t *rapid.T, what, seg, tp string, now int64, r *Result) {
	t.Helper()
	hi := r.To.UnixNano()
	if hi == now {
		hi = m.layout.End(0, m.layout.Slot(0, now))
	}
	h, uniques := m.result(seg, tp, r.From.UnixNano(), hi)
	if r.CSAT != h.CSAT() || r.CES != h.CES() || r.NPS != h.NPS() {
		t.Fatalf("%s: counts\n got %v %v %v\nwant %v %v %v", what, r.CSAT, r.CES, r.NPS, h.CSAT(), h.CES(), h.NPS())
	}
	got := float64(r.UniqueCustomers)
	if uniques <= 512 && got != float64(uniques) || math.Abs(got-float64(uniques)) > 0.049*float64(uniques) {
		t.Fatalf("%s: %v unique customers, want %d", what, got, uniques)
	}
}

// checkAll compares every selection over a few windows, and trends.
func (m *respModel) checkAll(t *rapid.T, what string, e *Engine, now time.Time) {
	t.Helper()
	for _, seg := range []string{"enterprise", "smb", All} {
		for _, tp := range []string{"web", All} {
			for _, w := range []time.Duration{5 * time.Minute, 2 * time.Hour, 24 * time.Hour, 35 * 24 * time.Hour} {
				var r Result
				if err := e.QueryAt(now, Query{Segment: seg, Touchpoint: tp, Window: w}, &r); err != nil {
					t.Fatal(err)
				}
				m.check(t, fmt.Sprintf("%s: %s × %s over %v", what, seg, tp, w), seg, tp, now.UnixNano(), &r)
			}
		}
	}
	for _, step := range []time.Duration{time.Hour, 24 * time.Hour} {
		rs, err := e.TrendAt(now, Query{Window: 10 * step}, step, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rs {
			m.check(t, fmt.Sprintf("%s: trend point %d by %v", what, i, step), All, All, now.UnixNano(), &rs[i])
		}
	}
}

var responseIDs = []string{"r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "delighted:8c2f", "日本-7"}

func drawResponse(t *rapid.T, now time.Time, retention time.Duration) Event {
	ev := Event{
		Segment:    rapid.SampledFrom([]string{"enterprise", "smb"}).Draw(t, "segment"),
		Touchpoint: rapid.SampledFrom([]string{"web", "app"}).Draw(t, "touchpoint"),
		Metric:     Metric(rapid.IntRange(1, 3).Draw(t, "metric")),
	}
	lo, hi := ev.Metric.Scale()
	ev.Score = rapid.IntRange(lo, hi).Draw(t, "score")
	if rapid.IntRange(0, 4).Draw(t, "anonymous") > 0 {
		ev.ResponseID = rapid.SampledFrom(responseIDs).Draw(t, "response")
		ev.Version = uint64(rapid.IntRange(0, 6).Draw(t, "version"))
	}
	if rapid.IntRange(0, 5).Draw(t, "no customer") > 0 {
		ev.CustomerID = rapid.SampledFrom(customers[:40]).Draw(t, "customer")
	}
	switch rapid.IntRange(0, 4).Draw(t, "when") {
	case 0, 1:
		ev.Time = now.Add(-time.Duration(rapid.Int64Range(0, int64(90*time.Second)).Draw(t, "recent")))
	case 2:
		ev.Time = now.Add(-rapid.SampledFrom([]time.Duration{3 * time.Minute, 45 * time.Minute, 2*time.Hour + time.Minute, 13 * time.Hour, 49 * time.Hour, 20 * 24 * time.Hour}).Draw(t, "late"))
	case 3:
		ev.Time = now.Add(-retention - time.Duration(rapid.Int64Range(-int64(48*time.Hour), int64(48*time.Hour)).Draw(t, "edge")))
	default:
		ev.Time = now.Add(time.Duration(rapid.Int64Range(0, int64(time.Minute)).Draw(t, "ahead")))
	}
	return ev
}

// The latest version of every response wins, whatever the interleaving of
// new, duplicate, lower, higher, deleted and re-created responses, with the
// clock moving past every tier, late events, and restarts from snapshots.
func TestResponsesMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clock := window.NewManualClock(t0.Add(time.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(t, "start"))))
		cfg := Config{Clock: clock, Lanes: rapid.IntRange(1, 4).Draw(t, "lanes")}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { e.Close() }()
		m := newRespModel(e.layout)
		retention := e.layout.Retention()
		for step := range rapid.IntRange(20, 120).Draw(t, "steps") {
			now := clock.Now()
			n := now.UnixNano()
			switch op := rapid.IntRange(0, 12).Draw(t, "op"); {
			case op == 0:
				clock.Advance(rapid.SampledFrom([]time.Duration{time.Second, time.Minute, 11 * time.Minute, time.Hour,
					25 * time.Hour, 8 * 24 * time.Hour, retention + time.Hour}).Draw(t, "advance"))
			case op <= 5:
				ev := drawResponse(t, now, retention)
				var got Outcome
				if rapid.Bool().Draw(t, "at") {
					got, err = e.RecordResponseAt(now, ev)
				} else {
					got, err = e.RecordResponse(ev)
				}
				tt := ev.Time.UnixNano()
				if tt < e.layout.Oldest(n) || tt > n+int64(time.Minute) {
					if err == nil || got != Rejected {
						t.Fatalf("step %d: %+v: got %v, %v, want a time error", step, ev, got, err)
					}
					continue
				}
				if want := m.record(n, ev); got != want || err != nil {
					t.Fatalf("step %d: RecordResponse(%+v): got %v, %v, want %v", step, ev, got, err, want)
				}
			case op == 6:
				batch := make([]Event, rapid.IntRange(1, 6).Draw(t, "batch"))
				want := make([]Outcome, len(batch))
				for i := range batch {
					batch[i] = drawResponse(t, now, retention)
					if tt := batch[i].Time.UnixNano(); tt >= e.layout.Oldest(n) && tt <= n+int64(time.Minute) {
						want[i] = m.record(n, batch[i])
					}
				}
				got := make([]Outcome, len(batch))
				e.RecordBatchResponsesAt(now, batch, got)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("step %d: batch event %d (%+v): got %v, want %v", step, i, batch[i], got[i], want[i])
					}
				}
			case op <= 8:
				id := rapid.SampledFrom(responseIDs).Draw(t, "delete")
				got, err := e.DeleteResponseAt(now, id)
				if want := m.delete(n, id); got != want || err != nil {
					t.Fatalf("step %d: DeleteResponse(%q): got %v, %v, want %v", step, id, got, err, want)
				}
			case op <= 10:
				m.checkAll(t, fmt.Sprintf("step %d", step), e, now)
			default: // a restart from a snapshot
				snap := snapshot(t, e)
				restored, err := New(Config{Clock: clock, Lanes: rapid.IntRange(1, 4).Draw(t, "restored lanes")})
				if err != nil {
					t.Fatal(err)
				}
				if err := restored.MergeSnapshot(bytes.NewReader(snap)); err != nil {
					t.Fatal(err)
				}
				e.Close()
				e = restored
			}
		}
		m.checkAll(t, "at the end", e, clock.Now())
	})
}

// beatsModel is the order merges resolve a response by (see
// responses.beats).
func beatsModel(a, b *heldModel) bool {
	if a.version != b.version {
		return a.version > b.version
	}
	if a.deleted != b.deleted {
		return a.deleted
	}
	minute := int64(time.Minute)
	if sa, sb := a.ev.t/minute, b.ev.t/minute; sa != sb {
		return sa > sb
	}
	if aa, ab := int(a.ev.Metric)<<4|a.ev.Score, int(b.ev.Metric)<<4|b.ev.Score; aa != ab {
		return aa > ab
	}
	return compareKeys(Key{a.ev.Segment, a.ev.Touchpoint}, Key{b.ev.Segment, b.ev.Touchpoint}) > 0
}

// merged is the state of two replicas' models merged: per response the
// higher version, a deletion winning a tie.
func mergedModel(a, b *respModel) *respModel {
	m := newRespModel(a.layout)
	m.anon = append(append(m.anon, a.anon...), b.anon...)
	m.ever = append(append(m.ever, a.ever...), b.ever...)
	for _, src := range []*respModel{a, b} {
		for id, h := range src.held {
			if o, ok := m.held[id]; !ok || beatsModel(h, o) {
				c := *h
				m.held[id] = &c
			}
		}
	}
	return m
}

// Replicas that both receive a webhook count it once when merged: merging
// snapshots keeps only the higher version's answer, in any order, into an
// empty engine or into one of the replicas.
func TestResponsesMergeSnapshots(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clock := window.NewManualClock(t0)
		a, b := newTestEngine(t, clock, 2), newTestEngine(t, clock, 3)
		defer a.Close()
		defer b.Close()
		ma, mb := newRespModel(a.layout), newRespModel(b.layout)
		retention := a.layout.Retention()
		for range rapid.IntRange(1, 60).Draw(t, "events") {
			clock.Advance(rapid.SampledFrom([]time.Duration{0, time.Second, time.Minute, time.Hour, 26 * time.Hour}).Draw(t, "tick"))
			now := clock.Now()
			n := now.UnixNano()
			if rapid.IntRange(0, 5).Draw(t, "delete") == 0 {
				id := rapid.SampledFrom(responseIDs).Draw(t, "id")
				for _, r := range []struct {
					e *Engine
					m *respModel
				}{{a, ma}, {b, mb}} {
					if rapid.Bool().Draw(t, "deleted here") {
						if got, _ := r.e.DeleteResponseAt(now, id); got != r.m.delete(n, id) {
							t.Fatalf("DeleteResponse(%q) disagrees with the model", id)
						}
					}
				}
				continue
			}
			ev := drawResponse(t, now, retention)
			if tt := ev.Time.UnixNano(); tt < a.layout.Oldest(n) || tt > n+int64(time.Minute) {
				continue
			}
			to := rapid.IntRange(0, 2).Draw(t, "to") // a, b or both
			if to != 1 {
				if got, _ := a.RecordResponseAt(now, ev); got != ma.record(n, ev) {
					t.Fatalf("A: %+v: got %v", ev, got)
				}
			}
			if to != 0 {
				if got, _ := b.RecordResponseAt(now, ev); got != mb.record(n, ev) {
					t.Fatalf("B: %+v: got %v", ev, got)
				}
			}
		}
		now := clock.Now()
		ma.forget(now.UnixNano())
		mb.forget(now.UnixNano())
		want := mergedModel(ma, mb)
		snapA, snapB := snapshot(t, a), snapshot(t, b)
		ab, ba := newTestEngine(t, clock, 1), newTestEngine(t, clock, 2)
		defer ab.Close()
		defer ba.Close()
		for _, step := range []struct {
			e    *Engine
			snap []byte
		}{{ab, snapA}, {ab, snapB}, {ba, snapB}, {ba, snapA}, {a, snapB}} {
			if err := step.e.MergeSnapshot(bytes.NewReader(step.snap)); err != nil {
				t.Fatal(err)
			}
		}
		want.checkAll(t, "A then B", ab, now)
		want.checkAll(t, "B then A", ba, now)
		want.checkAll(t, "B into A", a, now)
		// The merged engine goes on deduplicating: every held response
		// redelivered at its version is a duplicate.
		for id, h := range want.held {
			ev := h.ev.Event
			ev.ResponseID, ev.Version = id, h.version
			if got, err := ab.RecordResponseAt(now, ev); got != Duplicate {
				t.Fatalf("redelivery of %q at version %d after the merge: got %v, %v, want duplicate", id, h.version, got, err)
			}
		}
	})
}

// Parallel writers sending the same response ids with different versions:
// the highest version of each wins, whatever the arrival order.
func TestResponsesConcurrent(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, Lanes: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Two writers send batches, whose prefetches read the tables that the
	// others grow.
	const writers, ids, versions = 4, 2000, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			var batch []Event
			for i := range ids * versions {
				// Every writer sends every version of every id, each in
				// its own order (a stride coprime to ids × versions).
				j := (i*[]int{1, 3, 7, 9}[w] + w*101) % (ids * versions)
				id, v := j%ids, uint64(j/ids)
				ev := Event{CustomerID: fmt.Sprintf("c-%d", id), Segment: "s", Touchpoint: []string{"web", "app"}[id%2],
					Metric: NPS, Score: int(v), Time: t0.Add(-time.Duration(id) * 30 * time.Second),
					ResponseID: fmt.Sprintf("r-%d", id), Version: v}
				if w%2 == 1 {
					if batch = append(batch, ev); len(batch) == 8 || i == ids*versions-1 {
						if err := e.RecordBatch(batch); err != nil {
							t.Errorf("writer %d: %v", w, err)
							return
						}
						batch = batch[:0]
					}
				} else if _, err := e.RecordResponse(ev); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if i%997 == 0 {
					e.Query(Query{Window: 24 * time.Hour}, &Result{})
				}
			}
		})
	}
	wg.Wait()
	// Every id reaches version 9 (score 9) in some writer: all promoters.
	var r Result
	if err := e.Query(Query{Window: 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.NPS.Responses(); got != ids || r.NPS.Counts[9] != ids {
		t.Fatalf("after concurrent versions: %d responses, %d of score 9, want %d of score 9 (%+v)", got, r.NPS.Counts[9], ids, r.NPS)
	}
	if s := e.Stats(); s.HeldResponses != ids {
		t.Fatalf("Stats.HeldResponses %d, want %d", s.HeldResponses, ids)
	}
}

func TestResponseErrors(t *testing.T) {
	clock := window.NewManualClock(t0)
	e, err := New(Config{Clock: clock, MaxHeldResponses: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ev := Event{Segment: "s", Touchpoint: "t", Metric: CSAT, Score: 5, Time: t0}
	with := func(id string) Event { c := ev; c.ResponseID = id; return c }
	for name, tc := range map[string]struct {
		ev   Event
		want error
	}{
		"too long": {with(strings.Repeat("x", MaxResponseIDBytes+1)), ErrInvalidResponseID},
		"not utf8": {with("r-\xff"), ErrInvalidResponseID},
	} {
		if o, err := e.RecordResponse(tc.ev); !errors.Is(err, tc.want) || o != Rejected {
			t.Errorf("%s: got %v, %v, want %v", name, o, err, tc.want)
		}
	}
	if _, err := e.DeleteResponse(""); !errors.Is(err, ErrInvalidResponseID) {
		t.Errorf("DeleteResponse(\"\"): got %v, want ErrInvalidResponseID", err)
	}
	for _, id := range []string{"a", "b"} {
		if o, err := e.RecordResponse(with(id)); o != Recorded || err != nil {
			t.Fatalf("%s: got %v, %v", id, o, err)
		}
	}
	// At the limit: new ids are rejected and change nothing, held ones
	// still deduplicate and correct.
	if o, err := e.RecordResponse(with("c")); !errors.Is(err, ErrTooManyResponses) || o != Rejected {
		t.Fatalf("a third response: got %v, %v, want ErrTooManyResponses", o, err)
	}
	if o, _ := e.RecordResponse(with("a")); o != Duplicate {
		t.Fatalf("a again: got %v, want duplicate", o)
	}
	upd := with("a")
	upd.Version, upd.Score = 1, 1
	if o, _ := e.RecordResponse(upd); o != Updated {
		t.Fatalf("a at version 1: got %v, want updated", o)
	}
	var r Result
	e.Query(Query{Window: time.Hour}, &r)
	if r.CSAT.Responses() != 2 || r.CSAT.Counts[0] != 1 {
		t.Fatalf("after the limit: %+v, want one 5 and one 1", r.CSAT)
	}
	// Once the held ones age out, new ones are taken again.
	clock.Advance(e.layout.Retention() + 24*time.Hour)
	c := with("c")
	c.Time = clock.Now()
	if o, err := e.RecordResponse(c); o != Recorded || err != nil {
		t.Fatalf("after the held ones aged out: got %v, %v", o, err)
	}
	if _, err := New(Config{MaxHeldResponses: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("MaxHeldResponses -1: got %v, want ErrConfig", err)
	}
}

func TestRecordResponseDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := time.Now()
	ev := Event{CustomerID: "c-42", Segment: "enterprise", Touchpoint: "checkout", Metric: CSAT, Score: 4, Time: now, ResponseID: "r-1"}
	if _, err := e.RecordResponse(ev); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { e.RecordResponse(ev) }); n != 0 {
		t.Errorf("a duplicate: got %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { ev.Version++; e.RecordResponse(ev) }); n != 0 {
		t.Errorf("a correction: got %v allocs, want 0", n)
	}
	// New responses into a table with room: grow it first.
	for i := range 5000 {
		ev.ResponseID = fmt.Sprintf("warm-%d", i)
		e.RecordResponse(ev)
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("new-%d", i)
	}
	i := 0
	if n := testing.AllocsPerRun(len(ids)-1, func() { ev.ResponseID = ids[i]; i++; e.RecordResponse(ev) }); n > 0.05 {
		t.Errorf("new responses: got %v allocs, want about 0 (tables grow by half)", n)
	}
}

// A redelivery under other labels is a duplicate and makes no key: a
// sender that relabels a retried webhook must not leave an empty key
// behind (replicas never make one: the stream drops the message). A
// correction under other labels moves the answer, key and all.
func TestRedeliveryUnderOtherLabels(t *testing.T) {
	e, err := New(Config{Clock: window.NewManualClock(t0), MaxKeys: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ev := Event{ResponseID: "r-1", Version: 2, Segment: "smb", Touchpoint: "web", Metric: NPS, Score: 9, Time: t0}
	if o, err := e.RecordResponse(ev); o != Recorded || err != nil {
		t.Fatalf("first: got %v, %v", o, err)
	}
	if o, err := e.RecordResponse(Event{ResponseID: "other", Segment: "smb", Touchpoint: "app", Metric: NPS, Score: 9, Time: t0}); o != Recorded || err != nil {
		t.Fatalf("second key: got %v, %v", o, err)
	}
	for _, v := range []uint64{2, 1} {
		again := ev
		again.Version, again.Touchpoint = v, "email"
		if o, err := e.RecordResponse(again); o != Duplicate || err != nil { // (not ErrTooManyKeys either: MaxKeys is 2)
			t.Fatalf("version %d under smb × email: got %v, %v, want a duplicate", v, o, err)
		}
	}
	if keys := e.Keys(nil); len(keys) != 2 || slices.Contains(keys, Key{"smb", "email"}) {
		t.Fatalf("keys %v, want smb × web and smb × app only", keys)
	}
	if s := e.Stats(); s.Duplicates != 2 {
		t.Errorf("%d duplicates counted, want 2", s.Duplicates)
	}
	moved := ev
	moved.Version, moved.Touchpoint = 3, "app"
	if o, err := e.RecordResponse(moved); o != Updated || err != nil {
		t.Fatalf("a correction under smb × app: got %v, %v", o, err)
	}
	var r Result
	e.Query(Query{Segment: "smb", Touchpoint: "app", Window: time.Hour}, &r)
	if r.NPS.Responses() != 2 {
		t.Errorf("smb × app holds %d answers, want 2 (the moved one)", r.NPS.Responses())
	}
}
