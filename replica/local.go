package replica

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// A local checkpoint is a copy of this replica's engine kept by its
// service (in a file, for one) for a faster start than from the Object
// Store: WriteLocal writes one, Config.Local gives it to Open. It is the
// engine's snapshot (engine.Engine.WriteSnapshot, unchanged) after a
// header that names what it holds:
//
//	magic    8 bytes  "cxrlocal", then the header's version, 1
//	stream   uvarint length, then the stream's name
//	created  8 bytes  big-endian Unix nanoseconds of the stream's creation
//	sequence 8 bytes  big-endian stream sequence of the last message held
//	crc      4 bytes  big-endian CRC-32C (Castagnoli) of the bytes above
//
// The creation time tells a stream deleted and created again under the
// same name from the one the copy was taken of; the snapshot carries a
// CRC of its own.
const localMagic = "cxrlocal"

const localVersion = 1

// maxLocalStream bounds the stream name of a local checkpoint's header;
// JetStream's own limit is lower.
const maxLocalStream = 255

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// LocalHeader is what a local checkpoint's header says.
type LocalHeader struct {
	// Stream is the name of the stream the checkpoint was taken of.
	Stream string
	// Created is when that stream was created, which tells it apart from
	// a stream of the same name created later.
	Created time.Time
	// Sequence is the stream sequence of the last message the checkpoint
	// holds: a replica that loads it applies the stream from Sequence+1.
	Sequence uint64
}

func appendLocalHeader(dst []byte, h LocalHeader) []byte {
	start := len(dst)
	dst = append(dst, localMagic...)
	dst = append(dst, localVersion)
	dst = binary.AppendUvarint(dst, uint64(len(h.Stream)))
	dst = append(dst, h.Stream...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Created.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, h.Sequence)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// ReadLocalHeader reads the header of a local checkpoint from r, leaving r
// at the start of its snapshot. Errors wrap ErrLocalCorrupt (not a local
// checkpoint, a header of another version, truncated, or a CRC mismatch)
// or r's error.
func ReadLocalHeader(r io.ByteReader) (LocalHeader, error) {
	var h LocalHeader
	var buf []byte
	read := func(n int, what string) ([]byte, error) {
		for range n {
			b, err := r.ReadByte()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("%w: the header ends after %d bytes, in its %s", ErrLocalCorrupt, len(buf), what)
				}
				return nil, err
			}
			buf = append(buf, b)
		}
		return buf[len(buf)-n:], nil
	}
	magic, err := read(len(localMagic)+1, "magic")
	if err != nil {
		return h, err
	}
	if string(magic[:len(localMagic)]) != localMagic {
		return h, fmt.Errorf("%w: it starts with %q, not %q: not a local checkpoint of a replica", ErrLocalCorrupt, magic[:len(localMagic)], localMagic)
	}
	if v := magic[len(localMagic)]; v != localVersion {
		return h, fmt.Errorf("%w: header version %d, want %d", ErrLocalCorrupt, v, localVersion)
	}
	var n uint64
	for shift := 0; ; shift += 7 {
		b, err := read(1, "stream name's length")
		if err != nil {
			return h, err
		}
		n |= uint64(b[0]&0x7f) << shift
		if b[0] < 0x80 {
			break
		}
		if shift >= 14 {
			return h, fmt.Errorf("%w: a stream name longer than %d bytes", ErrLocalCorrupt, maxLocalStream)
		}
	}
	if n > maxLocalStream {
		return h, fmt.Errorf("%w: a stream name of %d bytes, want at most %d", ErrLocalCorrupt, n, maxLocalStream)
	}
	name, err := read(int(n), "stream name")
	if err != nil {
		return h, err
	}
	h.Stream = string(name)
	fixed, err := read(16, "stream creation time and sequence")
	if err != nil {
		return h, err
	}
	h.Created = time.Unix(0, int64(binary.BigEndian.Uint64(fixed))).UTC()
	h.Sequence = binary.BigEndian.Uint64(fixed[8:])
	want := crc32.Checksum(buf, castagnoli)
	sum, err := read(4, "CRC")
	if err != nil {
		return h, err
	}
	if got := binary.BigEndian.Uint32(sum); got != want {
		return LocalHeader{}, fmt.Errorf("%w: header CRC %08x, computed %08x", ErrLocalCorrupt, got, want)
	}
	return h, nil
}

