package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cxscore/cxscore/engine"
)

// asyncWindow is how many publishes of one Publish call are in flight at
// once, waiting for their acknowledgements.
const asyncWindow = 1024

// ackTimeout is how long a publish waits for its acknowledgement before it
// is retried (an event with a response id) or reported (one without): the
// stream leader may be gone, and a new one takes a second or two.
const ackTimeout = 2 * time.Second

// Publish checks events with the engine (engine.Engine.Check) and publishes
// them to the stream, stamping those without a time with the engine's
// clock. It returns once JetStream has acknowledged every one (stored it on
// a majority of the stream's replicas), with the stream sequence of the
// last: WaitApplied(ctx, lastSeq) then waits until this replica's engine
// holds them. The events reach this replica's engine, like every other's,
// through the stream, not directly.
//
// If any event is invalid, nothing is published and the error is an
// *engine.BatchError listing the rejected events, whose errors wrap the
// engine's sentinels or ErrIDTooLong. If JetStream does not acknowledge
// some events before ctx is done, the error wraps ErrNotAcknowledged and the
// first failure; those events may or may not be in the stream. An event
// with a response id carries Nats-Msg-Id = "id/version", so Publish retries
// it until ctx is done, and a caller may retry it within the stream's
// duplicate window without counting it twice. An event without one is
// retried only when it certainly was not stored (no stream leader
// answered); retrying it after ErrNotAcknowledged may count it twice.
func (r *Replica) Publish(ctx context.Context, events []engine.Event) (lastSeq uint64, err error) {
	msgs, rejected, err := r.prepare(events)
	if err != nil {
		return 0, err
	}
	if rejected != nil {
		return 0, &engine.BatchError{Rejected: rejected}
	}
	return r.publish(ctx, msgs, nil)
}

// prepare turns events into messages, stamping those without a time with
// the engine's clock, and checks each: rejected lists the invalid ones, in
// index order.
func (r *Replica) prepare(events []engine.Event) (msgs []message, rejected []engine.Rejection, err error) {
	if r.closed.Load() {
		return nil, nil, ErrClosed
	}
	msgs = make([]message, len(events))
	now := r.eng.Now()
	for i, ev := range events {
		msgs[i] = fromEngine(ev)
		if msgs[i].Event.Time.IsZero() {
			msgs[i].Event.Time = now
		}
		if err := r.check(&msgs[i]); err != nil {
			rejected = append(rejected, engine.Rejection{Index: i, Err: err})
		}
	}
	return msgs, rejected, nil
}

func (r *Replica) check(m *message) error {
	if err := r.eng.Check(m.Event); err != nil {
		return err
	}
	if n := len(m.Event.CustomerID); n > MaxIDBytes {
		return fmt.Errorf("%w: customer id of %d bytes, want at most %d", ErrIDTooLong, n, MaxIDBytes)
	}
	if n := len(m.Event.ResponseID); n > MaxIDBytes {
		return fmt.Errorf("%w: response id of %d bytes, want at most %d", ErrIDTooLong, n, MaxIDBytes)
	}
	return nil
}

