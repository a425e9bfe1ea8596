// Command sidecar serves a cxscore engine over HTTP: services post survey
// responses as JSON, dashboards ask for CSAT, CES, NPS and unique customers
// per segment × touchpoint over sliding windows, and Prometheus scrapes the
// same numbers.
//
//	go run ./examples/sidecar                 # 127.0.0.1:8080, in memory
//	go run ./examples/sidecar -help           # every flag
//	go build -o cxscore-sidecar ./examples/sidecar   # the binary, for production
//
// It logs the address it listens on and the dashboard's URL at start.
// The engine lives in memory. With -snapshot FILE it is also kept in a
// file, and a restart starts where the last snapshot left off (see
// Snapshots and replicas).
//
// # Events
//
// POST /v1/events takes one event object or a JSON array of them
// (Content-Type: application/json), or NDJSON (Content-Type:
// application/x-ndjson or application/ndjson, one object per line); any
// other Content-Type, or none, is 415:
//
//	{"customer_id":"c-42","segment":"enterprise","touchpoint":"checkout",
//	 "metric":"nps","score":9,"time":"2026-11-24T10:15:00Z"}
//
// metric is csat (score 1-5), ces (1-7) or nps (0-10); score is an integer
// (9.0 is read as 9, 9.5 is rejected). time is RFC 3339 and optional: an
// event without one is stamped when it is recorded, within milliseconds of
// its arrival; an explicit one is checked as given, so that
// 0001-01-01T00:00:00Z is too old rather than now. customer_id is optional: without it the answer is
// anonymous, counted in scores but not in unique customers. segment and
// touchpoint are required, at most 128 bytes, and not "*". Unknown fields
// are rejected rather than ignored: a misspelt "customerId" would
// otherwise make every answer silently anonymous. Text that is not UTF-8,
// escapes of lone surrogates (\ud800) included, is rejected rather than
// repaired into U+FFFD.
//
// The answer is {"accepted": N, "rejected": [{"index": I, "error": "..."}],
// "rejected_count": R}: valid events are recorded even when others in the
// same request are not, and each rejected one is named by its 0-based
// index in the body (NDJSON: among the non-blank lines) with the reason.
// The first 1000 rejections are listed; rejected_count counts them all.
// Its status is 200 when the body was read to its end and something was
// recorded, 422 when every event was rejected (nothing recorded), and 400
// or 413 as below, with the counts of what was recorded before; never a
// status that invites a retry (5xx, 408, 429) once something was recorded.
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
// over -max-event-bytes (64 KiB) is one rejected event (too_large), read
// past without being held: a request holds at most one event's text.
//
// # Scores
//
// GET /v1/scores?segment=S&touchpoint=T&window=W answers the engine's
// Result as JSON. S and T left out or "*" mean every one (a roll-up). W is
// a sliding window ending now, a Go duration (90m, 24h) or a whole number
// of days (7d), from 1m to 61d, default 1h; or a calendar period in the
// business time zone (-timezone, default UTC): today, yesterday,
// this_week, last_week (weeks start on Monday), this_month, last_month,
// this_quarter or last_quarter (answered when the tiers still hold its
// start). from=F&to=T instead of window= asks for the absolute range
// [F, T), both RFC 3339 (to left out: now). from and to in the answer are
// the time really covered, as RFC 3339 instants with the zone's offset: a
// sliding window starts at the bucket edge nearest to now − W, within half
// a bucket of the coarsest tier it needs (exact to the minute within 2 h,
// ±30 min within 48 h, ±12 h beyond). partial is true when the answer
// covers less than its whole period (today, this_month). A score,
// margin_of_error or interval is null when there is nothing to compute it
// from (no responses; fewer than two for the CES margin), never 0.
// interval is the 95% confidence interval {"low","high"}, for dashboards
// that draw margin bands.
//
// GET /v1/trend?segment=S&touchpoint=T&window=24h&step=1h answers
// {"segment","touchpoint","window","step","points":[...]} with one such
// result per step, oldest first; window= (or from=, to=) as for scores,
// step= a local hour (1h), day (1d), week (1w) or calendar month (1mo), or
// a Go duration that is a whole number of buckets. Every point has
// "partial": true for the current step, and for a step the period cuts. GET /v1/keys lists the segments, the
// touchpoints and the pairs seen. DELETE /v1/keys?segment=S&touchpoint=T
// forgets a key and everything recorded for it (touchpoint left out: every
// key of the segment) and answers 200 {"deleted": N}, or 404 when nothing
// matched.
//
// GET /v1/compare?segment=S&touchpoint=T&window=W&against=B compares a
// selection's window with a baseline: B is previous (the period of the
// same length just before; the default), week (the same window a week
// earlier, for windows the day tier answers), year (52 weeks earlier, the
// same weekday; only with tiers that keep days for a year, which the
// sidecar's do not) or rest (every key outside the selection, same
// window). segment and touchpoint may repeat to select
// a set (a journey stage: touchpoint=delivery&touchpoint=returns), whose
// unique customers are a union; W defaults to 7d. It answers
// {"segments","touchpoints","window","against","current","baseline","nps",
// "csat","ces"}: current and baseline are /v1/scores objects, and each
// metric's change is {"difference","interval":{"low","high"},"p_value",
// "significant","enough"} in the score's units (NPS points, CSAT
// percentage points, CES scale points, higher being easier), each field
// null when it cannot be computed; below 10 answers on a side (enough
// false) only the difference is given. GET /v1/matrix?window=W (default
// 24h) answers {"window","segments","touchpoints","keys":[...]}, one
// /v1/scores object per segment × touchpoint, sorted. Unknown or repeated
// query parameters, and windows the engine cannot answer (such as a 30d
// window against the previous 30 days, older than the 35 days kept), are
// 400 with the reason. A path the sidecar does not serve is 404 and a
// method a path does not take 405, both in JSON like every other error.
//
// # Journey
//
// -journey FILE names a customer journey: ordered stages, each a name and
// the touchpoints it rolls up, as JSON:
//
//	{"stages": [{"name": "purchase", "touchpoints": ["checkout", "web"]},
//	            {"name": "post-purchase", "touchpoints": ["delivery", "returns", "support"]}]}
//
// The file is read once, at start; one that is not such a journey stops
// the sidecar with exit status 2 and what is wrong with it (broken JSON
// and its line, an unknown field, a stage without a name or touchpoints,
// two stages of one name, a touchpoint listed twice in a stage or "*", a
// name or touchpoint over 128 bytes, more than 32 stages). Stages may
// share a touchpoint. GET /v1/journey?segment=S&window=W&against=B
// (segment repeatable or *, as for /v1/compare; W defaults to 7d and B to
// previous) answers {"window","stages":[{"name","touchpoints","compare"}]}
// in the file's order, compare being the /v1/compare answer for the
// stage's touchpoints (their answers pooled, their unique customers
// unioned), every stage at the same instant. Without -journey it answers
// {"window":"7d","stages":[]}; the dashboard then shows no journey
// scorecard.
//
// # Alerts
//
// -alerts FILE names webhooks and rules, as JSON:
//
//	{"webhooks": [{"name": "ops", "url": "http://127.0.0.1:9000/hook", "secret": "s3cret"}],
//	 "rules": [{"name": "detractor", "kind": "response", "metric": "nps", "max_score": 6,
//	            "segment": "*", "touchpoint": "*", "webhook": "ops"},
//	           {"name": "csat-low", "kind": "threshold", "metric": "csat", "window": "1h",
//	            "below": 70, "min_responses": 20, "cooldown": "10m", "webhook": "ops"},
//	           {"name": "nps-drop", "kind": "drop", "metric": "nps", "window": "1h",
//	            "against": "previous", "min_responses": 30, "cooldown": "10m",
//	            "segment": "enterprise", "touchpoint": "*", "webhook": "ops"}]}
//
// A threshold rule has one of below and above; a drop or rise rule has
// against (previous, week, year or rest; default previous) and level
// (default 0.05); a response rule has max_score (on the metric's scale)
// and none of window, cooldown, min_responses, below, above, against or
// level. segment and touchpoint default to "*". The file is read once, at
// start; one that is invalid stops the sidecar with exit status 2 and a
// message naming the rule or webhook and its bad field. A response rule
// tests every answer recorded (posted, or applied from NATS; not what a
// snapshot merges) and fires once per response: never for a duplicate
// delivery, for a correction only if the answer it replaces did not pass;
// an anonymous answer fires each time. Its alert carries the response
// (response_id, version, customer_id, score, time), and its event id is
// derived from the rule, response id and version, so two replicas raising
// it give the receiver one id. Score rules are evaluated every
// -alert-every (30s) as package alert describes: a rule that stays true
// fires once, at most once per cooldown, and is followed by a resolved
// notice. Each alert is POSTed to its rule's webhook, signed
// (X-Cxscore-Signature: sha256=<hex HMAC-SHA256 of the body>) and with an
// X-Cxscore-Event-Id that every retry repeats; a 2xx answer is delivery,
// anything else or no answer within 5 s is retried with backoff (8 tries
// over more than 3 minutes), then given up. A webhook may set its own
// schedule: "timeout", "backoff" and "max_backoff" (Go durations such as
// "5s" or "500ms") and "attempts". Each alert has a lane of its own: one
// waiting for its retry never delays a fresh one (at most 4 tries are in
// flight per webhook), and a slow webhook never delays another. Every
// alert is also logged (msg=alert). /metrics counts them:
// cxscore_alerts_fired_total{rule,state},
// cxscore_alerts_queue_dropped_total{rule} (response rules' alerts that
// found the queue from the record path to the webhooks full), and by
// rule and webhook
// cxscore_alerts_delivered_total, _retried_total, _given_up_total and
// _dropped_total, and the gauge cxscore_alerts_pending. GET /v1/alerts
// (behind the token) lists the last 100 alerts, newest first, as
// {"alerts": [{"alert": <the webhook body>, "webhook", "delivery":
// "pending", "delivered", "given_up", "dropped" or "none", "attempts"}]}
// (for a pending alert, the tries failed so far); the dashboard shows the
// last 20.
//
// With -snapshot FILE the alert state is kept in FILE.alerts, written
// atomically like the snapshot after every evaluation that raised an
// alert, every -snapshot-every if it changed (deliveries), and at
// shutdown: which rules are firing (and under which event id), when
// each last fired (for its cooldown), and the alerts not yet delivered,
// with their bodies, event ids and tries. At start it is loaded before
// anything is evaluated, so a restart neither fires a rule that is firing
// again nor loses an alert that was due, and a pending alert is retried
// with the event id it had. Its JSON form is alert.Saved's (versioned).
// A missing file is a first start; a damaged one stops the sidecar with
// exit status 1 and a message naming it, the file left as it is. A rule
// whose name, kind, metric or selection changed in -alerts starts afresh;
// alerts pending for a webhook no longer in -alerts are dropped (logged).
// A crash (no shutdown) never fires a rule again; it may deliver again,
// with the same event id, an alert delivered less than -snapshot-every
// before it.
// Without -snapshot, alerts not yet delivered at shutdown are lost.
//
// # Dashboard
//
// GET / is a live dashboard for a person: per touchpoint and for all of
// them, NPS, CSAT and CES with their margins, response counts and unique
// customers over a chosen window and segment, each score with its change
// against the previous period of the same length from /v1/compare
// ("▲ +4.2 vs previous 24h" when significant at 5%, "(not significant)"
// when not, "not enough data" when a side has fewer than 10 answers; CES
// is higher-is-easier, so ▲ is an improvement for every metric); the NPS
// split; a segment × touchpoint heat map of a chosen metric from
// /v1/matrix (orange below the middle of the scale, blue above, greyed
// "too few" where enough is false, each cell with its responses); with
// -journey, a journey scorecard of each stage's NPS, CSAT and CES and
// their changes from /v1/journey; and a trend chart per metric with its
// 95% interval as a band (hourly over 24 hours for windows up to a day,
// daily over 30 days beyond). It refreshes every
// 5 seconds, in place, and says so in a banner when the sidecar cannot be
// reached. A score resting on fewer than 10 responses is shown as "too
// few", greyed, with its count: with fewer, the margin passes ±30 NPS
// points. The page, its script (web/app.js, plain and commented: an
// example of the API) and the chart library (uPlot, MIT, vendored in
// web/vendor by update.sh) are compiled into the binary, need nothing from
// outside and hold no data: they are served without the token, under a
// strict Content-Security-Policy, and fetch everything from /v1/. When the
// API answers 401 the page asks for the token and keeps it in the tab's
// sessionStorage.
//
// # Metrics
//
// GET /metrics is the Prometheus exposition: per segment × touchpoint and
// per window of -metrics-windows (5m,1h,24h by default), the gauges
// cxscore_responses{metric}, cxscore_unique_customers, cxscore_csat_score,
// cxscore_ces_score, cxscore_nps_score and their *_margin_of_error (absent
// when there is no score), computed at scrape time; the engine's Stats
// (cxscore_keys, cxscore_buckets, cxscore_overflowed, cxscore_bytes); the
// sidecar's own counters
// cxscore_sidecar_events_accepted_total and
// cxscore_sidecar_events_rejected_total{reason} (reason is one of
// bad_json, invalid_field, too_large, unknown_metric, score_out_of_range,
// invalid_segment, invalid_touchpoint, too_old, too_new, too_many_keys,
// invalid_response_id, too_many_responses, memory_budget, closed, other);
// the histogram
// cxscore_sidecar_http_request_duration_seconds{handler,method,code}; and
// the Go runtime and process collectors. With -metrics-rollups (on by
// default) the score gauges also cover every segment over all its
// touchpoints (touchpoint="*"), every touchpoint over all segments
// (segment="*") and everything, computed by the engine as /v1/scores
// answers them: unique customers do not add up, so sum() over per-key
// series would overcount. Select per-key series with
// touchpoint!="*",segment!="*" before aggregating them.
//
// # Snapshots and replicas
//
// With -snapshot FILE the sidecar loads FILE at start and replaces it every
// -snapshot-every (30s by default) and once more at shutdown, after the
// in-flight requests have finished. A period in which no event was accepted
// and nothing was merged writes nothing. A missing FILE is an empty start;
// one that cannot be loaded (damaged, written with another -precision, more
// keys than -max-keys) stops the start with exit status 1 and is left as it
// is, rather than overwritten by an empty state at the first write. A write
// goes to a temporary file in the same folder, which is synced and renamed
// over FILE, and then the folder is synced: a crash at any moment leaves the
// previous snapshot or the new one, whole, and loses at most the events of
// the last period plus the time of one write (the period counts from the
// end of the previous write). A crash in the middle of a write leaves its temporary
// file (FILE.tmp-*), which the next start removes, so give every sidecar a
// FILE of its own. The file is readable by its owner only: it holds every
// score and segment name. Each write is logged ("snapshot written", with
// its size and duration), a failed one at level ERROR, after which the
// previous file stays, /readyz answers 503 with the reason until a write
// succeeds, and every period tries again. A FILE that is not a regular
// file (a folder, a FIFO) stops the start at once. /metrics adds
// cxscore_sidecar_snapshot_writes_total, cxscore_sidecar_snapshot_failures_total,
// cxscore_sidecar_snapshot_last_success_timestamp_seconds (alert when it
// falls behind), cxscore_sidecar_snapshot_last_duration_seconds,
// cxscore_sidecar_snapshot_last_bytes and cxscore_sidecar_merges_total.
//
// GET /v1/snapshot streams the engine's state in the same format while
// recording goes on, consistent key by key. POST /v1/merge adds the
// snapshot in its body to the engine: counts add up, unique customers are
// unioned, buckets line up by time. Both need the token, like every /v1/
// endpoint (add -H "Authorization: Bearer $CXSCORE_TOKEN" to these);
// merge is off unless -merge is given, and then needs -admin-token if set,
// or else -token (the sidecar refuses -merge with neither):
//
//	curl -s localhost:8080/v1/snapshot -o cxscore.snap
//	curl -s --data-binary @cxscore.snap -H "Authorization: Bearer $CXSCORE_ADMIN_TOKEN" localhost:8080/v1/merge
//
// A snapshot is checked whole before anything changes, so a refused merge
// changes nothing. The answer is 200 {"merged": true, "keys": N}, N being the
// keys the sidecar holds afterwards, or {"error": "..."} with 400 for a
// body that is not a complete snapshot (truncated, damaged, something
// else), 422 for a snapshot format version this sidecar cannot read or one
// holding what it does not take (buckets beyond the clock's skew or older
// than their tier keeps, counts past engine.MaxResponses), 409 for a valid
// snapshot that conflicts with this sidecar's configuration or state
// (another -precision, more keys together than -max-keys allows, or more
// memory than its budget; the same body may merge elsewhere), 413 for a body over -max-merge-bytes
// (1 GiB by default: a merge holds about its body in memory) and 415 for a
// compressed one. Downloads count against -write-timeout, uploads against
// -read-timeout.
//
// That is enough for one view over replicas: an aggregator pulls every
// replica's snapshot and merges them all into one empty engine, which then
// answers as one engine that recorded every replica's events would, unique
// customers included (a customer seen by two replicas counts once):
//
//	curl -s replica-1:8080/v1/snapshot | curl -s --data-binary @- localhost:9090/v1/merge
//
// Merge is addition: merging a replica's snapshot into an engine that
// already holds an earlier one of the same replica counts its events
// twice. So an aggregator starts every round from an empty engine (a
// sidecar started for the round without -snapshot, or engine.New and
// MergeSnapshot in a program of its own) and answers from the previous
// round's until all replicas are in. Replicas must share -precision.
//
// # Several sidecars on one stream (-nats)
//
// With -nats the sidecar records through a NATS JetStream stream (package
// github.com/cxscore/cxscore/replica) instead of into its engine alone:
// every sidecar of the stream publishes the events it is given and applies
// the whole stream, so all of them answer alike, and none loses what was
// acknowledged when it dies. -nats takes the servers' nats:// URLs, or
// embedded to run a JetStream server inside the sidecar, with its files
// under -nats-dir (acknowledged means on disk, nothing else to run; with
// -nats-cluster, -nats-cluster-listen and -nats-routes it is one node of a
// cluster). -nats-stream names the stream (CXSCORE), created with
// -nats-replicas copies if missing (1; 3 survives the loss of a node).
//
//   - POST /v1/events answers once JetStream has stored the accepted events
//     and this sidecar's engine has applied them: a read from the same
//     sidecar sees them. If JetStream does not acknowledge in time the
//     answer is 503 and says from which event on the outcome is unknown:
//     a retry is safe for events with a response_id and may count others
//     twice.
//   - Every /v1/ answer carries Cxscore-Applied-Sequence, the stream
//     position the engine had applied; a query with Cxscore-Min-Sequence: N
//     waits (up to 10 s, then 503) until the engine has applied N, so a
//     client that wrote through one sidecar reads its write from another.
//   - /readyz is 503 until the sidecar has applied the stream as it was at
//     its start, so a load balancer sends no queries to a replica still
//     catching up.
//   - Checkpoints of the engine go to the stream's Object Store bucket, and
//     a restart loads the newest and replays the rest of the stream.
//   - DELETE /v1/responses/{id} and DELETE /v1/keys are published to the
//     stream and applied by every sidecar in stream order; the answer is
//     a sidecar's alone (200 {"deleted": ...}, or 404 when this one held
//     nothing), sent once this sidecar has applied the deletion, with its
//     Cxscore-Applied-Sequence. A 503 means the stream did not acknowledge
//     in time: the deletion may or may not be applied, and sending it
//     again is safe. Sidecars of a release without replicated deletions
//     skip them: upgrade every sidecar of a stream before deleting.
//   - The answer's "accepted", "duplicates" and "updated" are those of
//     this sidecar's engine as it applied the events from the stream, so
//     they are exact as without -nats.
//   - -snapshot FILE keeps a local copy of the newest checkpoint, tagged
//     with the stream's name, its creation time and the sequence it holds,
//     written every -snapshot-every and at shutdown: a restart loads it if
//     it is newer than the bucket's newest checkpoint and the stream still
//     holds what follows it, else the checkpoint. A damaged file, or one of
//     another stream, stops the start and is left as it is.
//   - /metrics adds the replica's cxscore_replica_* series: applied and
//     last seen stream sequences, lag, caught up, checkpoint sequence and
//     age, events applied by outcome, deletions applied, messages skipped.
//   - -merge, which would change one sidecar alone, is not available.
//
// # Security and operation
//
// The sidecar binds loopback by default. Without a token every program on
// the machine can read and write every score (merges stay off); use a
// token for anything beyond a laptop. Web pages open in a browser on the
// machine cannot act on it either way: requests that change anything are
// refused 403 when the browser marks them cross-origin (Sec-Fetch-Site,
// or an Origin that is not the Host; Go's http.CrossOriginProtection),
// POST /v1/events takes only JSON and NDJSON media types, which a page
// cannot send without the browser asking the sidecar first (it never
// agrees: no CORS headers), and on loopback a request whose Host is not a
// loopback name or address (localhost, *.localhost, 127.x, [::1]) or one
// of -allowed-hosts is refused 403, so a page cannot read answers through
// DNS rebinding. With a token (-token, or better
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
// in-flight requests finish (up to -shutdown-timeout), writes its final
// snapshot and exits 0. A second signal kills it. Under go run, a SIGTERM
// sent to the go command alone (a process manager's stop) would orphan the
// sidecar; it notices that its parent went away and shuts down the same
// way (gorun.go).
//
// # Cost
//
// Decoding takes one pass to validate each event's JSON and one to walk it,
// and allocates only the customer ID (segment and touchpoint names are
// interned); recording is the engine's, about a hundred nanoseconds per
// event (bench/). BenchmarkIngestNDJSON measures the whole path through a real
// listener.
package main
