package bench

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/window"
)

// memoryCase is a kind of key whose memory BenchmarkMemory measures.
type memoryCase struct {
	name    string
	perHour int // distinct customers answering per hour, one answer each
	keys    int // keys filled per measurement
}

var memoryCases = []memoryCase{
	{"quiet", 20, 100},
	{"busy", 500, 10}, // 420,000 events a key: ten keys keep it to a few seconds
	// The worst case: every bucket of every tier holds more customers than
	// an exact set keeps, so each holds a dense sketch (fillWorst).
	{"worst", worstPerBucket, 4},
}

// worstPerBucket is how many customers fillWorst puts in each bucket: more
// than the 2^12/8 an exact set holds at the default precision.
const worstPerBucket = 600

// BenchmarkMemory measures the heap a key holds with every tier full: keys
// answered by perHour new customers an hour, each once, evenly through 61
// days and 2 hours (every bucket of the minute, hour and day tiers filled),
// recorded in time order at each event's time. The heap is measured with
// runtime.ReadMemStats after runtime.GC, from just after the engine (or
// baseline) was created to just after the fill, and divided by the number
// of keys: B/key. Customer ids are fresh strings, as a service decodes
// them from requests; whatever keeps them pays for them. An op is one fill
// and measurement.
func BenchmarkMemory(b *testing.B) {
	for _, mc := range memoryCases {
		b.Run(mc.name, func(b *testing.B) {
			b.Run("cxscore", func(b *testing.B) {
				var bytes, buckets, stats float64
				for b.Loop() {
					e, err := engine.New(engine.Config{})
					if err != nil {
						b.Fatal(err)
					}
					bytes += heapGrowth(func() { fillKeys(b, e, mc) })
					buckets += float64(e.Stats().Buckets)
					stats += float64(e.Stats().Bytes)
					e.Close()
				}
				b.ReportMetric(bytes/float64(b.N)/float64(mc.keys), "B/key")
				b.ReportMetric(buckets/float64(b.N)/float64(mc.keys), "buckets/key")
				b.ReportMetric(stats/float64(b.N)/float64(mc.keys), "stats-B/key") // what Stats().Bytes counts
			})
			b.Run("naive", func(b *testing.B) {
				var bytes float64
				for b.Loop() {
					n := NewNaive()
					bytes += heapGrowth(func() { fillKeys(b, n, mc) })
					runtime.KeepAlive(n)
				}
				b.ReportMetric(bytes/float64(b.N)/float64(mc.keys), "B/key")
			})
		})
	}
}

// BenchmarkMemoryQuarterTiers is BenchmarkMemory's quiet key with
// window.QuarterTiers (days kept 184 days), filled for 184 days and 2
// hours: what answering quarters costs.
func BenchmarkMemoryQuarterTiers(b *testing.B) {
	mc := memoryCase{"quiet", 20, 20}
	var bytes, buckets float64
	for b.Loop() {
		e, err := engine.New(engine.Config{Tiers: window.QuarterTiers()})
		if err != nil {
			b.Fatal(err)
		}
		bytes += heapGrowth(func() { fillKeysFor(b, e, mc, window.QuarterTiers()) })
		buckets += float64(e.Stats().Buckets)
		e.Close()
	}
	b.ReportMetric(bytes/float64(b.N)/float64(mc.keys), "B/key")
	b.ReportMetric(buckets/float64(b.N)/float64(mc.keys), "buckets/key")
}

// heapGrowth returns how many bytes of live heap fill adds.
func heapGrowth(fill func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}

// fillKeys records mc's traffic into r: mc.keys keys, each answered by
// mc.perHour new customers an hour, for the default tiers' longest
// retention (61 days) and 2 hours up to a fixed end, in time order. Scores
// follow ScoreShapes.
func fillKeys(b *testing.B, r recorder, mc memoryCase) {
	if mc.name == "worst" {
		fillWorst(b, r, mc)
		return
	}
	fillKeysFor(b, r, mc, window.DefaultTiers())
}

// fillKeysFor is fillKeys over the longest retention of tiers.
func fillKeysFor(b *testing.B, r recorder, mc memoryCase, tiers []window.Tier) {
	end := DefaultHistory().End
	start := end.Add(-tiers[len(tiers)-1].Retention - 2*time.Hour).Truncate(time.Hour)
	rng := rand.New(rand.NewPCG(uint64(mc.perHour), 1))
	metrics := []engine.Metric{engine.NPS, engine.NPS, engine.CSAT, engine.CSAT, engine.CES}
	customer := 0
	var id []byte
	for hour := start; hour.Before(end); hour = hour.Add(time.Hour) {
		for j := range mc.perHour {
			at := hour.Add(time.Duration(j) * time.Hour / time.Duration(mc.perHour))
			if !at.Before(end) {
				break
			}
			for k := range mc.keys {
				m := metrics[rng.IntN(len(metrics))]
				low, _ := m.Scale()
				customer++
				id = strconv.AppendInt(append(id[:0], "c-"...), int64(customer), 10)
				ev := engine.Event{
					CustomerID: string(id),
					Segment:    "segment-" + strconv.Itoa(k/20),
					Touchpoint: touchpointNames[k%20],
					Metric:     m,
					Score:      low + pick(rng, ScoreShapes[m]),
					Time:       at,
				}
				if err := r.RecordAt(at, ev); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// fillWorst records, as of a fixed end, mc.perHour new customers at the
// start of every bucket of every default tier (the 120 minutes, 48 hours
// and 61 days before the end), back-dated as a hostile or replaying sender
// could: every bucket then holds a dense sketch, the most a bucket holds.
func fillWorst(b *testing.B, r recorder, mc memoryCase) {
	end := DefaultHistory().End
	var times []time.Time
	for _, t := range window.DefaultTiers() {
		last := end.Truncate(t.Resolution)
		for i := range int(t.Retention / t.Resolution) {
			times = append(times, last.Add(-time.Duration(i)*t.Resolution))
		}
	}
	customer := 0
	var id []byte
	for _, at := range times {
		for range mc.perHour {
			for k := range mc.keys {
				customer++
				id = strconv.AppendInt(append(id[:0], "c-"...), int64(customer), 10)
				ev := engine.Event{CustomerID: string(id), Segment: "segment-0", Touchpoint: touchpointNames[k%20],
					Metric: engine.NPS, Score: customer % 11, Time: at}
				if err := r.RecordAt(end, ev); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// pick returns i with probability shape[i].
func pick(rng *rand.Rand, shape []float64) int {
	u := rng.Float64()
	for i, p := range shape {
		if u -= p; u < 0 {
			return i
		}
	}
	return len(shape) - 1
}
