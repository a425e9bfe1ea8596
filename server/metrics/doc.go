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
// each computed by the engine (engine.Query with All), exactly as
// /v1/scores answers them. Aggregate per-key series in PromQL only with
// touchpoint!="*",segment!="*", and only for counts (cxscore_responses).
//
// # Cost
//
// A scrape runs one query per key, roll-up and window; polled queries are
// mostly served from the engine's cache of sealed buckets. Each roll-up
// query walks every key, so with roll-ups a scrape grows with keys times
// segments plus touchpoints: BenchmarkCollect measures about 0.2 s at
// 1,000 keys and 3 s at 10,000 (100 segments, three windows, 2 shared
// cores), most of it the roll-ups' walks and the registry's sort of the
// series. The collector is safe for concurrent use, and concurrent scrapes
// share one computation (its metrics, one copy in memory), so N scrapers
// cost what one does.
package metrics
