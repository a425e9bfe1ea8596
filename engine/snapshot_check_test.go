package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/cxscore/cxscore/internal/uniques"
	"github.com/cxscore/cxscore/window"
)

// craftUnit is a bucket of a crafted snapshot: slot of tier, the 23 counts
// (CSAT 1-5, CES 1-7, NPS 0-10) and an encoded customer sketch (nil: none).
type craftUnit struct {
	tier   int
	slot   int64
	counts [23]uint64
	sketch []byte
}

// craft writes a snapshot as an attacker would, for e's tiers and
// precision: written is the time it claims, and key(i) gives key i of n
// and its units, which need not be anything a writer would export. It
// reuses one buffer, so crafting a huge snapshot costs little memory.
func craft(w io.Writer, e *Engine, written int64, n int, key func(i int) (Key, []craftUnit)) error {
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w, crc)
	var empty []byte
	empty, _ = newBucket(e.set.precision, uniques.Sorted).uniq.AppendBinary(empty)
	b := append([]byte(snapshotMagic), snapshotVersion)
	b = binary.AppendUvarint(b, uint64(e.set.precision))
	b = binary.AppendUvarint(b, uint64(e.layout.Tiers()))
	for k := range e.layout.Tiers() {
		b = binary.AppendUvarint(b, uint64(e.layout.Tier(k).Resolution))
		b = binary.AppendUvarint(b, uint64(e.layout.Tier(k).Retention))
	}
	b = appendString(b, e.set.location.String()) // format 3: the zone
	b = binary.AppendVarint(b, written)
	for i := range n {
		k, units := key(i)
		b = append(b, keyRecord)
		b = appendString(b, k.Segment)
		b = appendString(b, k.Touchpoint)
		b = binary.AppendUvarint(b, uint64(len(units)))
		for _, u := range units {
			b = binary.AppendUvarint(b, uint64(u.tier))
			b = binary.AppendVarint(b, u.slot)
			for _, c := range u.counts {
				b = binary.AppendUvarint(b, c)
			}
			sk := u.sketch
			if sk == nil {
				sk = empty
			}
			b = appendString(b, string(sk))
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	b = append(b, endRecord)
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.AppendUvarint(b, 0) // no held responses
	if _, err := out.Write(b); err != nil {
		return err
	}
	_, err := w.Write(crc.Sum(nil))
	return err
}

// crafted is craft into memory, of keys given whole.
func crafted(t testing.TB, e *Engine, written time.Time, keys map[Key][]craftUnit) []byte {
	t.Helper()
	var list []Key
	for k := range keys {
		list = append(list, k)
	}
	var buf bytes.Buffer
	if err := craft(&buf, e, written.UnixNano(), len(list), func(i int) (Key, []craftUnit) { return list[i], keys[list[i]] }); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nps9 is a unit of n NPS 9 responses.
func nps9(tier int, slot int64, n uint64) craftUnit {
	u := craftUnit{tier: tier, slot: slot}
	u.counts[5+7+9] = n
	return u
}

// refusalFixture is an engine holding five real responses, and a check
// that a refused merge changed nothing.
func refusalFixture(t *testing.T, c Config) (e *Engine, clock *window.ManualClock, unchanged func(what string)) {
	t.Helper()
	clock = window.NewManualClock(t0)
	c.Clock, c.Lanes = clock, 1 // one lane: bucket counts do not depend on which lanes writers took
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	for i := range 5 {
		if err := e.Record(Event{CustomerID: fmt.Sprint("c-", i), Segment: "smb", Touchpoint: "web", Metric: NPS, Score: 10, Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, e)
	unchanged = func(what string) {
		t.Helper()
		if after := snapshot(t, e); !bytes.Equal(after, before) {
			t.Fatalf("%s changed the engine", what)
		}
		var r Result
		if err := e.Query(Query{Segment: "smb", Touchpoint: "web", Window: 30 * 24 * time.Hour}, &r); err != nil {
			t.Fatal(err)
		}
		if r.NPS.Responses() != 5 {
			t.Fatalf("after %s: %d NPS responses, want the 5 recorded", what, r.NPS.Responses())
		}
	}
	return e, clock, unchanged
}

func wantRefused(t *testing.T, err error, also error, what string) {
	t.Helper()
	if !errors.Is(err, ErrSnapshotRefused) || (also != nil && !errors.Is(err, also)) {
		t.Fatalf("%s: got %v, want ErrSnapshotRefused (and %v)", what, err, also)
	}
}

// Crafted counts cannot wrap a counter around: the attack that made 13.8
// × 10^18 responses, or erased a key's five real ones in four merges.
func TestMergeRefusesWrapAround(t *testing.T) {
	e, _, unchanged := refusalFixture(t, Config{})
	key := Key{"smb", "web"}
	slot := e.layout.Slot(0, t0.UnixNano())
	for i := range 4 { // 4 × 2^62 = 2^64: the five would be all that is left, or less
		snap := crafted(t, e, t0, map[Key][]craftUnit{key: {nps9(0, slot, 1<<62)}})
		wantRefused(t, e.MergeSnapshot(bytes.NewReader(snap)), nil, fmt.Sprint("merge ", i+1, " of 2^62 responses"))
	}
	unchanged("four merges of 2^62 responses")
	var many craftUnit // every count within the limit, their sum beyond it
	for i := range many.counts {
		many.counts[i] = MaxResponses / 16
	}
	many.slot = slot
	err := e.MergeSnapshot(bytes.NewReader(crafted(t, e, t0, map[Key][]craftUnit{key: {many}})))
	wantRefused(t, err, nil, "23 counts of 2^46")
	unchanged("23 counts of 2^46")

	// Up to MaxResponses in all is taken; one more is not.
	snap := crafted(t, e, t0, map[Key][]craftUnit{{"enterprise", "app"}: {nps9(0, slot, MaxResponses-5)}})
	if err := e.MergeSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatalf("merging up to MaxResponses: %v", err)
	}
	full := snapshot(t, e)
	err = e.MergeSnapshot(bytes.NewReader(crafted(t, e, t0, map[Key][]craftUnit{key: {nps9(1, e.layout.Slot(1, t0.UnixNano()), 1)}})))
	wantRefused(t, err, nil, "one response beyond MaxResponses")
	if after := snapshot(t, e); !bytes.Equal(after, full) {
		t.Fatal("the refused merge changed the engine")
	}
	var r Result
	if err := e.Query(Query{Window: 30 * 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if r.NPS.Responses() != MaxResponses {
		t.Fatalf("got %d responses, want MaxResponses", r.NPS.Responses())
	}
}

// A bucket further ahead than MaxFuture is refused, however far: slots 24
// years ahead were accepted and hid later events.
func TestMergeRefusesFutureBuckets(t *testing.T) {
	e, _, unchanged := refusalFixture(t, Config{MaxFuture: time.Minute})
	key := Key{"smb", "web"}
	future := t0.AddDate(24, 0, 0)
	for name, tc := range map[string]struct {
		written time.Time
		tier    int
		at      time.Time
	}{
		"24 years ahead":                  {t0, 0, future},
		"24 years ahead, by its own time": {future, 0, future},
		"a day in 24 years":               {t0, 2, future},
		"two minutes ahead":               {t0, 0, t0.Add(2 * time.Minute)},
	} {
		snap := crafted(t, e, tc.written, map[Key][]craftUnit{key: {nps9(tc.tier, e.layout.Slot(tc.tier, tc.at.UnixNano()), 1)}})
		err := e.MergeSnapshot(bytes.NewReader(snap))
		wantRefused(t, err, ErrTooNew, name)
		unchanged(name)
		t.Logf("%s: %v", name, err)
	}
	// Within MaxFuture is the clock skew a replica may have.
	snap := crafted(t, e, t0, map[Key][]craftUnit{key: {nps9(0, e.layout.Slot(0, t0.Add(time.Minute).UnixNano()), 1)}})
	if err := e.MergeSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatalf("a bucket a minute ahead: %v", err)
	}
}

// A bucket older than its tier keeps at the snapshot's own time is
// refused (no writer exports one); one the engine no longer keeps at its
// clock, in a snapshot written long ago, is dropped and the rest merged.
func TestMergeOldBuckets(t *testing.T) {
	e, clock, unchanged := refusalFixture(t, Config{})
	key := Key{"smb", "web"}
	old := t0.Add(-3 * time.Hour) // the minute tier keeps 2 hours
	snap := crafted(t, e, t0, map[Key][]craftUnit{key: {nps9(0, e.layout.Slot(0, old.UnixNano()), 1)}})
	err := e.MergeSnapshot(bytes.NewReader(snap))
	wantRefused(t, err, ErrTooOld, "a minute bucket 3 hours old")
	unchanged("a minute bucket 3 hours old")
	t.Log(err)

	// Written 3 hours ago: its minute is gone here, its hour is kept.
	twin, _, _ := refusalFixture(t, Config{}) // merges only the hour
	hour := nps9(1, e.layout.Slot(1, old.UnixNano()), 7)
	if err := twin.MergeSnapshot(bytes.NewReader(crafted(t, e, old, map[Key][]craftUnit{key: {hour}}))); err != nil {
		t.Fatal(err)
	}
	snap = crafted(t, e, old, map[Key][]craftUnit{key: {
		nps9(0, e.layout.Slot(0, old.UnixNano()), 7),
		hour,
	}})
	if err := e.MergeSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatalf("a snapshot written 3 hours ago: %v", err)
	}
	if got, want := e.Stats().Buckets, twin.Stats().Buckets; got != want {
		t.Fatalf("the engine holds %d buckets, want %d: the hour merged, not the minute of 3 hours ago", got, want)
	}
	var r Result
	if err := e.QueryAt(clock.Now(), Query{Segment: "smb", Touchpoint: "web", Window: 24 * time.Hour}, &r); err != nil {
		t.Fatal(err)
	}
	if r.NPS.Responses() != 12 {
		t.Fatalf("got %d responses in the last day, want 5 + 7", r.NPS.Responses())
	}
}

// hugeSnapshot streams a crafted snapshot of n keys, each with 16 minute
// buckets of a 400-customer sketch (about 7 KiB a key): 20,000 keys make
// the 144 MB of the attack. It returns the reader and a function that
// stops the writer and reports the bytes read.
func hugeSnapshot(t *testing.T, e *Engine, n int) (io.Reader, func() int64) {
	sk := newBucket(e.set.precision, uniques.Sorted)
	for i := range 400 {
		sk.uniq.Insert(uniques.Hash(fmt.Sprint("customer-", i)))
	}
	enc, err := sk.uniq.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := e.Now().UnixNano()
	cur := e.layout.Slot(0, now)
	units := make([]craftUnit, 16)
	for i := range units {
		units[i] = nps9(0, cur-15+int64(i), 3)
		units[i].sketch = enc
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(craft(pw, e, now, n, func(i int) (Key, []craftUnit) {
			return Key{fmt.Sprintf("segment-%06d", i), "web"}, units
		}))
	}()
	cr := &countReader{r: pr}
	return cr, func() int64 { pr.Close(); return cr.n }
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A 144 MB crafted snapshot under a small configuration is refused after
// reading what the configuration allows, with the heap barely moving: it
// took a sidecar from 13 MB to 2.25 GB.
func TestMergeHugeSnapshotRefusedEarly(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want error
	}{
		{"MaxKeys 100", Config{MaxKeys: 100}, ErrTooManyKeys},
		{"MaxBytes 2 MiB", Config{MaxBytes: 2 << 20}, ErrMemoryBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, unchanged := refusalFixture(t, tc.c)
			r, stop := hugeSnapshot(t, e, 20_000)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := e.MergeSnapshot(r)
			runtime.ReadMemStats(&after)
			read := stop()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Logf("%v; read %d KiB of 144 MB, allocated %d KiB", err, read>>10, (after.TotalAlloc-before.TotalAlloc)>>10)
			if read > 4<<20 {
				t.Errorf("read %d bytes before refusing, want at most 4 MiB", read)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("allocated %d bytes before refusing, want at most 16 MiB", alloc)
			}
			unchanged("a huge snapshot")
		})
	}
}

// Merges run one at a time, so two cannot both pass the check of what the
// engine holds: of eight merges that each take half of MaxResponses, one
// is taken.
func TestMergesSerialized(t *testing.T) {
	e, _, _ := refusalFixture(t, Config{})
	slot := e.layout.Slot(0, t0.UnixNano())
	snap := crafted(t, e, t0, map[Key][]craftUnit{{"smb", "web"}: {nps9(0, slot, MaxResponses/2)}})
	errs := make(chan error)
	for range 8 {
		go func() { errs <- e.MergeSnapshot(bytes.NewReader(snap)) }()
	}
	taken := 0
	for range 8 {
		switch err := <-errs; {
		case err == nil:
			taken++
		case !errors.Is(err, ErrSnapshotRefused):
			t.Fatal(err)
		}
	}
	if taken != 1 {
		t.Fatalf("%d of 8 merges taken, want 1", taken)
	}
}
