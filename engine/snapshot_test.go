package engine

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"pgregory.net/rapid"

	"github.com/cxscore/cxscore/window"
)

// replayEvents draws an event stream over a couple of days of clock
// movement: the clock's readings and the events recorded at each.
type timedEvent struct {
	now time.Time
	ev  Event
}

func drawStream(t *rapid.T, label string, start time.Time) []timedEvent {
	now := start
	var out []timedEvent
	for range rapid.IntRange(0, 80).Draw(t, label) {
		now = now.Add(rapid.SampledFrom([]time.Duration{0, 20 * time.Second, time.Minute, 17 * time.Minute, 3 * time.Hour, 26 * time.Hour}).Draw(t, "tick"))
		ev := Event{
			Segment:    rapid.SampledFrom([]string{"enterprise", "smb", "consumer"}).Draw(t, "segment"),
			Touchpoint: rapid.SampledFrom([]string{"checkout", "web", "support"}).Draw(t, "touchpoint"),
			Metric:     Metric(rapid.IntRange(1, 3).Draw(t, "metric")),
			Time:       now.Add(-rapid.SampledFrom([]time.Duration{0, time.Minute, 50 * time.Minute, 5 * time.Hour, 3 * 24 * time.Hour}).Draw(t, "age")),
		}
		lo, hi := ev.Metric.Scale()
		ev.Score = rapid.IntRange(lo, hi).Draw(t, "score")
		if rapid.IntRange(0, 5).Draw(t, "anonymous") > 0 {
			ev.CustomerID = rapid.SampledFrom(customers[:2000]).Draw(t, "customer")
		}
		out = append(out, timedEvent{now, ev})
	}
	return out
}

func newTestEngine(t interface{ Fatal(...any) }, clock window.Clock, lanes int) *Engine {
	e, err := New(Config{Clock: clock, Lanes: lanes, MaxKeys: 100})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// answers returns every result a user can ask for at now: each selection
// (keys and roll-ups) over each window, and trends.
func answers(t interface{ Fatal(...any) }, e *Engine, now time.Time) []Result {
	var out []Result
	for _, seg := range []string{"enterprise", "smb", "consumer", All} {
		for _, tp := range []string{"checkout", "web", "support", All} {
			for _, w := range []time.Duration{5 * time.Minute, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour} {
				var r Result
				if err := e.QueryAt(now, Query{Segment: seg, Touchpoint: tp, Window: w}, &r); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
		}
		var err error
		if out, err = e.TrendAt(now, Query{Segment: seg, Window: 24 * time.Hour}, time.Hour, out); err != nil {
			t.Fatal(err)
		}
		if out, err = e.TrendAt(now, Query{Segment: seg, Window: 30 * 24 * time.Hour}, 24*time.Hour, out); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameAnswers(t *rapid.T, what string, got, want []Result) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: answer %d (%s × %s, [%v, %v)):\n got %+v\nwant %+v", what, i, want[i].Segment, want[i].Touchpoint, want[i].From, want[i].To, got[i], want[i])
		}
	}
}

func snapshot(t interface{ Fatal(...any) }, e *Engine) []byte {
	var buf bytes.Buffer
	n, err := e.WriteSnapshot(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatal(fmt.Sprintf("WriteSnapshot: %d bytes reported, %d written, %v", n, buf.Len(), err))
	}
	return buf.Bytes()
}

func TestSnapshotRestoreAndMerge(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		start := t0
		clock := window.NewManualClock(start)
		a, b, both := newTestEngine(t, clock, 2), newTestEngine(t, clock, 1), newTestEngine(t, clock, 3)
		defer a.Close()
		defer b.Close()
		defer both.Close()
		// Two replicas see interleaved shares of one stream; a third engine
		// sees all of it.
		for _, te := range drawStream(t, "events", start) {
			clock.Set(te.now)
			replica := a
			if rapid.Bool().Draw(t, "to b") {
				replica = b
			}
			errA := replica.Record(te.ev)
			errBoth := both.Record(te.ev)
			if (errA == nil) != (errBoth == nil) {
				t.Fatalf("replica and whole disagree on %+v: %v, %v", te.ev, errA, errBoth)
			}
			if rapid.IntRange(0, 9).Draw(t, "query") == 0 { // queries seal time and fill the cache
				answers(t, replica, clock.Now())
			}
		}
		now := clock.Now()
		snapA, snapB := snapshot(t, a), snapshot(t, b)

		// restore(snapshot(A)) ≡ A, and writes the same bytes again.
		restored := newTestEngine(t, clock, 2)
		defer restored.Close()
		if err := restored.MergeSnapshot(bytes.NewReader(snapA)); err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, "restored A", answers(t, restored, now), answers(t, a, now))
		if again := snapshot(t, restored); !bytes.Equal(again, snapA) {
			t.Fatalf("snapshot of the restored engine differs: %d bytes, want %d", len(again), len(snapA))
		}

		// merge(snapshot(A), snapshot(B)) ≡ one engine that saw A ∪ B, in either
		// order, into an empty engine or into A itself.
		want := answers(t, both, now)
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
		sameAnswers(t, "A then B", answers(t, ab, now), want)
		sameAnswers(t, "B then A", answers(t, ba, now), want)
		sameAnswers(t, "B into A", answers(t, a, now), want)

		// The merged engine keeps recording correctly.
		clock.Set(now.Add(time.Minute))
		ev := Event{CustomerID: "late-comer", Segment: "smb", Touchpoint: "web", Metric: NPS, Score: 10, Time: now.Add(-30 * time.Minute)}
		if err := a.Record(ev); err != nil {
			t.Fatal(err)
		}
		if err := both.Record(ev); err != nil {
			t.Fatal(err)
		}
		sameAnswers(t, "after more events", answers(t, a, clock.Now()), answers(t, both, clock.Now()))
	})
}

