// Package bench holds cxscore's comparative benchmarks: the engine side by
// side with the alternatives a Go team would otherwise write or use. It is a
// module of its own so that the baselines' dependencies (prometheus,
// golang.org/x/perf) stay out of the library's go.mod.
//
// # Contenders
//
// Sub-benchmarks are named after the contender, so that benchstat and
// cmd/report line them up:
//
//   - cxscore: engine.Engine with its default Config (minutes for 2 hours,
//     hours for 48, days for 35; the result cache on, except in cold
//     queries).
//   - naive: Naive, the design a team writes in an afternoon: one mutex, a
//     map keyed by segment+"|"+touchpoint, minute buckets kept for 61 days
//     with score counts and the exact set of customer ids, windows answered
//     by summing minute buckets. It answers exactly what the engine answers
//     (TestNaiveMatchesEngine), with exact unique customers.
//   - CounterVec: a prometheus CounterVec labelled segment, touchpoint,
//     metric and score, incremented through WithLabelValues: what teams use
//     today to count responses in process. It keeps no windows and no
//     unique customers, so it only takes part in recording.
//   - sharded: Sharded, the plain design a team writes when one mutex is
//     too slow: 64 mutex shards by key hash, minute buckets for two hours
//     with score counts and one axiomhq HyperLogLog (precision 14) each.
//     It records only (TestShardedMatchesModel checks its counts).
//   - striped: Striped, a floor rather than a design: per-goroutine stripes
//     of plain counters and one HyperLogLog register update per event, no
//     locks, no windows. Its RecordParallel scaling is what this machine
//     allows recording to scale to.
//
// # Workload
//
// Workload generates, once and outside any timed loop, a deterministic
// stream of responses shaped like production traffic: 50 segments × 20
// touchpoints with Zipf-skewed traffic ("web" takes half, the hottest key
// about 15%, about 9,000 events a minute), a million customers of whom the
// busiest 1% give a fifth of the answers, 2% anonymous answers, a mix of
// 40% NPS (bimodal: 62% promoters, a 15% detractor tail), 40% CSAT (80% 4-5)
// and 20% CES (centred on 5), arriving at 1,000 events a simulated second,
// 3% of them late by a minute to 6 hours. UniformWorkload is the second
// workload: keys uniform over the same 1,000, 100,000 customers drawn
// uniformly, a million events a simulated hour, so every key's hour holds
// about 1,000 answers from nearly as many customers, past the exact limit
// of the engine's unique-customer sketches. A Stream replays its million
// events endlessly, each pass shifted forward in time, so minute buckets
// keep rotating at the simulated rate whatever the number of iterations.
//
// # Benchmarks
//
//   - BenchmarkRecord: one goroutine records the workload, each event with
//     RecordAt at its simulated arrival time. RecordAt is the honest call
//     here: Record would read the system clock, so buckets would rotate once
//     per real minute (every few hundred million events) instead of once per
//     simulated one, hiding the cost of rotation. The only work RecordAt
//     skips is Record's clock read, once per 64 events.
//   - BenchmarkRecordParallel: the same from GOMAXPROCS goroutines
//     (b.RunParallel), taking events in arrival order 64 at a time, so the
//     cores hit the same hot keys at the same simulated time. Run it with
//     -cpu 1,2 to see how recording scales.
//   - BenchmarkRecordUniform, BenchmarkRecordParallelUniform: the same on
//     the uniform workload, after one warm pass (about a simulated hour):
//     steady state, 2-4 million events timed at the default -benchtime.
//     The naive baseline is left out of them.
//   - BenchmarkQuery: queries against a month of history (DefaultHistory:
//     about 4.4 million events, built once per test binary in a few seconds):
//     one key over 1 hour (a typical key, about 30 events a minute, and the
//     hottest), the busiest segment over 24 hours, everything (1,000 keys)
//     over 30 days, and the busiest segment's last 24 hours hour by hour
//     (TrendAt). Each runs "cold" (the engine without its result cache) and
//     "polled" (the same query again at the same time, the way dashboards
//     ask; the engine's cache holds the sealed part of the window). The naive
//     baseline has no cache: both modes cost it the same.
//   - BenchmarkMemory: heap per key (B/key, from runtime.ReadMemStats after
//     runtime.GC) with every tier full after 61 days of traffic, for a quiet
//     key (20 customers an hour) and a busy one (500 an hour).
//   - BenchmarkRecordResponse: BenchmarkRecord for cxscore with response
//     ids (RecordResponseAt): "anonymous" (none), "new" (a fresh id per
//     event), "duplicate" (held ids redelivered at their version) and
//     "correction" (at a higher version: the old answer leaves its
//     buckets). Ids are 12 characters, sliced from one string so that the
//     benchmark allocates none itself.
//   - BenchmarkRecordBatchResponse: "anonymous" and "new" in batches of 256
//     (RecordBatchResponsesAt, as the HTTP ingest records them), where the
//     engine loads the response table ahead of the event it records.
//   - BenchmarkHeldResponses: a million held responses: heap bytes per held
//     response, and the snapshot bytes they add (per response and in all),
//     against the same events without ids.
//
// The tests check what the comparison rests on: that the naive baseline
// answers the same counts as the engine, and that the workload has the
// promised skew, late share and metric mix.
//
// # Running
//
// From this directory:
//
//	go test ./...                                                  # the tests, a few seconds
//	go test -run '^$' -bench . -benchmem -timeout 0                # every benchmark, about 3 minutes (-cpu 1,2: 5)
//	go test -run '^$' -bench 'Record' -benchmem -count 6 -cpu 1,2  # recording only, 2 minutes
//	go run ./cmd/report                                            # the Markdown tables, about 12 minutes
//
// cmd/report runs the benchmarks (flags -bench, -count, -benchtime, -cpu;
// by default 6 interleaved rounds with -cpu 1,2) and prints a table of
// medians per contender with benchstat's confidence intervals, the ratios
// between contenders, allocations, the 2-CPU/1-CPU scaling of recording,
// and memory per key, with the CPU, Go version, commit, date and the exact
// go test commands. -o keeps the raw output for benchstat. CI runs every
// benchmark once (-benchtime 1x, under a minute) so that none can rot.
//
// Figures move between runs on shared 2-core machines by more than
// contenders differ within one run: compare contenders from the same run.
package bench
