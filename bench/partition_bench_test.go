package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cxscore/cxscore/sketch"
)

// partial is what one partition answers to a roll-up in the partitioned
// mode of docs/partitioning.md: the histogram of its keys' answers over the
// window and its customers' sketch, encoded as they would cross the wire.
type partial struct {
	hist    sketch.Histogram
	uniques []byte
}

// partials splits a roll-up of 100,000 keys over n partitions: 1,000,000
// answers from 200,000 customers, each answer on a random key, keys owned
// by partition key mod n, so a customer is seen by several partitions.
func partials(tb testing.TB, n int) []partial {
	tb.Helper()
	const keys, customers, answers = 100_000, 200_000, 1_000_000
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	sketches := make([]*sketch.Uniques, n)
	out := make([]partial, n)
	for i := range sketches {
		sketches[i], _ = sketch.NewUniques(sketch.DefaultPrecision)
	}
	for range answers {
		p := rng.IntN(keys) % n
		sketches[p].Insert(sketch.Hash("c-" + strconv.Itoa(rng.IntN(customers))))
		out[p].hist.Add(sketch.NPS, rng.IntN(11))
	}
	for i, s := range sketches {
		b, err := s.AppendBinary(nil)
		if err != nil {
			tb.Fatal(err)
		}
		out[i].uniques = b
	}
	return out
}

// BenchmarkPartitionMerge times the gather step of a partitioned roll-up:
// decoding every partition's partial answer, merging histograms and
// unioning customer sketches, and summarizing the result. The partitions'
// own work (a roll-up over their share of the keys) happens in parallel on
// their machines and is an ordinary query; this is the part that grows
// with the number of partitions.
func BenchmarkPartitionMerge(b *testing.B) {
	for _, n := range []int{2, 8, 32} {
		parts := partials(b, n)
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			var total sketch.Histogram
			union, _ := sketch.NewUniques(sketch.DefaultPrecision)
			one, _ := sketch.NewUniques(sketch.DefaultPrecision)
			bytes := 0
			for _, p := range parts {
				bytes += len(p.uniques)
			}
			b.ReportAllocs()
			for b.Loop() {
				total.Reset()
				union.Reset()
				for i := range parts {
					if err := one.UnmarshalBinary(parts[i].uniques); err != nil {
						b.Fatal(err)
					}
					if err := union.Merge(one); err != nil {
						b.Fatal(err)
					}
					total.Merge(&parts[i].hist)
				}
				sinkResult.UniqueCustomers = union.Estimate()
				sinkResult.NPS = total.NPS()
			}
			b.ReportMetric(float64(bytes)/float64(n), "sketch-bytes/partition")
		})
	}
}