// WriteLocal writes a local checkpoint of the replica to w (see
// Config.Local): a header naming the stream and the sequence applied,
// then the engine's snapshot holding exactly the stream up to it. Applying
// pauses while the snapshot is taken, in memory, as for Checkpoint (it
// waits for a Checkpoint's upload in progress, whose buffer it shares);
// writing to w does not. It returns the sequence and the bytes written.
//
// Errors wrap ErrClosed, the engine's or w's.
func (r *Replica) WriteLocal(w io.Writer) (seq uint64, n int64, err error) {
	if r.closed.Load() {
		return 0, 0, ErrClosed
	}
	r.ckptMu.Lock()
	defer r.ckptMu.Unlock()
	r.applyMu.Lock()
	seq = r.applied.Load()
	r.ckptBuf.Reset()
	r.ckptBuf.Write(appendLocalHeader(nil, LocalHeader{Stream: r.set.Stream, Created: r.created, Sequence: seq}))
	_, err = r.eng.WriteSnapshot(&r.ckptBuf)
	r.applyMu.Unlock()
	if err != nil {
		return 0, 0, fmt.Errorf("snapshot the engine at sequence %d: %w", seq, err)
	}
	n, err = r.ckptBuf.WriteTo(w)
	return seq, n, err
}

// loadLocal reads the header of Config.Local and, if it is newer than the
// bucket's newest checkpoint (newest), and the stream still holds every
// message after it, merges its snapshot into the engine and reports true.
// A local checkpoint of another stream (another name, or one created at
// another time) is refused with ErrLocalStream, a damaged one with
// ErrLocalCorrupt: the caller keeps it (it may hold what another
// configuration needs) and says so. One that is older, or whose next
// message the stream no longer holds (purged, or past its MaxAge), is left
// for the bucket's checkpoint, and reports false.
func (r *Replica) loadLocal(ctx context.Context, newest uint64) (bool, error) {
	br, ok := r.set.Local.(io.ByteReader)
	if !ok {
		br = bufio.NewReaderSize(r.set.Local, 64<<10)
	}
	h, err := ReadLocalHeader(br)
	if err != nil {
		return false, fmt.Errorf("local checkpoint: %w", err)
	}
	info := r.strm.CachedInfo()
	if h.Stream != r.set.Stream || !h.Created.Equal(info.Created) {
		return false, fmt.Errorf("%w: it holds stream %s created %s up to sequence %d, and this replica applies stream %s created %s",
			ErrLocalStream, h.Stream, h.Created.Format(time.RFC3339Nano), h.Sequence, r.set.Stream, info.Created.UTC().Format(time.RFC3339Nano))
	}
	switch {
	case h.Sequence <= newest:
		r.log.Info("the local checkpoint is not newer than the bucket's; loading the bucket's", "local", h.Sequence, "bucket", newest)
		return false, nil
	case h.Sequence > info.State.LastSeq:
		return false, fmt.Errorf("%w: it holds stream %s up to sequence %d, beyond the stream's last, %d", ErrLocalStream, h.Stream, h.Sequence, info.State.LastSeq)
	case info.State.FirstSeq > h.Sequence+1:
		r.log.Warn("the stream no longer holds the messages after the local checkpoint; loading the bucket's checkpoint instead",
			"local", h.Sequence, "stream_first", info.State.FirstSeq, "bucket", newest)
		return false, nil
	}
	start := time.Now()
	var src io.Reader = r.set.Local
	if b, ok := br.(io.Reader); ok {
		src = b
	}
	if err := r.eng.MergeSnapshot(src); err != nil {
		if st := r.eng.Stats(); st.Keys != 0 {
			return false, fmt.Errorf("%w: its snapshot failed to load half-way: %w", ErrLocalCorrupt, err)
		}
		return false, fmt.Errorf("%w: its snapshot at sequence %d: %w", ErrLocalCorrupt, h.Sequence, err)
	}
	r.applied.Store(h.Sequence)
	r.log.Info("loaded the local checkpoint", "seq", h.Sequence, "bucket", newest, "took", time.Since(start))
	return true, nil
}
