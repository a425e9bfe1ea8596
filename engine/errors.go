package engine

import (
	"errors"
	"fmt"

	"github.com/cxscore/cxscore/sketch"
	"github.com/cxscore/cxscore/window"
)

// Errors returned by the engine, wrapped with the offending value so the
// message says what was wrong; match them with errors.Is. Some are the
// sentinels of the package that enforces the rule, so errors.Is matches
// either name.
var (
	// ErrUnknownMetric: an event's metric is not CSAT, CES or NPS.
	ErrUnknownMetric = sketch.ErrUnknownMetric
	// ErrScoreOutOfRange: an event's score is off its metric's scale.
	ErrScoreOutOfRange = sketch.ErrScoreOutOfRange
	// ErrInvalidSegment: an event's segment is empty, "*", longer than
	// MaxLabelBytes or not UTF-8.
	ErrInvalidSegment = errors.New("invalid segment")
	// ErrInvalidTouchpoint: the same for an event's touchpoint.
	ErrInvalidTouchpoint = errors.New("invalid touchpoint")
	// ErrTooOld: an event's time is older than the longest retention.
	ErrTooOld = window.ErrTooOld
	// ErrTooNew: an event's time is further ahead of the engine's clock than
	// Config.MaxFuture.
	ErrTooNew = window.ErrTooNew
	// ErrTooManyKeys: recording an event would create a segment × touchpoint
	// key beyond Config.MaxKeys.
	ErrTooManyKeys = errors.New("too many keys")
	// ErrInvalidResponseID: an event's response id is longer than
	// MaxResponseIDBytes or not UTF-8, or DeleteResponse was given an empty
	// one.
	ErrInvalidResponseID = errors.New("invalid response id")
	// ErrTooManyResponses: recording a new response would hold more than
	// Config.MaxHeldResponses.
	ErrTooManyResponses = errors.New("too many responses")
	// ErrWindow: a query's window or trend step cannot be answered from the
	// configured tiers.
	ErrWindow = window.ErrWindow
	// ErrBaseline: CompareAt was given a Baseline it does not know.
	ErrBaseline = errors.New("unknown baseline")
	// ErrConfig: New was given an invalid Config.
	ErrConfig = errors.New("invalid config")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("engine closed")
)

// BatchError reports the events of a batch that were rejected. The others
// were recorded.
type BatchError struct {
	Rejected []Rejection
}

// Rejection is one rejected event of a batch: its index and why.
type Rejection struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	msg := e.Rejected[0].Err.Error()
	if n := len(e.Rejected); n > 1 {
		return fmt.Sprintf("%d events rejected; event %d: %s", n, e.Rejected[0].Index, msg)
	}
	return fmt.Sprintf("event %d rejected: %s", e.Rejected[0].Index, msg)
}

// Unwrap returns the rejections' errors, so errors.Is(err, ErrTooOld) asks
// whether any event was too old.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Rejected))
	for i, r := range e.Rejected {
		errs[i] = r.Err
	}
	return errs
}
