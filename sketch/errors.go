package sketch

import (
	"errors"

	"github.com/cxscore/cxscore/internal/uniques"
)

// Errors returned by this package, wrapped with the offending value; match them
// with errors.Is.
var (
	// ErrUnknownMetric: a metric other than CSAT, CES and NPS.
	ErrUnknownMetric = errors.New("unknown metric")
	// ErrScoreOutOfRange: a score outside its metric's scale.
	ErrScoreOutOfRange = errors.New("score out of range")
	// ErrPrecision: a HyperLogLog precision outside MinPrecision-MaxPrecision,
	// or a merge of two sketches of different precisions.
	ErrPrecision = uniques.ErrPrecision
	// ErrCorrupt: an encoding that UnmarshalBinary cannot read.
	ErrCorrupt = uniques.ErrCorrupt
)
