package window

import "time"

// Tier is one resolution of an engine's time buckets: buckets of Resolution, answering
// windows up to Retention.
type Tier struct {
	Resolution time.Duration
	Retention  time.Duration
}

// DefaultTiers are minutes for 2 hours, hours for 2 days and days for 61
// days: 1-minute to 61-day windows, as RRDtool and Graphite keep them, and
// every calendar period up to last month, which on the 31st of a month
// starts 61 days back. In a time zone, hours and days are local.
func DefaultTiers() []Tier {
	return []Tier{
		{Resolution: time.Minute, Retention: 2 * time.Hour},
		{Resolution: time.Hour, Retention: 48 * time.Hour},
		{Resolution: 24 * time.Hour, Retention: 61 * 24 * time.Hour},
	}
}

// Month is a trend step of one calendar month in the engine's zone. (As a
// length, for comparing with windows, it is 31 days.)
const Month = 31 * 24 * time.Hour

// QuarterTiers are DefaultTiers with days kept for 184 days instead of 61:
// they answer every period of DefaultTiers and also this quarter and last
// quarter on any day (on December 31, last quarter starts 184 days back,
// on July 1). A quiet key (20 answers an hour, every tier full) holds
// about 366 KB with them against 147 KB with DefaultTiers, 2.5 times: a day
// bucket is mostly its exact set of customers, packed at about 3.1 bytes
// each (bench/ BenchmarkMemoryQuarterTiers and BenchmarkMemory, on one
// machine).
func QuarterTiers() []Tier {
	t := DefaultTiers()
	t[len(t)-1].Retention = 184 * 24 * time.Hour
	return t
}
