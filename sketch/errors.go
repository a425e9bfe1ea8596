package sketch

import "errors"

// Errors returned by this package, wrapped with the offending value; match them
// with errors.Is.
var (
	// ErrUnknownMetric: a metric other than CSAT, CES and NPS.
	ErrUnknownMetric = errors.New("sketch: unknown metric")
	// ErrScoreOutOfRange: a score outside its metric's scale.
	ErrScoreOutOfRange = errors.New("sketch: score out of range")
	// ErrPrecision: a HyperLogLog precision outside MinPrecision-MaxPrecision,
	// or a merge of two sketches of different precisions.
	ErrPrecision = errors.New("sketch: precision")
	// ErrCorrupt: an encoding that UnmarshalBinary cannot read.
	ErrCorrupt = errors.New("sketch: corrupt encoding")
)