// Merging is associative: (A+B)+C answers as A+(B+C).
func TestSnapshotMergeAssociative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		clock := window.NewManualClock(t0)
		var snaps [3][]byte
		now := t0
		for i := range snaps {
			clock.Set(t0)
			e := newTestEngine(t, clock, 2)
			for _, te := range drawStream(t, fmt.Sprint("events ", i), t0) {
				clock.Set(te.now)
				e.Record(te.ev)
			}
			snaps[i] = snapshot(t, e)
			if clock.Now().After(now) {
				now = clock.Now()
			}
			e.Close()
		}
		clock.Set(now) // merge after every snapshot was written: none holds a future bucket
		left, bc, right := newTestEngine(t, clock, 1), newTestEngine(t, clock, 1), newTestEngine(t, clock, 1)
		merge := func(e *Engine, snap []byte) {
			if err := e.MergeSnapshot(bytes.NewReader(snap)); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range snaps {
			merge(left, s)
		}
		merge(bc, snaps[1])
		merge(bc, snaps[2])
		merge(right, snaps[0])
		merge(right, snapshot(t, bc))
		sameAnswers(t, "A+(B+C)", answers(t, right, now), answers(t, left, now))
	})
}

// smallSnapshot is a valid snapshot of a few events.
func smallSnapshot(t testing.TB) []byte {
	clock := window.NewManualClock(t0)
	e := newTestEngine(t, clock, 1)
	defer e.Close()
	for i, tp := range []string{"checkout", "web", "support"} {
		clock.Set(t0.Add(time.Duration(i) * 90 * time.Minute))
		for j := range 40 {
			e.Record(Event{CustomerID: fmt.Sprint("c-", j), Segment: "smb", Touchpoint: tp, Metric: NPS, Score: j % 11, Time: clock.Now(),
				ResponseID: fmt.Sprint("r-", j%13), Version: uint64(40*i + j)}) // new responses, corrections (moving answers to this touchpoint)
		}
		e.DeleteResponse(fmt.Sprint("r-", i))
	}
	return snapshot(t, e)
}

