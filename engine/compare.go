package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/cxscore/cxscore/internal/timeline"
	"github.com/cxscore/cxscore/sketch"
)

// Selection is a set of keys: every key whose segment is one of Segments
// and whose touchpoint is one of Touchpoints, an empty list (or one holding
// All or "") standing for every one. A journey stage "post-purchase" is
// Selection{Touchpoints: []string{"delivery", "returns", "support"}}.
// Its unique customers are the union over its keys, never a sum.
type Selection struct {
	Segments, Touchpoints []string
}

// every reports whether a label list stands for every label.
func every(labels []string) bool {
	return len(labels) == 0 || slices.ContainsFunc(labels, func(l string) bool { return l == "" || l == All })
}

func (s *Selection) matches(k Key) bool {
	return (every(s.Segments) || slices.Contains(s.Segments, k.Segment)) &&
		(every(s.Touchpoints) || slices.Contains(s.Touchpoints, k.Touchpoint))
}

// setLabel is the Result label of one side of a selection: the label itself
// for one, All for every one or a set of several.
func setLabel(labels []string) string {
	if every(labels) {
		return All
	}
	first := labels[0]
	for _, l := range labels[1:] {
		if l != first {
			return All
		}
	}
	return first
}

// Baseline is what a comparison compares the selection's window with.
type Baseline uint8

const (
	// Previous is the period of the window's length W just before the
	// window: a 7-day window against the 7 days before it. The window ends
	// now, so the current side is "so far"; the previous period is
	// complete. (The window may cover up to half a bucket more than W;
	// Current and Baseline From/To say what each covered.)
	Previous Baseline = iota + 1
	// WeekEarlier is the same window one week earlier (the same weekday
	// and hours, which removes the weekly cycle of most CX traffic). It is
	// retained only for windows whose buckets a week back are still kept:
	// with the default tiers, windows answered in days (longer than 48
	// hours, up to 28 days: 3d, 7d), not a 1h window of minutes or a 24h
	// window of hours.
	WeekEarlier
	// Rest is the same window over every key outside the selection: a
	// segment or a journey stage against everything else.
	Rest
	// YearEarlier is the same window 52 weeks (364 days) earlier: the
	// same weekday, so that the weekly cycle cancels as with WeekEarlier,
	// against the seasons of a year ago. It is retained only with tiers
	// that keep days for more than a year (Config.Tiers); the default
	// tiers keep 35 days, so with them it is always ErrWindow.
	YearEarlier
)

// yearEarlier is YearEarlier's distance: 52 weeks.
const yearEarlier = 52 * 7 * 24 * time.Hour

// String returns the baseline's wire name: previous, week, rest or year.
func (b Baseline) String() string {
	switch b {
	case Previous:
		return "previous"
	case WeekEarlier:
		return "week"
	case Rest:
		return "rest"
	case YearEarlier:
		return "year"
	}
	return fmt.Sprintf("baseline(%d)", uint8(b))
}

