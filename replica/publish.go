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
	if r.closed.Load() {
		return 0, ErrClosed
	}
	msgs := make([]message, len(events))
	var rejected []engine.Rejection
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
	if rejected != nil {
		return 0, &engine.BatchError{Rejected: rejected}
	}
	return r.publish(ctx, msgs)
}

func (r *Replica) check(m *message) error {
	if err := r.eng.Check(m.Event); err != nil {
		return err
	}
	if n := len(m.Event.CustomerID); n > MaxIDBytes {
		return fmt.Errorf("%w: customer id of %d bytes, want at most %d", ErrIDTooLong, n, MaxIDBytes)
	}
	if n := len(m.ResponseID); n > MaxIDBytes {
		return fmt.Errorf("%w: response id of %d bytes, want at most %d", ErrIDTooLong, n, MaxIDBytes)
	}
	return nil
}

// publish publishes checked messages asynchronously, asyncWindow at a time,
// and waits for every acknowledgement.
func (r *Replica) publish(ctx context.Context, msgs []message) (uint64, error) {
	size := 0
	for i := range msgs {
		size += 32 + len(msgs[i].Event.Segment) + len(msgs[i].Event.Touchpoint) + len(msgs[i].Event.CustomerID) + len(msgs[i].ResponseID)
	}
	buf := make([]byte, 0, size) // one allocation for every message's data
	out := make([]*nats.Msg, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	var (
		last, failed uint64
		firstErr     error
	)
	wait := func(i int, f jetstream.PubAckFuture, err error) {
		var ack *jetstream.PubAck
		if err == nil {
			select {
			case ack = <-f.Ok():
			case err = <-f.Err():
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if err != nil && (out[i].Header.Get(jetstream.MsgIDHeader) != "" || notStored(err)) {
			ack, err = r.retryPublish(ctx, out[i], err)
		}
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("event %d: %w", i, err)
			}
			return
		}
		last = max(last, ack.Sequence)
	}
	pending := make([]error, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		start := len(buf)
		buf = appendMessage(buf, m)
		nm := &nats.Msg{Subject: subject(r.set.Subject, m.Event.Segment, m.Event.Touchpoint), Data: buf[start:len(buf):len(buf)]}
		if id := m.msgID(); id != "" {
			nm.Header = nats.Header{jetstream.MsgIDHeader: []string{id}}
		}
		out[i] = nm
		futures[i], pending[i] = r.js.PublishMsgAsync(nm, jetstream.WithExpectStream(r.set.Stream), jetstream.WithStallWait(10*time.Second))
		if j := i - asyncWindow; j >= 0 {
			wait(j, futures[j], pending[j])
		}
	}
	for j := max(0, len(msgs)-asyncWindow); j < len(msgs); j++ {
		wait(j, futures[j], pending[j])
	}
	if failed > 0 {
		return last, fmt.Errorf("%w: %d of %d events; %w", ErrNotAcknowledged, failed, len(msgs), firstErr)
	}
	return last, nil
}

// notStored reports whether a publish certainly did not reach the stream.
func notStored(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// retryPublish publishes m synchronously until it is acknowledged or ctx is
// done. It is called only for messages that a retry cannot store twice.
func (r *Replica) retryPublish(ctx context.Context, m *nats.Msg, err error) (*jetstream.PubAck, error) {
	m = &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data} // the async publish set its reply
	for wait := 50 * time.Millisecond; ctx.Err() == nil; wait = min(2*wait, time.Second) {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		var ack *jetstream.PubAck
		ack, err = r.js.PublishMsg(attempt, m, jetstream.WithExpectStream(r.set.Stream), jetstream.WithRetryAttempts(-1))
		cancel()
		if err == nil {
			return ack, nil
		}
		if m.Header.Get(jetstream.MsgIDHeader) == "" && !notStored(err) {
			return nil, err
		}
	}
	return nil, err
}
