package uniques

import "errors"

// Errors returned by this package, wrapped with the offending value; package
// sketch exports them under the same names.
var (
	// ErrPrecision: a HyperLogLog precision outside MinPrecision-MaxPrecision,
	// or a merge of two sketches of different precisions.
	ErrPrecision = errors.New("invalid precision")
	// ErrCorrupt: an encoding that UnmarshalBinary cannot read.
	ErrCorrupt = errors.New("corrupt sketch encoding")
)
