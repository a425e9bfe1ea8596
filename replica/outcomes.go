package replica

import (
	"context"
	"slices"
	"strconv"

	"github.com/cxscore/cxscore/engine"
)

// tracked is what this replica's engine answered, as it applied them, for
// the messages of one msgID (a response id and version) that a
// RecordBatchOutcomes call is waiting for. Several calls may wait for the
// same msgID (concurrent deliveries of one webhook): they share it, and
// each picks the answer at the sequence its publish was acknowledged at.
type tracked struct {
	refs    int
	applied []trackedApply
}

type trackedApply struct {
	seq uint64
	o   engine.Outcome
	err error
}

// pubAck is one message's acknowledgement, as RecordBatchOutcomes needs it.
type pubAck struct {
	seq       uint64
	duplicate bool // the stream dropped it: a message of its msgID was stored before
	retried   bool // published more than once by this call
}

// track registers the msgIDs of msgs (those with a response id) so that
// apply keeps their outcomes, and returns them; untrack releases them.
func (r *Replica) track(msgs []message) []string {
	ids := make([]string, len(msgs))
	r.trackMu.Lock()
	for i := range msgs {
		if ids[i] = msgs[i].msgID(); ids[i] == "" {
			continue
		}
		t := r.tracked[ids[i]]
		if t == nil {
			t = new(tracked)
			r.tracked[ids[i]] = t
		}
		t.refs++
	}
	r.ntracked.Store(int32(len(r.tracked)))
	r.trackMu.Unlock()
	return ids
}

func (r *Replica) untrack(ids []string) {
	r.trackMu.Lock()
	for _, id := range ids {
		if id == "" {
			continue
		}
		if t := r.tracked[id]; t != nil {
			if t.refs--; t.refs <= 0 {
				delete(r.tracked, id)
			}
		}
	}
	r.ntracked.Store(int32(len(r.tracked)))
	r.trackMu.Unlock()
}

// keepOutcome stores the outcome of the event m, applied at seq, if a
// RecordBatchOutcomes call waits for its msgID. It is called by apply,
// under applyMu, only while calls are waiting; idBuf (guarded by applyMu)
// spares an allocation per message.
func (r *Replica) keepOutcome(m *message, seq uint64, o engine.Outcome, err error) {
	r.idBuf = strconv.AppendUint(append(append(r.idBuf[:0], m.Event.ResponseID...), '/'), m.Event.Version, 10)
	r.trackMu.Lock()
	if t := r.tracked[string(r.idBuf)]; t != nil {
		t.applied = append(t.applied, trackedApply{seq, o, err})
	}
	r.trackMu.Unlock()
}

// outcome is the outcome of the message with msgID id acknowledged as ack.
// An event without a response id (id "") was recorded when its message was
// applied: the engine refuses such an event at apply only when the
// replicas' clocks disagree by more than its retention or MaxFuture, which
// Stats.Rejected counts. A message the stream dropped as a duplicate of an
// earlier one is a Duplicate, unless this call published it before (an
// acknowledgement lost): then the earlier one's outcome is this one's.
func (r *Replica) outcome(id string, ack pubAck) (engine.Outcome, error) {
	if id == "" {
		return engine.Recorded, nil
	}
	if ack.duplicate && !ack.retried {
		return engine.Duplicate, nil
	}
	r.trackMu.Lock()
	defer r.trackMu.Unlock()
	if t := r.tracked[id]; t != nil {
		if i := slices.IndexFunc(t.applied, func(a trackedApply) bool { return a.seq == ack.seq }); i >= 0 {
			return t.applied[i].o, t.applied[i].err
		}
	}
	// Applied before this call registered it: stored by an earlier call.
	return engine.Duplicate, nil
}

// RecordBatchOutcomes is RecordBatch that also stores in out[i] what event
// i did as this replica's engine applied it, so that an ingest endpoint
// counts new responses, duplicates and corrections exactly as with an
// engine alone (engine.Engine.RecordBatchResponsesAt): Recorded, Duplicate
// (a delivery of a response held at this version or a higher one, or a
// publish the stream dropped as a retry), Updated (a correction), or
// Rejected for the events in the *engine.BatchError. out must be at least
// as long as events. An event with a response id that the engine refuses
// as it applies it (engine.ErrTooNew, ... see Stats.Rejected) is listed in
// the BatchError too; one without a response id is reported Recorded, as
// this replica does not keep the outcome of every message. If out is nil,
// it is RecordBatch.
//
// When the error is neither nil nor a BatchError, out is not filled in.
func (r *Replica) RecordBatchOutcomes(ctx context.Context, events []engine.Event, out []engine.Outcome) error {
	if out != nil {
		out = out[:len(events)]
	}
	msgs, rejected, err := r.prepare(events)
	if err != nil {
		return err
	}
	index := make([]int, 0, len(msgs)) // index[j]: the event of valid message j
	valid := msgs[:0]
	next := 0
	for i := range msgs {
		if next < len(rejected) && rejected[next].Index == i {
			next++
			if out != nil {
				out[i] = engine.Rejected
			}
			continue
		}
		valid = append(valid, msgs[i])
		index = append(index, i)
	}
	msgs = valid
	if len(msgs) > 0 {
		var acks []pubAck
		var ids []string
		if out != nil {
			acks = make([]pubAck, len(msgs))
			ids = r.track(msgs)
			defer r.untrack(ids)
		}
		seq, err := r.publish(ctx, msgs, acks)
		if err != nil {
			return err
		}
		if err := r.WaitApplied(ctx, seq); err != nil {
			return err
		}
		if out != nil {
			late := false
			for j := range msgs {
				o, err := r.outcome(ids[j], acks[j])
				out[index[j]] = o
				if err != nil {
					out[index[j]] = engine.Rejected
					rejected = append(rejected, engine.Rejection{Index: index[j], Err: err})
					late = true
				}
			}
			if late {
				slices.SortFunc(rejected, func(a, b engine.Rejection) int { return a.Index - b.Index })
			}
		}
	}
	if rejected != nil {
		return &engine.BatchError{Rejected: rejected}
	}
	return nil
}
