package replica

import "errors"

// Errors returned by the package, wrapped with the offending value; match
// them with errors.Is. Errors of the engine (engine.ErrScoreOutOfRange, ...)
// and of nats.go pass through wrapped, so errors.Is matches them too.
var (
	// ErrConfig: Open was given an invalid Config, or the stream exists
	// with settings the replica cannot work with.
	ErrConfig = errors.New("invalid replica config")
	// ErrNotEmpty: Open was given an engine that already holds events; a
	// replica's engine holds exactly what its stream and checkpoint hold.
	ErrNotEmpty = errors.New("engine is not empty")
	// ErrIDTooLong: an event's customer id or response id is longer than
	// MaxIDBytes.
	ErrIDTooLong = errors.New("id too long")
	// ErrMalformed: a stream message is not an event or a deletion of this
	// package's wire format (truncated, trailing bytes, unknown tag, a
	// length over its limit).
	ErrMalformed = errors.New("malformed message")
	// ErrNotAcknowledged: JetStream did not acknowledge some events of a
	// Publish; they may or may not be in the stream.
	ErrNotAcknowledged = errors.New("events not acknowledged")
	// ErrLocalCorrupt: Config.Local is not a local checkpoint (WriteLocal),
	// or it is damaged: a header that does not read, or a snapshot the
	// engine refuses (the engine's error is wrapped too).
	ErrLocalCorrupt = errors.New("local checkpoint corrupt")
	// ErrLocalStream: Config.Local was taken of another stream: another
	// name, another creation (the stream was deleted and created again),
	// or a sequence beyond the stream's last.
	ErrLocalStream = errors.New("local checkpoint of another stream")
	// ErrClosed: the replica was closed.
	ErrClosed = errors.New("replica closed")
)
