// Package windowtext reads the window lengths of the HTTP API and the
// metrics flags: a Go duration such as 90m or 24h, or a whole number of
// days such as 7d; and trend steps, which may also be weeks (1w) or a
// calendar month (1mo).
package windowtext

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cxscore/cxscore/window"
)

// maxDays bounds the "Nd" form of a window, far beyond any retention, so
// that N days always fits a time.Duration.
const maxDays = 10_000

// Parse reads a window or step: a Go duration such as 90m or 24h, or a
// whole number of days such as 7d. Empty is def. name is the parameter or
// flag it came from, for the message. It returns the text it read and its
// length.
func Parse(name, text, def string) (string, time.Duration, error) {
	if text == "" {
		text = def
	}
	bad := func() (string, time.Duration, error) {
		return "", 0, fmt.Errorf("%s %q: want a Go duration such as 90m or 24h, or a whole number of days such as 7d", name, text)
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(text, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > maxDays {
			return bad()
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(text); err != nil {
			return bad()
		}
	}
	if d <= 0 {
		return "", 0, fmt.Errorf("%s %q: want more than 0", name, text)
	}
	return text, d, nil
}

// ParseStep reads a trend step: what Parse reads, a whole number of weeks
// such as 1w (7 local days each, starting on the engine's week start), or
// 1mo, one calendar month (window.Month). Empty is def.
func ParseStep(text, def string) (string, time.Duration, error) {
	if text == "" {
		text = def
	}
	if text == "1mo" {
		return text, window.Month, nil
	}
	if weeks, ok := strings.CutSuffix(text, "w"); ok {
		n, err := strconv.Atoi(weeks)
		if err != nil || n <= 0 || n > maxDays/7 {
			return "", 0, fmt.Errorf("step %q: want a Go duration such as 1h, a whole number of days or weeks such as 1d or 1w, or 1mo", text)
		}
		return text, time.Duration(n) * 7 * 24 * time.Hour, nil
	}
	t, d, err := Parse("step", text, def)
	if _, perr := time.ParseDuration(text); err != nil && perr != nil {
		return "", 0, fmt.Errorf("step %q: want a Go duration such as 1h, a whole number of days or weeks such as 1d or 1w, or 1mo", text)
	}
	return t, d, err // a duration of 0 or less says so
}