func TestSnapshotRejectsBadInput(t *testing.T) {
	good := smallSnapshot(t)
	clock := window.NewManualClock(t0.Add(3 * time.Hour))
	target := newTestEngine(t, clock, 2)
	defer target.Close()
	target.Record(Event{CustomerID: "mine", Segment: "enterprise", Touchpoint: "web", Metric: CSAT, Score: 5, Time: clock.Now()})
	before := snapshot(t, target)
	unchanged := func(what string) {
		t.Helper()
		if after := snapshot(t, target); !bytes.Equal(after, before) {
			t.Fatalf("%s changed the engine", what)
		}
	}

	for n := range len(good) { // every truncation
		if err := target.MergeSnapshot(bytes.NewReader(good[:n])); !errors.Is(err, ErrSnapshotCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: got %v, want ErrSnapshotCorrupt", n, len(good), err)
		}
	}
	unchanged("a truncated snapshot")
	for i := range good { // every single-byte corruption
		bad := bytes.Clone(good)
		bad[i] ^= 0x41
		err := target.MergeSnapshot(bytes.NewReader(bad))
		if !errors.Is(err, ErrSnapshotCorrupt) && !errors.Is(err, ErrSnapshotVersion) && !errors.Is(err, ErrSnapshotIncompatible) {
			t.Fatalf("byte %d flipped: got %v, want a snapshot error", i, err)
		}
	}
	unchanged("a corrupted snapshot")
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"empty":         {nil, ErrSnapshotCorrupt},
		"not ours":      {[]byte("PK\x03\x04 not a snapshot at all"), ErrSnapshotCorrupt},
		"version 4":     {append([]byte(snapshotMagic), 4), ErrSnapshotVersion},
		"trailing data": {append(bytes.Clone(good), 0), ErrSnapshotCorrupt},
	} {
		if err := target.MergeSnapshot(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
	unchanged("bad snapshots")

	// The reader's own errors come back as themselves, wherever they strike.
	errBroken := errors.New("connection reset")
	for n := 0; n <= len(good); n += 7 {
		r := io.MultiReader(bytes.NewReader(good[:n]), iotest.ErrReader(errBroken))
		if err := target.MergeSnapshot(r); !errors.Is(err, errBroken) {
			t.Fatalf("reader failing after %d bytes: got %v, want its error", n, err)
		}
	}
	unchanged("failing readers")

	// Another precision, other tiers or another zone cannot line up.
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Config{
		"precision": {Clock: clock, Precision: 14},
		"tiers":     {Clock: clock, Tiers: []window.Tier{{Resolution: time.Minute, Retention: time.Hour}}},
		"zone":      {Clock: clock, Location: kolkata},
	} {
		other, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := other.MergeSnapshot(bytes.NewReader(good)); !errors.Is(err, ErrSnapshotIncompatible) {
			t.Errorf("%s: got %v, want ErrSnapshotIncompatible", name, err)
		} else if name == "zone" && !strings.Contains(err.Error(), `time zone "UTC", this engine's are in "Asia/Kolkata"`) {
			t.Errorf("zone: got %q, want it to name both zones", err)
		}
		other.Close()
	}

	// Too many keys for the target: nothing is merged.
	small, _ := New(Config{Clock: clock, MaxKeys: 2})
	defer small.Close()
	if err := small.MergeSnapshot(bytes.NewReader(good)); !errors.Is(err, ErrTooManyKeys) {
		t.Fatalf("3 keys into MaxKeys 2: got %v, want ErrTooManyKeys", err)
	}
	if keys := small.Keys(nil); len(keys) != 0 {
		t.Fatalf("after a refused merge: keys %v, want none", keys)
	}
}

// A length field cannot make the reader allocate more than it reads.
func TestSnapshotHugeLengthsStayCheap(t *testing.T) {
	e := newTestEngine(t, window.NewManualClock(t0), 1)
	defer e.Close()
	head := smallSnapshot(t)[:len(snapshotMagic)+1]
	var hostile []byte
	hostile = append(hostile, head...)
	hostile = append(hostile, 12, 3) // precision, tiers, then a huge resolution
	hostile = append(hostile, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
	allocs := testing.AllocsPerRun(10, func() {
		if err := e.MergeSnapshot(bytes.NewReader(hostile)); !errors.Is(err, ErrSnapshotCorrupt) {
			t.Fatalf("got %v, want ErrSnapshotCorrupt", err)
		}
	})
	// Under the race detector sync.Pool drops items on purpose, so the
	// decoder's pooled buffers are sometimes allocated anew: count only
	// without it.
	if allocs > 20 && !raceEnabled {
		t.Fatalf("a hostile header cost %v allocations", allocs)
	}
}

func FuzzMergeSnapshot(f *testing.F) {
	good := smallSnapshot(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	seeds, _ := filepath.Glob(filepath.Join("testdata", "snapshots", "*.snap"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	clock := window.NewManualClock(t0.Add(3 * time.Hour))
	{ // crafted: a bucket 24 years ahead, counts beyond MaxResponses
		e, _ := New(Config{Clock: clock})
		now := clock.Now().UnixNano()
		key := func(u craftUnit) func(int) (Key, []craftUnit) {
			return func(int) (Key, []craftUnit) { return Key{"kept", "web"}, []craftUnit{u} }
		}
		for _, u := range []craftUnit{nps9(0, e.layout.Slot(0, clock.Now().AddDate(24, 0, 0).UnixNano()), 1), nps9(0, e.layout.Slot(0, now), 1<<62)} {
			var buf bytes.Buffer
			if err := craft(&buf, e, now, 1, key(u)); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
		e.Close()
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := New(Config{Clock: clock, Lanes: 1, MaxKeys: 100, MaxBytes: 4 << 20, CacheBytes: -1}) // no cache: fuzz faster
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.Record(Event{Segment: "kept", Touchpoint: "web", Metric: NPS, Score: 9, Time: clock.Now()})
		e.Record(Event{Segment: "kept", Touchpoint: "web", Metric: NPS, Score: 9, Time: clock.Now(), ResponseID: "r-3", Version: 20})
		before := snapshot(t, e)
		if err := e.MergeSnapshot(bytes.NewReader(data)); err != nil {
			if !errors.Is(err, ErrSnapshotCorrupt) && !errors.Is(err, ErrSnapshotVersion) &&
				!errors.Is(err, ErrSnapshotIncompatible) && !errors.Is(err, ErrSnapshotRefused) &&
				!errors.Is(err, ErrTooManyKeys) && !errors.Is(err, ErrMemoryBudget) && !errors.Is(err, ErrTooManyResponses) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if after := snapshot(t, e); !bytes.Equal(after, before) {
				t.Fatal("a rejected snapshot changed the engine")
			}
			return
		}
		// An accepted snapshot leaves a working engine.
		var r Result
		if err := e.Query(Query{Window: 30 * 24 * time.Hour}, &r); err != nil {
			t.Fatal(err)
		}
		if err := e.Record(Event{Segment: "kept", Touchpoint: "web", Metric: NPS, Score: 9, Time: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/snapshots, the fuzz seed corpus")

// TestSeedCorpus keeps the committed fuzz seeds readable; with
// -update-seeds it writes them anew.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "snapshots")
	if *updateSeeds {
		empty := newTestEngine(t, window.NewManualClock(t0), 1)
		defer empty.Close()
		good := smallSnapshot(t)
		for name, data := range map[string][]byte{
			"small.snap":     good,
			"empty.snap":     snapshot(t, empty),
			"truncated.snap": good[:len(good)*2/3],
		} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range map[string]error{"small.snap": nil, "empty.snap": nil, "truncated.snap": ErrSnapshotCorrupt} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		e := newTestEngine(t, window.NewManualClock(t0.Add(3*time.Hour)), 1)
		if err := e.MergeSnapshot(bytes.NewReader(data)); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
		if n := e.Stats().HeldResponses; n != 0 { // the seeds are of version 1, before responses
			t.Errorf("%s: %d responses held, want 0", name, n)
		}
		e.Close()
	}
}

// A snapshot written by main's engine before the zone was added (format 2:
// UTC buckets, held responses, days kept 35 days) loads into an engine in
// UTC with this package's default tiers, and holds exactly what the same
// events recorded here hold: equal snapshots, byte for byte.
func TestLoadsFormat2(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "format2", "main.snap"))
	if err != nil {
		t.Fatal(err)
	}
	if data[len(snapshotMagic)] != 2 {
		t.Fatalf("testdata/format2/main.snap is of version %d, want 2", data[len(snapshotMagic)])
	}
	loaded := newTestEngine(t, window.NewManualClock(format2Clock), 2)
	defer loaded.Close()
	if err := loaded.MergeSnapshot(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	recorded := newTestEngine(t, window.NewManualClock(format2Clock), 1)
	defer recorded.Close()
	if err := recordFormat2(recorded, format2Clock); err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.Stats().HeldResponses, recorded.Stats().HeldResponses; got != want || got == 0 {
		t.Fatalf("got %d held responses, want %d (and some)", got, want)
	}
	if got, want := snapshot(t, loaded), snapshot(t, recorded); !bytes.Equal(got, want) {
		t.Fatalf("the loaded format-2 snapshot holds other buckets or responses than the same events recorded here")
	}
	for _, p := range []Period{Today, Yesterday, ThisWeek, ThisMonth} {
		var got, want Result
		if err := loaded.QueryAt(format2Clock, Query{Period: p}, &got); err != nil {
			t.Fatal(err)
		}
		if err := recorded.QueryAt(format2Clock, Query{Period: p}, &want); err != nil {
			t.Fatal(err)
		}
		if got.NPS != want.NPS || got.CSAT != want.CSAT || got.CES != want.CES || got.UniqueCustomers != want.UniqueCustomers {
			t.Errorf("%v: got %+v, want %+v", p, got, want)
		}
	}
	// Its buckets are UTC days: an engine in another zone refuses it.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(Config{Clock: window.NewManualClock(format2Clock), Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.MergeSnapshot(bytes.NewReader(data)); !errors.Is(err, ErrSnapshotIncompatible) {
		t.Fatalf("into Europe/Berlin: got %v, want ErrSnapshotIncompatible", err)
	}
}

// Tiers of the same resolutions line up whatever their retentions: an
// engine that keeps days for 35 days (main's old default) takes a snapshot
// of one that keeps them for 61, dropping the days it does not keep, and
// the other way round.
func TestSnapshotOtherRetention(t *testing.T) {
	clock := window.NewManualClock(t0)
	short := window.DefaultTiers()
	short[2].Retention = 35 * 24 * time.Hour
	newEngine := func(tiers []window.Tier) *Engine {
		e, err := New(Config{Clock: clock, Tiers: tiers})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	long := newEngine(nil)
	defer long.Close()
	for _, age := range []time.Duration{time.Minute, 20 * 24 * time.Hour, 50 * 24 * time.Hour} {
		if err := long.Record(Event{Segment: "smb", Touchpoint: "web", Metric: NPS, Score: 9, Time: t0.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	shortE := newEngine(short)
	defer shortE.Close()
	if err := shortE.MergeSnapshot(bytes.NewReader(snapshot(t, long))); err != nil {
		t.Fatalf("61 days into 35: %v", err)
	}
	var r Result
	if err := shortE.Query(Query{Window: 30 * 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.NPS.Responses(); got != 2 {
		t.Fatalf("61 days into 35: %d responses over 30 days, want 2", got)
	}
	back := newEngine(nil)
	defer back.Close()
	if err := back.MergeSnapshot(bytes.NewReader(snapshot(t, shortE))); err != nil {
		t.Fatalf("35 days into 61: %v", err)
	}
	if err := back.Query(Query{Window: 60 * 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.NPS.Responses(); got != 2 {
		t.Fatalf("35 days into 61: %d responses over 60 days, want 2 (the 50-day-old one was dropped)", got)
	}
}

// TestMergeOverflowKey: the overflow key does not count towards MaxKeys in
// a merge either, so an engine at its cap restores from its own snapshot,
// and keeps recording new keys' events into the same overflow key.
func TestMergeOverflowKey(t *testing.T) {
	clock := window.NewManualClock(t0)
	cfg := Config{Clock: clock, MaxKeys: 1, Overflow: Key{"_other", "_other"}}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, seg := range []string{"a", "b", "c"} {
		if err := a.RecordAt(t0, Event{Segment: seg, Touchpoint: "t", Metric: NPS, Score: 9, Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	if _, err := a.WriteSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.MergeSnapshot(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatalf("restoring an engine at its cap with an overflow key: %v", err)
	}
	if err := b.RecordAt(t0, Event{Segment: "d", Touchpoint: "t", Metric: NPS, Score: 3, Time: t0}); err != nil {
		t.Fatalf("a new key after the restore: %v", err)
	}
	keys := b.Keys(nil)
	var r Result
	if err := b.QueryAt(t0, Query{Segment: "_other", Touchpoint: "_other", Window: time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || r.NPS.Responses() != 3 || b.Stats().Keys != 2 {
		t.Errorf("got keys %v, %d answers in the overflow key, stats %+v; want a and the overflow key holding b, c and d", keys, r.NPS.Responses(), b.Stats())
	}
	// An engine whose one key is taken cannot take the snapshot's a.
	c, _ := New(cfg)
	defer c.Close()
	c.RecordAt(t0, Event{Segment: "z", Touchpoint: "t", Metric: NPS, Score: 9, Time: t0})
	if err := c.MergeSnapshot(bytes.NewReader(snap.Bytes())); !errors.Is(err, ErrTooManyKeys) {
		t.Errorf("merge into a full engine: got %v, want ErrTooManyKeys", err)
	}
}
