// Command sidecar serves a cxscore engine over HTTP: services post survey
// responses as JSON, dashboards ask for CSAT, CES, NPS and unique customers
// per segment × touchpoint over sliding windows, and Prometheus scrapes the
// same numbers.
//
//	go run ./examples/sidecar                 # 127.0.0.1:8080, in memory
//	go run ./examples/sidecar -help           # every flag
//
// The engine lives in memory: a restart starts from nothing.
//
// # Events
//
// POST /v1/events takes one event object, a JSON array of them, or NDJSON
// (Content-Type: application/x-ndjson or application/ndjson, one object per
// line):
//
//	{"customer_id":"c-42","segment":"enterprise","touchpoint":"checkout",
//	 "metric":"nps","score":9,"time":"2026-11-24T10:15:00Z"}
//
// metric is csat (score 1-5), ces (1-7) or nps (0-10); score is an integer
// (9.0 is read as 9, 9.5 is rejected). time is RFC 3339 and optional: an
// event without one is stamped when it is recorded, within milliseconds of
// its arrival. customer_id is optional: without it the answer is
// anonymous, counted in scores but not in unique customers. segment and
// touchpoint are required, at most 128 bytes, and not "*". Unknown fields
// are rejected rather than ignored: a misspelt "customerId" would
// otherwise make every answer silently anonymous. Text that is not UTF-8 is
// rejected rather than repaired.
//
// The answer is 200 {"accepted": N, "rejected": [{"index": I, "error": "..."}],
// "rejected_count": R}: valid events are recorded even when others in the
// same request are not, and each rejected one is named by its 0-based
// index in the body (NDJSON: among the non-blank lines) with the reason.
// The first 1000 rejections are listed; rejected_count counts them all.
//
// Bodies are never held whole: they are decoded as they arrive and recorded
// 256 events at a time, so a request's memory is one batch. The body limit
// (-max-body, 16 MiB by default, about 100,000 events) bounds the work of
// one request. A body over the limit is answered 413; when its length is
// declared up front nothing is read, otherwise the events before the limit
// are recorded and the answer counts them. A body that is not JSON at all,
// or empty, is answered 400 {"error": "..."}. In NDJSON every line stands
// alone, so a broken line is one rejected event; in an array or a sequence
// of objects a syntax error ends the reading (nothing after it can be
// trusted to line up), and the answer is 400 with the error and the counts
// of the events before it, which were recorded. A line or array element
// over 64 KiB is one rejected event (too_large).
//
// # Scores
//
// GET /v1/scores?segment=S&touchpoint=T&window=W answers the engine's
// Result as JSON. S and T left out or "*" mean every one (a roll-up). W is
// a Go duration (90m, 24h) or a whole number of days (7d); the default is
// 1h, and windows run from 1m to 35d. from and to give the time the answer
// really covers: whole buckets, the last of which holds now. A score,
// margin_of_error or interval is null when there is nothing to compute it
// from (no responses; fewer than two for the CES margin), never 0.
// interval is the 95% confidence interval {"low","high"}, for dashboards
// that draw margin bands.
//
// GET /v1/trend?segment=S&touchpoint=T&window=24h&step=1h answers
// {"segment","touchpoint","window","step","points":[...]} with one such
// result per step, oldest first. GET /v1/keys lists the segments, the
// touchpoints and the pairs seen. Unknown or repeated query parameters, and
// windows the engine cannot answer, are 400 with the reason.
//
// # Metrics
//
// GET /metrics is the Prometheus exposition: per segment × touchpoint and
// per window of -metrics-windows (5m,1h,24h by default), the gauges
// cxscore_responses{metric}, cxscore_unique_customers, cxscore_csat_score,
// cxscore_ces_score, cxscore_nps_score and their *_margin_of_error (absent
// when there is no score), computed at scrape time; the engine's size
// (cxscore_keys, cxscore_buckets); the sidecar's own counters
// cxscore_sidecar_events_accepted_total and
// cxscore_sidecar_events_rejected_total{reason} (reason is one of
// bad_json, invalid_field, too_large, unknown_metric, score_out_of_range,
// invalid_segment, invalid_touchpoint, too_old, too_new, too_many_keys,
// closed, other); the histogram
// cxscore_sidecar_http_request_duration_seconds{handler,method,code}; and
// the Go runtime and process collectors. Roll-ups are not exported: sum()
// would count them twice; ask /v1/scores.
//
// # Security and operation
//
// The sidecar binds loopback by default. With a token (-token, or better
// the CXSCORE_TOKEN variable, since command lines are visible to other
// users) every /v1/ endpoint and /metrics need "Authorization: Bearer
// <token>" and answer 401 otherwise; the token is compared in constant
// time. /metrics is behind the token because it shows the same scores and
// segment names as /v1/scores; Prometheus sends a token with
// "authorization: {credentials: ...}" in its scrape config. /healthz and
// /readyz are always open, for probes, and reveal nothing.
//
// The server has read, write, header and idle timeouts, logs with log/slog
// to stderr (the first line gives the address it listens on), and on SIGINT
// or SIGTERM stops accepting connections, answers 503 on /readyz, lets
// in-flight requests finish (up to -shutdown-timeout) and exits 0. A second
// signal kills it.
//
// # Cost
//
// Decoding takes one pass to validate each event's JSON and one to walk it,
// and allocates only the customer ID (segment and touchpoint names are
// interned); recording is the engine's, a few tens of nanoseconds per
// event. BenchmarkIngestNDJSON measures the whole path through a real
// listener.
package main
