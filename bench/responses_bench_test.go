package bench

import (
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// idWidth is the length of the benchmarks' response ids, about a survey
// tool's (Delighted's are 8-10 characters, UUIDs 36).
const idWidth = 12

// responseIDs are 1<<23 distinct response ids, substrings of one string so
// that handing one to Record allocates nothing (a service decodes its ids
// from the request; whatever keeps them pays for them). They are cut when
// asked for (Get), not kept as 8.4 million string headers: a slice of them
// would be 134 MB of pointers for every collection to scan, a cost of the
// benchmark that the engine's pointer-free tables do not have.
type responseIDs string

const responseIDCount = 1 << 23

var allResponseIDs = sync.OnceValue(func() responseIDs {
	buf := make([]byte, 0, responseIDCount*idWidth)
	for i := range responseIDCount {
		start := len(buf)
		buf = strconv.AppendUint(buf, uint64(i)+131621703842267136, 36) // 36^11 + i: 12 digits in base 36
		if len(buf)-start != idWidth {
			panic("response ids of uneven width")
		}
	}
	return responseIDs(buf)
})

// Get returns id i.
func (ids responseIDs) Get(i int) string { return string(ids[i*idWidth : (i+1)*idWidth]) }

func (ids responseIDs) Len() int { return responseIDCount }

// responseEngine returns an engine that holds every one of ids, closed
// when b ends.
func responseEngine(b *testing.B, ids responseIDs) *engine.Engine {
	e, err := engine.New(engine.Config{MaxHeldResponses: ids.Len()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// BenchmarkRecordResponse is BenchmarkRecord for cxscore with response ids:
// "anonymous" is the workload as is (no response ids); "new" gives every
// event a response id never seen before (the engine holds them all: 8.4
// million fit MaxHeldResponses); "duplicate" redelivers held responses at their
// version (a retried request); "correction" redelivers them at a higher
// version, each taking its old answer out of its buckets. Duplicates and
// corrections cycle over 100,000 held responses.
func BenchmarkRecordResponse(b *testing.B) {
	w := workload()
	ids := allResponseIDs()
	const held = 100_000
	for _, mode := range []string{"anonymous", "new", "duplicate", "correction"} {
		b.Run(mode, func(b *testing.B) {
			e := responseEngine(b, ids)
			s := w.Stream(time.Time{})
			var ev engine.Event
			i := 0
			next := func() time.Time {
				now := s.Next(&ev)
				switch mode {
				case "new":
					ev.ResponseID = ids.Get(i % ids.Len())
				case "duplicate":
					ev.ResponseID = ids.Get(i % held)
				case "correction":
					ev.ResponseID, ev.Version = ids.Get(i%held), uint64(i/held)
				}
				i++
				return now
			}
			for range warmEvents {
				if _, err := e.RecordResponseAt(next(), ev); err != nil {
					b.Fatal(err)
				}
			}
			if mode == "new" {
				i = warmEvents
			}
			want := map[string]engine.Outcome{"anonymous": engine.Recorded, "new": engine.Recorded,
				"duplicate": engine.Duplicate, "correction": engine.Updated}[mode]
			b.ReportAllocs()
			for b.Loop() {
				now := next()
				if o, err := e.RecordResponseAt(now, ev); o != want {
					b.Fatalf("event %d: %v, %v, want %v", i, o, err, want)
				}
			}
		})
	}
}

// BenchmarkRecordBatchResponse is BenchmarkRecordResponse's anonymous and
// new cases through RecordBatchResponsesAt, 256 events a call as the HTTP
// ingest records them; an op is one event. A batch starts loading a
// response's table line a few events before it records it, which a single
// Record cannot.
func BenchmarkRecordBatchResponse(b *testing.B) {
	w := workload()
	ids := allResponseIDs()
	const size = 256
	for _, mode := range []string{"anonymous", "new"} {
		b.Run(mode, func(b *testing.B) {
			e := responseEngine(b, ids)
			s := w.Stream(time.Time{})
			batch, out := make([]engine.Event, size), make([]engine.Outcome, size)
			i := 0
			record := func() {
				var now time.Time
				for k := range batch {
					ev := &batch[k]
					if at := s.Next(ev); at.After(now) {
						now = at
					}
					if mode == "new" {
						ev.ResponseID = ids.Get(i % ids.Len())
					}
					i++
				}
				if err := e.RecordBatchResponsesAt(now, batch, out); err != nil {
					b.Fatal(err)
				}
				for k, o := range out {
					if o != engine.Recorded {
						b.Fatalf("event %d of a batch: %v, want recorded", k, o)
					}
				}
			}
			for range warmEvents / size {
				record()
			}
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				// One event per op: a batch's cost spread over its events.
				if k%size == 0 {
					record()
				}
				k++
			}
		})
	}
}

// BenchmarkHeldResponses measures what a million held responses cost:
// heap bytes per held response (runtime.ReadMemStats after runtime.GC,
// tables and all), and the snapshot bytes they add, per response and in
// all ("snapshot-B"), against the same events recorded without response
// ids. An op is one fill and measurement.
func BenchmarkHeldResponses(b *testing.B) {
	ids := allResponseIDs()
	const n = 1_000_000
	fill := func(e *engine.Engine, withIDs bool) {
		start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		now := start.Add(30 * 24 * time.Hour)
		for i := range n {
			ev := engine.Event{Segment: "s", Touchpoint: []string{"web", "app", "email", "phone"}[i%4],
				Metric: engine.NPS, Score: i % 11, Time: start.Add(time.Duration(i) * 30 * 24 * time.Hour / n)}
			if withIDs {
				ev.ResponseID = ids.Get(i)
			}
			if _, err := e.RecordResponseAt(now, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	var perResponse, snapPer, snapTotal float64
	for b.Loop() {
		sizes := [2]float64{}
		for k, withIDs := range []bool{false, true} {
			e, err := engine.New(engine.Config{MaxHeldResponses: n})
			if err != nil {
				b.Fatal(err)
			}
			grew := heapGrowth(func() { fill(e, withIDs) })
			if withIDs {
				perResponse += grew
				if got := e.Stats().HeldResponses; got != n {
					b.Fatalf("%d responses held, want %d", got, n)
				}
			} else {
				perResponse -= grew
			}
			size, err := e.WriteSnapshot(io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			sizes[k] = float64(size)
			e.Close()
		}
		snapPer += (sizes[1] - sizes[0]) / n
		snapTotal += sizes[1]
	}
	b.ReportMetric(perResponse/float64(b.N)/n, "B/response")
	b.ReportMetric(snapPer/float64(b.N), "snapshot-B/response")
	b.ReportMetric(snapTotal/float64(b.N), "snapshot-B")
}
