// Package windowtext reads the window lengths of the HTTP API and the
// metrics flags: a Go duration such as 90m or 24h, or a whole number of
// days such as 7d.
package windowtext

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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
