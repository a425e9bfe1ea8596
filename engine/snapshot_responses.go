package engine

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cxscore/cxscore/internal/timeline"
)

// stagedResponse is a held response read from a snapshot: key is an index
// into the snapshot's keys, or -1 for a key since deleted.
type stagedResponse struct {
	key     int
	hash    uint64
	version uint64
	slot    int64
	answer  uint8 // deleted << 7 | metric << 4 | score
}

// appendSnapshot appends the responses section of a snapshot: every held
// response still within retention at now, by increasing hash. keys are the
// snapshot's series in their order. Caller holds every shard.
func (r *responses) appendSnapshot(dst []byte, keys []*series, l *timeline.Layout, now int64) []byte {
	index := make(map[*series]int, len(keys))
	for i, s := range keys {
		index[s] = i + 1
	}
	nowSlot := l.Slot(0, now)
	from := l.Slot(0, l.Oldest(now))
	var held []stagedResponse
	for i := range r.shards {
		sh := &r.shards[i]
		for _, c := range sh.tab {
			if c.id == 0 {
				continue
			}
			slot := c.slot(sh.near)
			if slot < from {
				continue // aged out, forgotten at the next expiry
			}
			k := index[r.refs.get(c.ref())] // 0: the key is gone, and its answer with it
			answer := uint8(c.id)
			if k == 0 {
				answer |= deletedBit
			}
			held = append(held, stagedResponse{key: k, hash: uint64(i)<<(64-respShardBits) | c.id>>respShardBits,
				version: c.version, slot: slot, answer: answer})
		}
	}
	slices.SortFunc(held, func(a, b stagedResponse) int {
		if a.hash < b.hash {
			return -1
		}
		return 1
	})
	dst = binary.AppendUvarint(dst, uint64(len(held)))
	for _, h := range held {
		dst = binary.AppendUvarint(dst, uint64(h.key))
		dst = binary.BigEndian.AppendUint64(dst, h.hash)
		dst = binary.AppendUvarint(dst, h.version)
		dst = binary.AppendVarint(dst, h.slot-nowSlot)
		dst = append(dst, h.answer)
	}
	return dst
}

// readResponses reads and checks the responses section of a snapshot of
// keys keys, written at snapNow.
func (e *Engine) readResponses(sr *snapReader, keys int, snapNow int64) []stagedResponse {
	n := sr.uvarint("response count", 1<<32)
	if sr.err != nil {
		return nil
	}
	nowSlot := e.layout.Slot(0, snapNow)
	var out []stagedResponse
	var idb []byte
	for i := range n {
		r := stagedResponse{key: int(sr.uvarint("response key", uint64(keys))) - 1}
		if idb = sr.bytes(8, "response id"); sr.err != nil {
			return nil
		}
		r.hash = binary.BigEndian.Uint64(idb)
		r.version = sr.uvarint("response version", 1<<64-1)
		d := sr.varint("response slot")
		r.answer = sr.byte("response answer")
		if sr.err != nil {
			return nil
		}
		if d < -(1<<30) || d > 1<<30 {
			sr.corrupt("response %d is %d buckets from the snapshot's time", i, d)
			return nil
		}
		r.slot = nowSlot + d
		m, score := Metric(r.answer>>4&3), int(r.answer&15)
		if r.answer&0x40 != 0 || m.Check(score) != nil {
			sr.corrupt("response %d answers %#x", i, r.answer)
			return nil
		}
		if r.key < 0 && r.answer&deletedBit == 0 {
			sr.corrupt("response %d is counted in no key", i)
			return nil
		}
		if len(out) > 0 && r.hash <= out[len(out)-1].hash {
			sr.corrupt("responses out of order at %d", i)
			return nil
		}
		out = append(out, r)
	}
	return out
}

// admit checks, before a merge changes anything, that the snapshot's
// responses and keys can be held. Caller holds every shard.
func (r *responses) admit(staged []stagedResponse, l *timeline.Layout, now int64, limit, keys int) error {
	fresh := 0
	from := l.Slot(0, l.Oldest(now))
	for _, s := range staged {
		sh := r.shard(s.hash)
		r.expire(sh, l, now)
		if s.slot >= from && sh.find(storedID(s.hash)) < 0 {
			fresh++
		}
	}
	if held := r.held.Load(); held+int64(fresh) > int64(limit) {
		return fmt.Errorf("%w: the snapshot holds %d responses this engine does not, and it holds %d of at most %d",
			ErrTooManyResponses, fresh, held, limit)
	}
	if l := r.refs.list.Load(); l != nil && len(*l)+keys > maxRefs {
		return fmt.Errorf("%w: responses of %d keys held in this engine's life, the most it can", ErrTooManyResponses, len(*l))
	}
	return nil
}

// beats reports whether held response a wins over b in a merge: the higher
// version, then a deletion, then (two replicas given different answers
// under one version, which a sender should not do) the later bucket, the
// higher answer and the greater key, so that merges agree in any order.
func (r *responses) beats(a, b *heldResponse, near int64) bool {
	if a.version != b.version {
		return a.version > b.version
	}
	if a.deleted() != b.deleted() {
		return a.deleted()
	}
	if sa, sb := a.slot(near), b.slot(near); sa != sb {
		return sa > sb
	}
	if a.id&0xff != b.id&0xff {
		return a.id&0xff > b.id&0xff
	}
	ka, kb := r.refs.get(a.ref()), r.refs.get(b.ref())
	return ka != nil && kb != nil && compareKeys(ka.key, kb.key) > 0
}

// mergeResponses resolves the snapshot's held responses, whose buckets
// series (the snapshot's keys, in order) have just absorbed: per response,
// the higher version's answer stays counted, a deletion winning a tie.
// Absorb put the snapshot's finest buckets on lane 0, so its answers are
// taken out there. Caller holds every shard.
func (e *Engine) mergeResponses(staged []stagedResponse, series []*series, now int64) {
	from := e.layout.Slot(0, e.layout.Oldest(now))
	future := now + int64(e.layout.Future())
	for _, s := range staged {
		if s.slot < from {
			continue // aged out here: in no window
		}
		in := heldResponse{
			id:      storedID(s.hash) | uint64(s.answer),
			version: s.version,
			loc:     uint64(uint32(s.slot)) << 32,
		}
		if s.key >= 0 {
			ref, _ := e.resp.refs.of(series[s.key]) // admitted
			in.loc |= uint64(ref) << laneBits
		}
		sh := e.resp.shard(s.hash)
		i := sh.find(storedID(s.hash))
		if i < 0 {
			sh.insert(in)
			e.resp.held.Add(1)
			continue
		}
		held := &sh.tab[i]
		loser := &in
		if e.resp.beats(&in, held, sh.near) {
			loser = held
		}
		if !loser.deleted() {
			if t := e.layout.Start(0, loser.slot(sh.near)); t <= future {
				e.retract(loser, now, t)
			}
		}
		if loser == held {
			*held = in
		}
	}
}
