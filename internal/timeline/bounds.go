package timeline

// Bounds returns the slots of tier k a series may hold at now: from the
// oldest it keeps (the retention, plus slack for a reader whose clock is a
// little behind) to the newest an event may claim (now plus the future
// skew). Export at now reports no older slot, and Check at now accepts no
// event of a newer one. now must be a time Check accepts events around
// (now + future must not overflow).
func (l *Layout) Bounds(k int, now int64) (oldest, newest int64) {
	return l.oldestKept(k, now), l.Slot(k, now+l.future)
}

// MaxUnits returns the most buckets Export reports for one series: per
// tier, one ring's worth, which covers every slot within Bounds.
func (l *Layout) MaxUnits() int {
	n := 0
	for _, t := range l.tiers {
		n += int(t.size)
	}
	return n
}
