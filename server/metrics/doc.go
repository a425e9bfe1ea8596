// Package metrics exports a cxscore engine to Prometheus: Collector is a
// prometheus.Collector that computes, at scrape time, the responses,
// unique customers, scores and margins of error of every segment ×
// touchpoint key over a few windows, and the engine's Stats.
//
//	c, err := metrics.New(e, metrics.Options{Rollups: true})
//	if err != nil { ... }
//	prometheus.MustRegister(c)
//
// # Roll-ups
//
// Unique customers never add up: a customer who answered at two
// touchpoints is one customer of the segment, so sum() over per-key series
// overcounts, and scores of a roll-up are not the mean of its parts'
// scores. With Options.Rollups the collector also exports, for every
// window, each segment over all its touchpoints (touchpoint="*"), each
// touchpoint over all segments (segment="*") and everything (both "*"),
// each computed by the engine (engine.RollupsAt: what engine.Query with All
// gives), exactly as /v1/scores answers them. Aggregate per-key series in PromQL only with
// touchpoint!="*",segment!="*", and only for counts (cxscore_responses).
//
// # Cost
//
// A scrape makes, per window, one pass over the keys for their results
// (engine.MatrixAt) and with roll-ups one more for every roll-up at once
// (engine.RollupsAt), both mostly served from the engine's cache of sealed
// buckets: BenchmarkCollect measures about 0.07 s at 1,000 keys and 0.9 s
// at 10,000 (100 segments, 100 touchpoints, three windows, 2 shared cores;
// a query per key and roll-up took 0.16 s and 1.9 s), half of it
// client_golang building and checking the series. The engine's cache
// (Config.CacheBytes) must hold every key's entries to stay there: at
// 10,000 keys 32 MiB misses some. The collector keeps its buffers between
// scrapes (about 300 bytes per key and window), is safe for concurrent
// use, and concurrent scrapes share one computation (its metrics, one copy
// in memory), so N scrapers cost what one does.
package metrics
