package window

import "time"

// Tier is one resolution of an engine's time buckets: buckets of Resolution, answering
// windows up to Retention.
type Tier struct {
	Resolution time.Duration
	Retention  time.Duration
}

// DefaultTiers are minutes for 2 hours, hours for 2 days and days for 35
// days: 5-minute to 30-day windows, as RRDtool and Graphite keep them.
func DefaultTiers() []Tier {
	return []Tier{
		{Resolution: time.Minute, Retention: 2 * time.Hour},
		{Resolution: time.Hour, Retention: 48 * time.Hour},
		{Resolution: 24 * time.Hour, Retention: 35 * 24 * time.Hour},
	}
}
