package window

import "errors"

// Errors about tiers, times and windows, returned by the engine wrapped with
// the offending value; match them with errors.Is.
var (
	// ErrLayout: tiers that cannot form a Layout.
	ErrLayout = errors.New("invalid tiers")
	// ErrTooOld: a time older than the longest retention.
	ErrTooOld = errors.New("time older than the retention")
	// ErrTooNew: a time further ahead of now than the allowed clock skew.
	ErrTooNew = errors.New("time too far in the future")
	// ErrWindow: a window or trend step that the tiers cannot answer.
	ErrWindow = errors.New("window cannot be answered")
)