// ParseBaseline returns the baseline of a wire name, as String writes it:
// previous, week, year or rest. Other names are an error wrapping
// ErrBaseline.
func ParseBaseline(name string) (Baseline, error) {
	for b := Previous; b <= YearEarlier; b++ {
		if b.String() == name {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%w: %q, want previous, week, year or rest", ErrBaseline, name)
}

// Comparison is the answer of CompareAt: the selection's window, its
// baseline, and per metric the test of Current against Baseline.
type Comparison struct {
	Current, Baseline Result
	NPS, CSAT, CES    MetricComparison
}

// MetricComparison is one metric's comparison, Current minus Baseline, in
// the units of the metric's score (see sketch.Comparison).
type MetricComparison struct {
	sketch.Comparison
	// Enough is whether both sides hold at least Config.MinResponses
	// responses of the metric. When they do not, only the difference is
	// reported ("not enough data"): HasInterval and HasPValue are false,
	// so Significant's ok is false. Testing two answers against three
	// would flag noise as change.
	Enough bool
}

func compared(c sketch.Comparison, enough bool) MetricComparison {
	if !enough {
		c.HasInterval, c.HasPValue = false, false
		c.Low, c.High, c.PValue = 0, 0, 0
	}
	return MetricComparison{c, enough}
}

// SelectAt fills r with the result of a selection over the window of
// length w ending now, as QueryAt does for one segment and touchpoint.
// r.Segment and r.Touchpoint are the selection's labels where it names
// one, All otherwise. Errors wrap ErrWindow or ErrClosed.
func (e *Engine) SelectAt(now time.Time, sel Selection, w time.Duration, r *Result) error {
	if e.closed.Load() {
		return ErrClosed
	}
	n := now.UnixNano()
	span, err := e.layout.Span(n, w)
	if err != nil {
		return err
	}
	e.selectSpan(n, &sel, span.From, span.To, r)
	return nil
}

// SelectPeriodAt is SelectAt over a calendar period: r covers the period
// up to now, Partial when it is the current one.
func (e *Engine) SelectPeriodAt(now time.Time, sel Selection, p Period, r *Result) error {
	n, ps, err := e.periodAt(now, p)
	if err != nil {
		return err
	}
	e.selectSpan(n, &sel, ps.span.From, ps.span.To, r)
	r.Partial = ps.partial()
	return nil
}

func (e *Engine) selectSpan(now int64, sel *Selection, from, to int64, r *Result) {
	sc := e.selScratch.Get().(*selScratch)
	sc.pairs = sc.selection(sel)
	e.setResult(sc, sel, false, now, from, to, r)
	e.selScratch.Put(sc)
}

// CompareAt compares a selection's window of length w ending now with a
// baseline, filling c. Errors wrap ErrWindow (the window, or its baseline,
// cannot be answered: a Previous period, WeekEarlier or YearEarlier window
// older than the tiers retain), ErrBaseline or ErrClosed.
//
// Polled, with the sealed parts cached, a comparison against Previous or
// WeekEarlier does not allocate; one against Rest allocates only when keys
// were added since the last.
func (e *Engine) CompareAt(now time.Time, sel Selection, w time.Duration, against Baseline, c *Comparison) error {
	if e.closed.Load() {
		return ErrClosed
	}
	n := now.UnixNano()
	span, err := e.layout.Span(n, w)
	if err != nil {
		return err
	}
	// A baseline is moved to the nearest bucket edges of the tier that
	// holds its start, as an absolute range is (Layout.Range): the window
	// ends now, which is no edge, and a week back only days are kept.
	// Baseline.From and To say what it covers.
	from, to := span.From, span.To
	switch against {
	case Previous: // W before the window's start (the window itself may be up to half a bucket longer)
		from, to = from-int64(w), from
	case WeekEarlier: // a week on the local calendar: 7 local days, across DST too
		from = time.Unix(0, from).In(e.set.location).AddDate(0, 0, -7).UnixNano()
		to = time.Unix(0, to).In(e.set.location).AddDate(0, 0, -7).UnixNano()
	case YearEarlier: // 52 weeks on the local calendar: the same weekday
		from = time.Unix(0, from).In(e.set.location).AddDate(0, 0, -7*52).UnixNano()
		to = time.Unix(0, to).In(e.set.location).AddDate(0, 0, -7*52).UnixNano()
	case Rest:
	default:
		return fmt.Errorf("%w: %s, want Previous, WeekEarlier, YearEarlier or Rest", ErrBaseline, against)
	}
	if against != Rest {
		// The baseline must be kept at the window's resolution or finer:
		// a 24 h window of hours against a day-bucket week earlier would
		// compare two different spans.
		base, err := e.layout.Range(n, from, to)
		if err != nil || base.Tier > span.Tier || !e.retained(n, base.From, base.To) {
			return fmt.Errorf("%w: the %s baseline of a %v window, %s to %s, is older than the tiers keep",
				ErrWindow, against, w, e.stamp(from), e.stamp(to))
		}
		from, to = base.From, base.To
	}
	e.compare(n, &sel, span.From, span.To, from, to, against == Rest, c)
	return nil
}

// ComparePeriodAt compares a selection over a calendar period with a
// baseline, filling c: the current period up to now (Current.Partial)
// or a past one, against
//
//   - Previous: the calendar period before it, whole: this month so far
//     against last month, last week against the week before;
//   - WeekEarlier: for a day or a week, the one 7 days earlier, whole
//     (today so far against the same weekday last week, all day); a
//     month or a quarter is ErrBaseline;
//   - YearEarlier: a day or a week 52 weeks earlier (the same weekday),
//     a month or a quarter the same one a year earlier, whole;
//   - Rest: the same period over every key outside the selection.
//
// A calendar baseline is always a whole period: scores are shares and
// means, which do not grow with time, so a month so far compares with a
// whole month; what differs, the mix of days, is the price of comparing
// with a complete period rather than a partial one of a few days. Errors
// wrap ErrWindow (the period or its baseline is older than the tiers
// keep: with the default tiers, a Previous baseline of last month or last
// quarter), ErrBaseline or ErrClosed.
func (e *Engine) ComparePeriodAt(now time.Time, sel Selection, p Period, against Baseline, c *Comparison) error {
	n, ps, err := e.periodAt(now, p)
	if err != nil {
		return err
	}
	a, b := ps.a, ps.b
	long := ps.kind == timeline.Months || ps.kind == timeline.Quarters
	switch against {
	case Previous:
		a, b = e.layout.CalendarPeriod(n, ps.kind, ps.back+1, e.set.weekStart)
	case WeekEarlier:
		if long {
			return fmt.Errorf("%w: %v has no week-earlier baseline, a week earlier is not a whole month or quarter; compare it with previous or year", ErrBaseline, p)
		}
		a, b = e.layout.Earlier(a, 0, 7), e.layout.Earlier(b, 0, 7)
	case YearEarlier:
		if long {
			a, b = e.layout.Earlier(a, 1, 0), e.layout.Earlier(b, 1, 0)
		} else {
			a, b = e.layout.Earlier(a, 0, 7*52), e.layout.Earlier(b, 0, 7*52)
		}
	case Rest:
	default:
		return fmt.Errorf("%w: %s, want Previous, WeekEarlier, YearEarlier or Rest", ErrBaseline, against)
	}
	from, to := ps.span.From, ps.span.To
	if against != Rest {
		base, err := e.layout.Period(n, a, b)
		if err != nil {
			return fmt.Errorf("%w: the %s baseline of %v, %s to %s, is older than the tiers keep", ErrWindow, against, p, e.stamp(a), e.stamp(b))
		}
		from, to = base.From, base.To
	}
	e.compare(n, &sel, ps.span.From, ps.span.To, from, to, against == Rest, c)
	c.Current.Partial = ps.partial()
	c.Baseline.Partial = against == Rest && c.Current.Partial
	return nil
}

// compare fills c with the selection over [curFrom, curTo) against
// [baseFrom, baseTo), over the keys outside the selection with rest.
func (e *Engine) compare(n int64, sel *Selection, curFrom, curTo, baseFrom, baseTo int64, rest bool, c *Comparison) {
	sc := e.selScratch.Get().(*selScratch)
	sc.pairs = sc.selection(sel)
	e.setResult(sc, sel, false, n, curFrom, curTo, &c.Current)
	if rest {
		sc.pairs = sc.rest(sel, e.keys.series())
	}
	e.setResult(sc, sel, rest, n, baseFrom, baseTo, &c.Baseline)
	e.selScratch.Put(sc)
	cur, base := &c.Current, &c.Baseline
	c.NPS = compared(cur.NPS.Compare(base.NPS), cur.Enough.NPS && base.Enough.NPS)
	c.CSAT = compared(cur.CSAT.Compare(base.CSAT), cur.Enough.CSAT && base.Enough.CSAT)
	c.CES = compared(cur.CES.Compare(base.CES), cur.Enough.CES && base.Enough.CES)
}

// retained reports whether every bucket that tiles [from, to) is still
// kept at now.
func (e *Engine) retained(now, from, to int64) bool {
	var buf [128]timeline.Unit
	units := e.layout.Units(from, to, buf[:0])
	for _, u := range units {
		if !e.layout.Retained(now, u) {
			return false
		}
	}
	return true
}

// setResult fills r with every event of the keys the scratch's pairs
// select (with complement, those outside sel) in [from, to) as of now:
// the sealed part as the merge of each pair's cached result (the pairs
// select disjoint keys, so counts add and customers union exactly), the
// live part read from each selected key.
func (e *Engine) setResult(sc *selScratch, sel *Selection, complement bool, now, from, to int64, r *Result) {
	open := e.layout.Start(0, e.layout.Slot(0, now))
	e.versions.seal(open)
	acc := e.scratch.Get().(*bucket)
	defer e.scratch.Put(acc)
	acc.Reset()
	if from < open {
		for _, p := range sc.pairs {
			acc.Merge(e.sealed(p, from, min(to, open)).b)
		}
	}
	if live := to == now; to > open || live {
		lo, hi := e.layout.Slot(0, max(from, open)), e.layout.Slot(0, to-1)+1
		if live { // the events stamped ahead of now in its minute too, as QueryAt reads them
			hi = e.layout.Slot(0, now) + 1
		}
		for _, s := range e.keys.series() {
			if sel.matches(s.key) != complement {
				s.data.CollectFine(lo, hi, acc)
			}
		}
	}
	rs := selector{setLabel(sel.Segments), setLabel(sel.Touchpoints)}
	if complement {
		rs = selector{All, All}
	}
	r.fill(e.set.location, rs, from, to, &acc.hist, acc.uniq.Estimate(), e.set.minResp)
}

// selScratch is the reusable state of a selection query.
type selScratch struct {
	pairs       []selector
	segs, tps   []string
	seen, seen2 map[string]bool
}

func newSelScratch() any {
	return &selScratch{seen: map[string]bool{}, seen2: map[string]bool{}}
}

// selection returns the pairs that tile sel: segments × touchpoints,
// All standing for a list of every one, each pair once.
func (sc *selScratch) selection(sel *Selection) []selector {
	sc.segs = sc.distinct(sc.segs[:0], sel.Segments)
	sc.tps = sc.distinct(sc.tps[:0], sel.Touchpoints)
	pairs := sc.pairs[:0]
	for _, s := range sc.segs {
		for _, t := range sc.tps {
			pairs = append(pairs, selector{s, t})
		}
	}
	return pairs
}

func (sc *selScratch) distinct(dst, labels []string) []string {
	if every(labels) {
		return append(dst, All)
	}
	for _, l := range labels {
		if !slices.Contains(dst, l) {
			dst = append(dst, l)
		}
	}
	return dst
}

// rest returns the pairs that tile every key outside sel: each segment
// outside it over every touchpoint, and each of its segments over each
// touchpoint outside it. Empty when sel is everything.
func (sc *selScratch) rest(sel *Selection, all []*series) []selector {
	pairs := sc.pairs[:0]
	clear(sc.seen)
	clear(sc.seen2)
	allSegs, allTps := every(sel.Segments), every(sel.Touchpoints)
	for _, s := range all {
		k := s.key
		if !allSegs && !slices.Contains(sel.Segments, k.Segment) && !sc.seen[k.Segment] {
			sc.seen[k.Segment] = true
			pairs = append(pairs, selector{k.Segment, All})
		}
		if !allTps && !slices.Contains(sel.Touchpoints, k.Touchpoint) && !sc.seen2[k.Touchpoint] {
			sc.seen2[k.Touchpoint] = true
		}
	}
	if allTps {
		return pairs
	}
	// Each selected segment (or every segment) over each touchpoint outside.
	segs := sc.distinct(sc.segs[:0], sel.Segments)
	sc.segs = segs
	for t := range sc.seen2 {
		for _, s := range segs {
			pairs = append(pairs, selector{s, t})
		}
	}
	return pairs
}
