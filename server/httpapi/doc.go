// Package httpapi serves a cxscore engine over HTTP: Handler is an
// http.Handler with the /v1/ API (events in, scores, trends and keys out,
// snapshots), health probes and, optionally, the live dashboard and
// /metrics, for a Go service to mount in its own mux. The JSON wire types
// (IngestResponse, Scores, Trend, KeyList, Compare, Matrix, Journey,
// Deleted, MergeResponse, Error) are exported for clients and tests.
//
//	api, err := httpapi.New(e, httpapi.Options{Token: os.Getenv("CXSCORE_TOKEN")})
//	if err != nil { ... }
//	mux.Handle("/v1/", api)                      // its routes at their full paths
//	mux.Handle("/cx/", http.StripPrefix("/cx", api)) // or under a prefix
//
// # Routes
//
// POST /v1/events (one event, a JSON array or NDJSON), GET /v1/scores,
// GET /v1/trend, GET /v1/keys, GET /v1/compare (a selection against a
// baseline, with significance), GET /v1/matrix (every key's scores),
// GET /v1/journey (each stage of Options.Journey compared as GET
// /v1/compare does; no stages without one),
// DELETE /v1/keys?segment=S&touchpoint=T,
// DELETE /v1/responses/{id} (200 {"deleted": true}, or 404 when no such
// response is held),
// GET /v1/snapshot, and with Options.Merge POST /v1/merge. With
// Options.Recorder (a replicated log) the two DELETE routes are served only
// if it is also a Deleter, which applies them through the log and answers
// once this engine has, as an engine alone would; POST /v1/merge never is.
// GET /healthz
// and GET /readyz (503 after Drain, or while Options.Ready fails); with
// Options.Metrics GET /metrics; with Options.Dashboard GET / and /static/.
// Every answer is JSON, errors included ({"error": "..."}, 404 and 405
// too). With Options.Token every /v1/ route and /metrics need
// "Authorization: Bearer <token>" (401 otherwise, compared in constant
// time); the probes and the dashboard's files, which hold no data, stay
// open. The sidecar's documentation (examples/sidecar) describes each
// route's parameters and answers in full.
//
// # What it refuses, and why
//
// Without Options.Token every program that can reach the port can read and
// write; the handler still refuses what a web page in a browser on the
// same machine could make that browser send:
//
//   - Requests that change something (any method but GET, HEAD and
//     OPTIONS) that the browser marks cross-origin, by Sec-Fetch-Site or
//     by an Origin other than the Host: 403 (http.CrossOriginProtection).
//   - POST /v1/events bodies other than application/json or
//     application/x-ndjson (application/ndjson and application/jsonl are
//     taken as NDJSON): 415. A page can send text/plain or a form to any
//     address without asking, but not these types; and the handler never
//     sends CORS headers, so the browser's question is always refused.
//   - With Options.CheckHost (the sidecar sets it when it listens on
//     loopback), a Host that is not a loopback name or address or one of
//     Options.AllowedHosts: 403. A page cannot then read answers by
//     making its own name resolve to 127.0.0.1 (DNS rebinding).
//   - POST /v1/merge unless Options.Merge is set, and then only with
//     Options.AdminToken if set, else Options.Token; New refuses Merge
//     with neither, since a merge can change every score.
//
// Every refusal is a JSON Error and changes nothing.
//
// # Status codes of POST /v1/events
//
// Bodies are decoded and recorded 256 events at a time, never held whole,
// so an answer can come after some events were recorded; its status says
// which, and never invites a retry (5xx, 408, 429) once something was:
//
//   - 200: the body was read to its end and at least one event was
//     recorded, corrected or acknowledged as a duplicate; the others are
//     listed as rejected.
//   - 422: the body was read to its end and every event was rejected;
//     nothing was recorded.
//   - 400: the body broke (not JSON, a syntax error in an array); the
//     events before the break were recorded and counted.
//   - 413: the body passed Options.MaxBodyBytes; when its length was
//     declared, nothing was read; otherwise the events before the limit
//     were recorded and counted.
//
// Events with a "response_id" (and a "version", 0 when missing) are
// counted once: the answer's "duplicates" counts those acknowledged but not
// counted (a retry) and "updated" the corrections, beside "accepted" (new
// responses and anonymous events). A client may therefore retry a whole
// request whose events carry response ids: the totals do not change. With
// Options.Recorder the counts are as exact only if it is an
// OutcomeRecorder (package replica's Replica is one); a plain Recorder's
// events all count as accepted.
//
// A request holds one batch of events and at most Options.MaxEventBytes of
// its body, whatever the body's size and form: an event longer than that
// (an NDJSON line, an array element) is rejected as too_large while it is
// skipped unread, and the events after it are read as usual. An event's
// time is checked as given: an explicit 0001-01-01T00:00:00Z is too old,
// never "now" (which only an absent time means). Text that is not UTF-8,
// escapes of lone surrogates (\ud800) included, is rejected, not repaired.
//
// # Concurrency and cost
//
// A Handler is safe for concurrent use. Decoding allocates only customer
// IDs (segment and touchpoint names are interned); recording is the
// engine's. A query costs what engine.Query costs; GET /v1/snapshot streams
// while recording goes on. Handler.Collector exports the handler's own
// counters (events accepted, duplicate, updated and rejected by reason,
// responses deleted, request latencies, merges) to Prometheus.
package httpapi
