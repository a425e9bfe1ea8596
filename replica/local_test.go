package replica

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cxscore/cxscore/engine"
)

// logLines collects a replica's log, to tell which checkpoint it loaded.
type logLines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func openWithLocal(t *testing.T, c Config, local []byte) (*Replica, *engine.Engine, *logLines, error) {
	t.Helper()
	logs := new(logLines)
	c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c.Local = bytes.NewReader(local)
	eng := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Open(ctx, eng, c)
	if err == nil {
		t.Cleanup(func() { r.Close() })
	}
	return r, eng, logs, err
}

// TestLocalCheckpoint restarts replicas from a local checkpoint
// (WriteLocal, Config.Local): newer than the bucket's, older, damaged, of
// another stream, of the same stream created again, and one whose next
// messages the stream no longer holds.
func TestLocalCheckpoint(t *testing.T) {
	s := runServer(t)
	c := testConfig([]string{s.ClientURL()}, "LOCAL")
	msgs := genMessages(rand.New(rand.NewPCG(11, 12)), "l", 300)
	ctx := context.Background()

	r := openReplica(t, newEngine(t), c)
	publish(t, r, msgs[:100])
	waitApplied(t, r, 100)
	if _, err := r.Checkpoint(ctx); err != nil { // the bucket's: 100
		t.Fatal(err)
	}
	publish(t, r, msgs[100:150])
	waitApplied(t, r, 150)
	var local bytes.Buffer
	if seq, _, err := r.WriteLocal(&local); err != nil || seq != 150 {
		t.Fatalf("WriteLocal: got %d, %v, want 150", seq, err)
	}
	h, err := ReadLocalHeader(bytes.NewReader(local.Bytes()))
	if err != nil || h.Stream != "LOCAL" || h.Sequence != 150 || h.Created.IsZero() {
		t.Fatalf("header %+v, %v, want stream LOCAL at 150 with its creation time", h, err)
	}
	publish(t, r, msgs[150:200])
	r.Close()
	want := reference(t, msgs[:200])

	t.Run("newer than the bucket's", func(t *testing.T) {
		again, eng, logs, err := openWithLocal(t, c, local.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		waitApplied(t, again, 200)
		sameAnswers(t, "from the local checkpoint", want, eng)
		if !strings.Contains(logs.String(), `msg="loaded the local checkpoint" replica=LOCAL stream=LOCAL seq=150`) {
			t.Fatalf("log %s, want the local checkpoint at 150 loaded", logs)
		}
		if st := again.Stats(); st.Checkpoint != 100 || st.CheckpointTime.IsZero() {
			t.Fatalf("Stats.Checkpoint %d at %v, want the bucket's newest, 100, and its time", st.Checkpoint, st.CheckpointTime)
		}
	})

	t.Run("damaged", func(t *testing.T) {
		for name, at := range map[string]int{"header": 12, "snapshot": local.Len() - 8} {
			bad := bytes.Clone(local.Bytes())
			bad[at] ^= 0x40
			_, eng, _, err := openWithLocal(t, c, bad)
			if !errors.Is(err, ErrLocalCorrupt) {
				t.Fatalf("%s damaged: got %v, want ErrLocalCorrupt", name, err)
			}
			if name == "snapshot" && !errors.Is(err, engine.ErrSnapshotCorrupt) {
				t.Fatalf("snapshot damaged: got %v, want engine.ErrSnapshotCorrupt too", err)
			}
			if st := eng.Stats(); st.Keys != 0 {
				t.Fatalf("%s damaged: the engine holds %d keys, want none", name, st.Keys)
			}
		}
		if _, _, _, err := openWithLocal(t, c, local.Bytes()[:20]); !errors.Is(err, ErrLocalCorrupt) {
			t.Fatalf("truncated: got %v, want ErrLocalCorrupt", err)
		}
	})

	t.Run("another stream", func(t *testing.T) {
		other := withSubject(testConfig([]string{s.ClientURL()}, "OTHER"), "cx.other")
		_, _, _, err := openWithLocal(t, other, local.Bytes())
		if !errors.Is(err, ErrLocalStream) || !strings.Contains(err.Error(), "holds stream LOCAL") {
			t.Fatalf("got %v, want ErrLocalStream naming stream LOCAL", err)
		}
	})

	t.Run("older than the bucket's", func(t *testing.T) {
		r := openReplica(t, newEngine(t), c)
		waitApplied(t, r, 200)
		if _, err := r.Checkpoint(ctx); err != nil { // the bucket's: 200
			t.Fatal(err)
		}
		r.Close()
		again, eng, logs, err := openWithLocal(t, c, local.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		waitApplied(t, again, 200)
		sameAnswers(t, "from the bucket's checkpoint", want, eng)
		if !strings.Contains(logs.String(), "not newer than the bucket's") || !strings.Contains(logs.String(), `msg="loaded checkpoint" replica=LOCAL stream=LOCAL seq=200`) {
			t.Fatalf("log %s, want the bucket's checkpoint at 200 loaded", logs)
		}
	})

	t.Run("purged after it", func(t *testing.T) {
		c := withSubject(testConfig([]string{s.ClientURL()}, "PURGED"), "cx.purged")
		r := openReplica(t, newEngine(t), c)
		publish(t, r, msgs[:100])
		waitApplied(t, r, 100)
		var local bytes.Buffer
		if _, _, err := r.WriteLocal(&local); err != nil {
			t.Fatal(err)
		}
		publish(t, r, msgs[100:200])
		waitApplied(t, r, 200)
		if _, err := r.Checkpoint(ctx); err != nil { // the bucket's: 200
			t.Fatal(err)
		}
		publish(t, r, msgs[200:300])
		// The stream drops 1-150: the local checkpoint's next message is
		// gone. The bucket's checkpoint is deleted, so that the local one
		// is the newer.
		if err := r.strm.Purge(ctx, jetstream.WithPurgeSequence(151)); err != nil {
			t.Fatal(err)
		}
		if err := r.store.Delete(ctx, checkpointName(200)); err != nil {
			t.Fatal(err)
		}
		r.Close()
		again, eng, logs, err := openWithLocal(t, c, local.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		waitApplied(t, again, 300)
		if !strings.Contains(logs.String(), "no longer holds the messages after the local checkpoint") {
			t.Fatalf("log %s, want the local checkpoint refused for the purged messages", logs)
		}
		sameAnswers(t, "from what the stream holds", reference(t, msgs[150:300]), eng)
	})

	t.Run("the stream created again", func(t *testing.T) {
		c := withSubject(testConfig([]string{s.ClientURL()}, "AGAIN"), "cx.again")
		r := openReplica(t, newEngine(t), c)
		publish(t, r, msgs[:10])
		waitApplied(t, r, 10)
		var local bytes.Buffer
		if _, _, err := r.WriteLocal(&local); err != nil {
			t.Fatal(err)
		}
		if err := r.js.DeleteStream(ctx, "AGAIN"); err != nil {
			t.Fatal(err)
		}
		r.Close()
		r = openReplica(t, newEngine(t), c) // creates it anew
		publish(t, r, msgs[:20])
		r.Close()
		if _, _, _, err := openWithLocal(t, c, local.Bytes()); !errors.Is(err, ErrLocalStream) {
			t.Fatalf("got %v, want ErrLocalStream: the stream of that name was created again", err)
		}
	})
}

func FuzzReadLocalHeader(f *testing.F) {
	valid := appendLocalHeader(nil, LocalHeader{Stream: "CXSCORE", Created: time.Unix(1_700_000_000, 5), Sequence: 42})
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(append(bytes.Clone(valid), "snapshot"...))
	f.Add([]byte("cxrlocal\x02"))
	f.Add([]byte("cxrlocal\x01\xff\xff\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		h, err := ReadLocalHeader(br)
		if err != nil {
			if !errors.Is(err, ErrLocalCorrupt) {
				t.Fatalf("got %v, want only ErrLocalCorrupt", err)
			}
			return
		}
		again := appendLocalHeader(nil, h)
		if !bytes.HasPrefix(data, again) {
			t.Fatalf("header %+v re-encodes as %x, not the start of %x", h, again, data)
		}
	})
}

func withSubject(c Config, subject string) Config {
	c.Subject = subject
	return c
}