// publish publishes checked messages (events or deletions)
// asynchronously, asyncWindow in flight at a time, and waits for every
// acknowledgement. The messages that fail and may be retried (those with a
// msgID, and any that certainly was not stored) are published again, all
// at once, until they are acknowledged or ctx is done. If acks is not nil,
// acks[i] receives message i's acknowledgement.
func (r *Replica) publish(ctx context.Context, msgs []message, acks []pubAck) (uint64, error) {
	size := 0
	for i := range msgs {
		size += 32 + len(msgs[i].Event.Segment) + len(msgs[i].Event.Touchpoint) + len(msgs[i].Event.CustomerID) + len(msgs[i].Event.ResponseID)
	}
	buf := make([]byte, 0, size) // one allocation for every message's data
	data := make([][]byte, len(msgs))
	ids := make([]string, len(msgs))
	subjects := make([]string, len(msgs))
	todo := make([]int, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		start := len(buf)
		buf = appendMessage(buf, m)
		data[i] = buf[start:len(buf):len(buf)]
		ids[i] = m.msgID()
		subjects[i] = m.subject(r.set.Subject)
		todo[i] = i
	}
	var (
		last     uint64
		failed   int
		firstErr error
	)
	for wait, round := 50*time.Millisecond, 0; ; wait, round = min(2*wait, time.Second), round+1 {
		var retry []int
		var lastErr error
		r.publishRound(ctx, todo, subjects, ids, data, func(i int, ack *jetstream.PubAck, err error) {
			switch {
			case err == nil:
				last = max(last, ack.Sequence)
				if acks != nil {
					acks[i] = pubAck{seq: ack.Sequence, duplicate: ack.Duplicate, retried: round > 0}
				}
			case ctx.Err() == nil && (ids[i] != "" || notStored(err)) && !errors.Is(err, jetstream.ErrInvalidOption):
				retry = append(retry, i)
				lastErr = fmt.Errorf("event %d: %w", i, err)
			default:
				failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("event %d: %w", i, err)
				}
			}
		})
		if len(retry) == 0 {
			break
		}
		r.log.Debug("retrying unacknowledged events", "events", len(retry), "err", lastErr)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if ctx.Err() != nil {
			failed += len(retry)
			if firstErr == nil {
				firstErr = fmt.Errorf("%w (last try: %w)", ctx.Err(), lastErr)
			}
			break
		}
		todo = retry
	}
	if failed > 0 {
		return last, fmt.Errorf("%w: %d of %d events; %w", ErrNotAcknowledged, failed, len(msgs), firstErr)
	}
	return last, nil
}

// publishRound publishes the messages todo asynchronously, at most
// asyncWindow awaiting their acknowledgement, and calls done with each
// message's outcome.
func (r *Replica) publishRound(ctx context.Context, todo []int, subjects, ids []string, data [][]byte,
	done func(i int, ack *jetstream.PubAck, err error)) {
	type inflight struct {
		i   int
		f   jetstream.PubAckFuture
		err error
	}
	window := make([]inflight, 0, min(len(todo), asyncWindow))
	await := func(p inflight) {
		var ack *jetstream.PubAck
		err := p.err
		if err == nil {
			select {
			case ack = <-p.f.Ok():
			case err = <-p.f.Err():
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		done(p.i, ack, err)
	}
	for _, i := range todo {
		m := &nats.Msg{Subject: subjects[i], Data: data[i]}
		if ids[i] != "" {
			m.Header = nats.Header{jetstream.MsgIDHeader: []string{ids[i]}}
		}
		f, err := r.js.PublishMsgAsync(m, jetstream.WithExpectStream(r.set.Stream), jetstream.WithStallWait(ackTimeout))
		if len(window) == cap(window) {
			await(window[0])
			window = append(window[:0], window[1:]...)
		}
		window = append(window, inflight{i, f, err})
	}
	for _, p := range window {
		await(p)
	}
}

// notStored reports whether a publish certainly did not reach the stream.
func notStored(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// RecordBatch records events through the stream, with the contract of
// engine.Engine.RecordBatchAt so that it can stand in for the engine where a
// service records (package httpapi's Recorder, for one): the valid events
// are published, the invalid ones are returned in an *engine.BatchError
// and change nothing, and it returns once this replica's engine holds every
// event it published, so that a read from this replica that follows sees
// them. Any other error wraps ErrNotAcknowledged, ErrClosed or ctx's error:
// the events may or may not be in the stream (see Publish).
// RecordBatchOutcomes also says what each event did.
func (r *Replica) RecordBatch(ctx context.Context, events []engine.Event) error {
	return r.RecordBatchOutcomes(ctx, events, nil)
}
