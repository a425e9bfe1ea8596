// Package httpapi is the HTTP API over a cxscore engine, an http.Handler:
// POST /v1/events, GET /v1/scores, /v1/trend, /v1/keys and /v1/snapshot,
// DELETE /v1/keys, and optionally POST /v1/merge, GET /metrics and the
// dashboard. The sidecar (examples/sidecar) is this handler with flags.
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
// # Events
//
// Bodies are decoded as a stream in every form and recorded 256 events at
// a time: a request holds one batch of events and at most
// Options.MaxEventBytes of its body, whatever the body's size. An event's
// time is checked as given: an explicit 0001-01-01T00:00:00Z is too old,
// never "now" (which only an absent time means). Text that is not UTF-8,
// escapes of lone surrogates (\ud800) included, is rejected, not repaired.
//
// A Handler is safe for concurrent use.
package httpapi
