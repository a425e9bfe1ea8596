// Package window holds what a user of the engine configures about time:
// the tiers of time buckets a key keeps (Tier, DefaultTiers) and the clock
// the engine reads (Clock, SystemClock, ManualClock), and the errors about
// times and windows that the engine returns.
//
// # Tiers
//
// A tier is buckets of one resolution kept for a retention. The engine
// keeps every key's history in several tiers, finest first: with
// DefaultTiers, one-minute buckets for 2 hours, one-hour buckets for 48
// hours and one-day buckets (local days in the engine's zone) for 61
// days. A window is answered from the tiers that still hold it; memory per
// key grows with the number of buckets.
//
// # Clocks
//
// The engine never calls time.Now itself: it reads a Clock, so tests move
// time by hand with a ManualClock. ManualClock is safe for concurrent use.
package window
