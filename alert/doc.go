// Package alert raises alerts from the scores of an engine.Engine and from
// the single answers it records, and delivers them to webhooks.
//
// # Rules and their state
//
// A Rule tests one metric over one selection (a segment and a touchpoint,
// "*" for every one) and a window ending at the evaluation time:
//
//   - Threshold: the window's score is below (or above) a bound, with at
//     least MinResponses responses of the metric;
//   - Drop and Rise: engine.CompareAt of the window against a baseline
//     (the previous period, the rest of the keys, …) has a p-value below
//     Level (0.05 by default) and a difference of the rule's sign, with at
//     least MinResponses responses on both sides. The test is the
//     engine's; this package computes no statistics.
//
// An Evaluator keeps two facts per rule: whether it is firing and when it
// last fired. Evaluate(now) tests every rule at now: a rule found true that
// is not firing fires (an Alert with State Firing) unless it fired less
// than Cooldown before; a firing rule found false resolves (State
// Resolved). So a rule that stays true fires once, flapping fires at most
// once per Cooldown, and every firing is followed by one resolution. Too
// few responses make a rule false: an alert is never raised on a tiny
// sample. Nothing is kept per key and no goroutine is started: Run calls
// Evaluate on a ticker in the caller's goroutine. An evaluation costs one
// engine query or comparison per rule: 100 rules over 1,000 keys take
// about 5 ms on one core (BenchmarkEvaluate).
//
// # Response rules
//
// A Response rule tests each answer the engine records: one of its Metric
// scoring at most MaxScore (NPS ≤ 6 for detractors, CSAT ≤ 2, CES ≤ 3) in
// its selection fires, once per response. The engine feeds
// Evaluator.Observe through engine.Config.Observe after each event it
// records or corrects, with the answer the engine held for the response
// before, so the rule needs no state of its own:
//
//   - a duplicate delivery (engine Outcome Duplicate) is not observed and
//     never fires;
//   - a correction (Updated) fires only if its answer passes and the one it
//     replaced did not (a response deleted and recorded anew is compared
//     with its deleted answer the same way);
//   - an anonymous event (no ResponseID) fires every time it passes.
//
// A response alert is an event, not a state: it has no cooldown and no
// resolved notice. Its Segment and Touchpoint are the response's, its Time
// the response's time, and Alert.Response carries the event (response id,
// version, customer id, score). Its EventID is derived from the rule's
// name and the response's id and version (ResponseEventID): the engines
// of two replicas applying the same stream, or one replaying it after a
// restart, raise the alert under the same id, and a receiver that
// deduplicates on X-Cxscore-Event-Id keeps one. An anonymous response's
// alert has a random id. Events a replica applies are observed (it
// records them); what engine.Engine.MergeSnapshot merges is not, so
// loading a snapshot fires nothing.
//
// Observe runs within the engine's Record and never waits: an answer no
// rule's MaxScore reaches costs one lookup in a table by metric and
// score; one that passes the score compares the labels of each rule it
// passes (with ten rules, about 10 ns and 30 ns on a shared 2-core
// machine: BenchmarkObserve), and neither allocates
// (TestObserveDoesNotAllocate). With ten rules the hook takes 4-7% of
// Record's CPU time at 1,000 keys (CPU profiles of
// BenchmarkRecordResponseRules), most of it the labels' comparisons. An alert costs its event id's SHA-256 and the queue.
//
// Alerts go to Config.Notify, called from within Evaluate (score rules) or
// Observe (response rules), or to a bounded channel (Evaluator.Alerts).
// Neither may block: an alert that finds the channel full is dropped and
// counted (Counts.Dropped), so Record never waits for a reader.
//
// # Webhooks
//
// A Webhook POSTs each alert's JSON (Body) to a URL. Each request carries
// Content-Type application/json, X-Cxscore-Event-Id (the alert's EventID,
// the same on every retry, for the receiver to deduplicate on) and
// X-Cxscore-Signature, "sha256=" and the hex of HMAC-SHA256 of the body
// keyed by the webhook's secret (Sign). A 2xx answer is delivery;
// anything else, or no answer within the timeout (5 s), is retried after
// an exponentially growing pause with jitter: with the defaults 8 tries
// spread over more than 3 minutes, then the alert is given up and counted.
//
// Every alert has a lane of its own: a scheduler goroutine per webhook
// keeps the alerts by the time their next try is due and starts each try
// in a goroutine, at most Parallel (4) at once. An alert waiting for its
// retry holds no slot, so it never delays a fresh alert; a slow receiver
// delays only its own webhook's alerts. A webhook holds at most Queue
// alerts undelivered (waiting or in flight); Send never blocks: an alert
// that finds no room is dropped and counted.
//
// # Across restarts
//
// Evaluator.State and Webhook.Pending export what a restart must not
// lose: which rules are firing, since when and under which event id, when
// each last fired (for cooldowns), and the alerts not yet delivered with
// their bodies, event ids and tries made. Evaluator.Restore and
// Webhook.Restore take them back, so that a restarted program neither
// fires a rule that is firing again nor loses an alert that was due nor
// changes its event id. Saved gathers both, and AppendJSON and
// ParseSaved give them a documented, versioned JSON form to keep in a
// file. Take State and Pending between evaluations (and Pending after
// Close, at shutdown), so that they agree; alerts still in the
// Evaluator's channel (Config.Notify nil) are the caller's: hand them to
// their webhooks first.
//
// # Concurrency
//
// Evaluator and Webhook are safe for concurrent use; Observe does not wait
// for a running Evaluate. Webhook.Close stops its goroutines, leaving the
// undelivered alerts in Pending; it is idempotent.
package alert
