package replica

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A checkpoint is an engine snapshot (engine.Engine.WriteSnapshot) in the
// Object Store bucket, named "checkpoint-" and the stream sequence of the
// last message it holds in 20 decimal digits, so names sort as sequences.
// Its metadata repeats the sequence ("stream-sequence") and names the
// replica that wrote it ("replica").
const checkpointPrefix = "checkpoint-"

func checkpointName(seq uint64) string { return fmt.Sprintf("%s%020d", checkpointPrefix, seq) }

func parseCheckpointName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, checkpointPrefix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// checkpoints lists the bucket's checkpoints, newest first.
func (r *Replica) checkpoints(ctx context.Context) ([]uint64, error) {
	infos, err := r.store.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, info := range infos {
		if seq, ok := parseCheckpointName(info.Name); ok && !info.Deleted {
			seqs = append(seqs, seq)
		}
	}
	slices.SortFunc(seqs, func(a, b uint64) int { return cmp.Compare(b, a) })
	return seqs, nil
}

// loadCheckpoint merges the newest checkpoint that loads into the (empty)
// engine and sets the applied sequence to its. A checkpoint that does not
// load (corrupt, or of an engine with other tiers) is logged and skipped:
// the next older one, or the whole stream, takes its place.
func (r *Replica) loadCheckpoint(ctx context.Context) error {
	var seqs []uint64
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		seqs, err = r.checkpoints(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("list checkpoints in bucket %s: %w", r.set.CheckpointBucket, err)
	}
	if r.set.Local != nil {
		var newest uint64
		if len(seqs) > 0 {
			newest = seqs[0]
		}
		loaded, err := r.loadLocal(ctx, newest)
		if err != nil {
			return err
		}
		if loaded {
			if newest > 0 { // the bucket's newest still is, for Stats and the next Checkpoint
				r.checkpoint.Store(newest)
				if info, err := r.store.GetInfo(ctx, checkpointName(newest)); err == nil {
					r.ckptTime.Store(info.ModTime.UnixNano())
				}
			}
			return nil
		}
	}
	for _, seq := range seqs {
		start := time.Now()
		obj, err := r.store.Get(ctx, checkpointName(seq))
		if err != nil {
			r.log.Warn("could not read a checkpoint", "name", checkpointName(seq), "err", err)
			continue
		}
		err = r.eng.MergeSnapshot(obj)
		obj.Close()
		if err != nil {
			if st := r.eng.Stats(); st.Keys != 0 {
				return fmt.Errorf("checkpoint %s failed to load half-way: %w", checkpointName(seq), err)
			}
			r.log.Warn("skipped a checkpoint that does not load", "name", checkpointName(seq), "err", err)
			continue
		}
		r.applied.Store(seq)
		r.checkpoint.Store(seq)
		if info, err := obj.Info(); err == nil {
			r.ckptTime.Store(info.ModTime.UnixNano())
		}
		r.log.Info("loaded checkpoint", "seq", seq, "took", time.Since(start))
		return nil
	}
	return nil
}

// Checkpoint writes a checkpoint now, unless the newest one already holds
// everything applied, and returns its stream sequence. Applying pauses
// while the engine's snapshot is taken (in memory); uploading it does not.
// Checkpoints beyond Config.KeepCheckpoints are then deleted, oldest first.
// The replica also checkpoints by itself (Config.CheckpointEvery and
// CheckpointInterval); call Checkpoint before Close for a fast restart.
func (r *Replica) Checkpoint(ctx context.Context) (uint64, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	r.ckptMu.Lock()
	defer r.ckptMu.Unlock()
	r.applyMu.Lock()
	seq := r.applied.Load()
	if seq == r.checkpoint.Load() {
		r.applyMu.Unlock()
		return seq, nil
	}
	r.ckptBuf.Reset()
	_, err := r.eng.WriteSnapshot(&r.ckptBuf)
	if err == nil {
		r.sinceCkpt = 0
	}
	r.applyMu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("snapshot the engine at sequence %d: %w", seq, err)
	}
	_, err = r.store.Put(ctx, jetstream.ObjectMeta{
		Name:        checkpointName(seq),
		Description: "cxscore engine snapshot holding stream " + r.set.Stream + " up to sequence " + strconv.FormatUint(seq, 10),
		Metadata:    map[string]string{"stream-sequence": strconv.FormatUint(seq, 10), "replica": r.set.Name},
	}, &r.ckptBuf)
	if err != nil {
		return 0, fmt.Errorf("upload checkpoint %s: %w", checkpointName(seq), err)
	}
	r.checkpoint.Store(seq)
	r.ckptTime.Store(time.Now().UnixNano())
	if err := r.prune(ctx); err != nil {
		r.log.Warn("could not delete old checkpoints", "err", err)
	}
	return seq, nil
}

// prune deletes the checkpoints beyond the newest KeepCheckpoints. Other
// replicas write checkpoints too: it never deletes the one this replica
// just wrote or newer ones.
func (r *Replica) prune(ctx context.Context) error {
	seqs, err := r.checkpoints(ctx)
	if err != nil {
		return err
	}
	mine := r.checkpoint.Load()
	for i, seq := range seqs {
		if i < r.set.KeepCheckpoints || seq >= mine {
			continue
		}
		if err := r.store.Delete(ctx, checkpointName(seq)); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return err
		}
	}
	return nil
}

// checkpointLoop writes checkpoints when CheckpointEvery events were
// applied (apply asks) and every CheckpointInterval while events arrive.
func (r *Replica) checkpointLoop() {
	defer r.wg.Done()
	var tick <-chan time.Time
	if r.set.CheckpointInterval > 0 {
		t := time.NewTicker(r.set.CheckpointInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.done:
			return
		case <-tick:
		case <-r.ckptReq:
		}
		if r.applied.Load() == r.checkpoint.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		go func() { // Close cancels an upload in progress
			select {
			case <-r.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, err := r.Checkpoint(ctx); err != nil && !errors.Is(err, ErrClosed) {
			r.log.Warn("checkpoint failed", "err", err)
		}
		cancel()
	}
}
