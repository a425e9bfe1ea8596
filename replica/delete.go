package replica

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cxscore/cxscore/engine"
)

// deletion is the outcome of a deletion as this replica applied it.
type deletion struct {
	applied bool
	held    bool  // a response deletion: the engine held the response
	keys    int   // a key deletion: keys deleted
	err     error // the engine's refusal
}

// DeleteResponse deletes the response with the given id from every
// replica's engine, through the stream: it publishes the deletion, which
// every replica applies in stream order (engine.Engine.DeleteResponse, as
// of its own clock, as it records events), and returns once this replica
// has applied it, with what its engine answered: whether it held the
// response. So the answer is the one an engine alone would give, and a
// read from this replica that follows does not see the response.
//
// Deleting is idempotent: a response that is not held (never recorded,
// deleted already, aged out) is left alone, and an event of it at the
// deleted version or a lower one stays a duplicate, while a higher version
// records it anew, as in the engine alone. Each call publishes with a
// Nats-Msg-Id of its own, so it retries until acknowledged or ctx is done
// without being stored twice; a caller may retry after an error.
//
// Errors wrap engine.ErrInvalidResponseID (nothing was published: an
// empty id, one longer than engine.MaxResponseIDBytes or not UTF-8),
// ErrNotAcknowledged (the deletion may or may not be in the stream),
// ErrClosed, ctx's error (published, or maybe, but not yet applied here),
// or an error of the engine's when it refused the deletion as it applied it
// (engine.ErrTooNew: the response is held further ahead of this replica's
// clock than MaxFuture; counted in Stats.Rejected).
func (r *Replica) DeleteResponse(ctx context.Context, id string) (held bool, err error) {
	switch {
	case id == "":
		return false, fmt.Errorf("%w: empty response id", engine.ErrInvalidResponseID)
	case len(id) > engine.MaxResponseIDBytes:
		return false, fmt.Errorf("%w: response id of %d bytes, want at most %d", engine.ErrInvalidResponseID, len(id), engine.MaxResponseIDBytes)
	case !utf8.ValidString(id):
		return false, fmt.Errorf("%w: response id %q is not valid UTF-8", engine.ErrInvalidResponseID, id)
	}
	d, err := r.publishDeletion(ctx, message{Kind: kindDeleteResponse, Event: engine.Event{ResponseID: id}})
	return d.held, err
}

// DeleteKeys deletes a segment × touchpoint key and everything recorded
// for it, or every key of the segment when touchpoint is "" or
// engine.All, from every replica's engine, through the stream, as
// DeleteResponse deletes a response: it returns once this replica has
// applied the deletion (engine.Engine.DeleteKeys), with the number of keys
// its engine deleted. Events of the keys that come later in the stream
// record them anew.
//
// Errors wrap engine.ErrInvalidSegment or engine.ErrInvalidTouchpoint
// (nothing was published: an empty or reserved segment, a label longer
// than engine.MaxLabelBytes or not UTF-8), and otherwise are those of
// DeleteResponse.
func (r *Replica) DeleteKeys(ctx context.Context, segment, touchpoint string) (int, error) {
	if touchpoint == engine.All {
		touchpoint = ""
	}
	if err := checkLabel(engine.ErrInvalidSegment, "segment", segment); err != nil {
		return 0, err
	}
	if touchpoint != "" {
		if err := checkLabel(engine.ErrInvalidTouchpoint, "touchpoint", touchpoint); err != nil {
			return 0, err
		}
	}
	d, err := r.publishDeletion(ctx, message{Kind: kindDeleteKeys, Event: engine.Event{Segment: segment, Touchpoint: touchpoint}})
	return d.keys, err
}

// checkLabel applies the engine's rules for a label.
func checkLabel(sentinel error, what, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: empty %s", sentinel, what)
	case v == engine.All:
		return fmt.Errorf("%w: %s %q is reserved for \"all\"", sentinel, what, v)
	case len(v) > engine.MaxLabelBytes:
		return fmt.Errorf("%w: %s of %d bytes, want at most %d", sentinel, what, len(v), engine.MaxLabelBytes)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", sentinel, what, v)
	}
	return nil
}

// publishDeletion publishes the deletion m, stamped with the engine's
// clock and a new msgID, waits until this replica has applied it and
// returns its outcome here. The outcome is registered before the publish,
// since the replica may apply the deletion before its acknowledgement
// arrives.
func (r *Replica) publishDeletion(ctx context.Context, m message) (deletion, error) {
	if r.closed.Load() {
		return deletion{}, ErrClosed
	}
	m.Event.Time = r.eng.Now()
	m.ID = deletionID()
	d := new(deletion)
	r.delMu.Lock()
	r.deletions[m.ID] = d
	r.delMu.Unlock()
	defer func() {
		r.delMu.Lock()
		delete(r.deletions, m.ID)
		r.delMu.Unlock()
	}()
	seq, err := r.publish(ctx, []message{m}, nil)
	if err != nil {
		return deletion{}, err
	}
	if err := r.WaitApplied(ctx, seq); err != nil {
		return deletion{}, err
	}
	r.delMu.Lock()
	got := *d
	r.delMu.Unlock()
	switch {
	case !got.applied:
		// apply sees every message after the replica's start, and this
		// one was published after it: a bug if it happens.
		return deletion{}, fmt.Errorf("replica: the deletion at sequence %d was not applied here", seq)
	case got.err != nil:
		return got, fmt.Errorf("the deletion at sequence %d: %w", seq, got.err)
	}
	return got, nil
}

// deleted hands the outcome d of the deletion msg to its caller, if this
// replica published it.
func (r *Replica) deleted(msg jetstream.Msg, d deletion) {
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	if id == "" {
		return
	}
	d.applied = true
	r.delMu.Lock()
	if p := r.deletions[id]; p != nil {
		*p = d
	}
	r.delMu.Unlock()
}
