package window

import "errors"

// Errors returned by this package, wrapped with the offending value; match
// them with errors.Is.
var (
	// ErrLayout: tiers that cannot form a Layout.
	ErrLayout = errors.New("window: invalid tiers")
	// ErrTooOld: a time older than the longest retention.
	ErrTooOld = errors.New("window: time older than retention")
	// ErrTooNew: a time further ahead of now than the allowed clock skew.
	ErrTooNew = errors.New("window: time too far in the future")
	// ErrWindow: a window or trend step that the tiers cannot answer.
	ErrWindow = errors.New("window: unanswerable window")
)
