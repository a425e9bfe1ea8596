package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
)

// TestCrashRecovery kills the sidecar with SIGKILL at random moments while
// events pour in and snapshots are written every 200ms, restarts it on the
// same file, and checks against a brute-force model (counts per score and
// customers per key, sharing no code with the engine) that
//
//   - the file always loads: every restart succeeds;
//   - every event accepted before the last completed write began is there
//     (the write's log line gives the events accepted when it began), and
//     nothing that was never sent is;
//   - per key, what survived is exactly the first events sent, with nothing
//     missing in between: the state of one moment, not a torn one.
//
// Then it stops the sidecar with SIGTERM, which must write everything
// acknowledged, restarts it once more to check that, and checks that no
// temporary files are left. Set CXSCORE_CRASH_SEED to replay a seed's
// delays and events (the process's timing differs from run to run).
func TestCrashRecovery(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kills the sidecar with SIGKILL and stops it with SIGTERM")
	}
	if testing.Short() {
		t.Skip("builds and restarts the sidecar; about 10 s")
	}
	bin := buildSidecar(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CXSCORE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("CXSCORE_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (CXSCORE_CRASH_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	dir := t.TempDir()
	path := filepath.Join(dir, "cxscore.snap")
	args := []string{"-addr", "127.0.0.1:0", "-snapshot", path, "-snapshot-every", "200ms"}
	m := newCrashModel()
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	const rounds = 5
	for round := 1; round <= rounds; round++ {
		sc := startSidecar(t, bin, args...)
		m.checkRestart(t, sc, fmt.Sprintf("start %d", round))

		// Every other round the kill waits, after its delay, for a write
		// to be under way (its temporary file to appear), so that some
		// kills land in the middle of one.
		delay := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))
		midWrite := round%2 == 0
		var killed atomic.Bool
		killerDone := make(chan struct{})
		go func() {
			defer close(killerDone)
			time.Sleep(delay) // random moments of another process's life
			for deadline := time.Now().Add(2 * time.Second); midWrite && !writing(dir) && time.Now().Before(deadline); {
				time.Sleep(100 * time.Microsecond)
			}
			killed.Store(true)
			sc.cmd.Process.Kill()
		}()
		batches, acked := 0, 0
		for {
			n := 1 + rng.IntN(400)
			batch := m.gen(rng, n)
			ok := m.post(t, client, sc.url, batch)
			if !ok {
				if !killed.Load() {
					t.Fatalf("round %d: a post failed before the kill", round)
				}
				break
			}
			batches++
			acked += n
		}
		<-killerDone
		<-sc.done
		writes := m.readLog(t, sc)
		how := "at random"
		if midWrite {
			how = "during a write"
		}
		t.Logf("round %d: killed %s after %v: %d batches (%d events) acknowledged, %d snapshots written, the last begun after %d events; %s",
			round, how, delay.Round(time.Millisecond), batches, acked, writes, m.lastAccepted, sc.writeStats())
	}

	// A graceful stop writes everything acknowledged.
	sc := startSidecar(t, bin, args...)
	m.checkRestart(t, sc, "start after the last kill")
	acked := 0
	for range 5 {
		batch := m.gen(rng, 1+rng.IntN(400))
		if !m.post(t, client, sc.url, batch) {
			t.Fatal("a post failed")
		}
		acked += len(batch)
	}
	client.CloseIdleConnections()
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-sc.done; err != nil {
		t.Fatalf("sidecar exited with %v after SIGTERM, want 0", err)
	}
	m.readLog(t, sc)
	if m.lastAccepted != acked {
		t.Fatalf("the last snapshot began after %d events, want all %d acknowledged", m.lastAccepted, acked)
	}
	sc = startSidecar(t, bin, args...)
	m.checkRestart(t, sc, "start after SIGTERM")
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-sc.done; err != nil {
		t.Fatalf("sidecar exited with %v after SIGTERM, want 0", err)
	}
	if got := folder(t, dir); !slices.Equal(got, []string{"cxscore.snap"}) {
		t.Errorf("files left: %v, want only cxscore.snap", got)
	}
	t.Logf("%d temporary files left by kills in the middle of a write were removed at restarts", m.staleRemoved)

	// A damaged file stops the start with exit status 1 and is kept.
	snap, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	snap[len(snap)/2] ^= 1
	if err := os.WriteFile(path, snap, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !bytes.Contains(out, []byte("corrupt snapshot")) {
		t.Errorf("starting on a damaged file: got %v\n%s\nwant exit status 1 and a message about a corrupt snapshot", err, out)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, snap) {
		t.Errorf("the damaged file was changed")
	}
}

// writing reports whether a snapshot write is under way in dir: whether a
// temporary file is there.
func writing(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			return true
		}
	}
	return false
}

// crashKeys are the keys of the crash test's events.
var crashKeys = func() [][2]string {
	var keys [][2]string
	for _, s := range []string{"enterprise", "smb", "consumer", "public"} {
		for _, tp := range []string{"checkout", "support", "app"} {
			keys = append(keys, [2]string{s, tp})
		}
	}
	return keys
}()

type crashEvent struct {
	key      int
	metric   string
	score    int
	customer string
}

// crashModel knows, per key, the events the sidecar's state holds for
// sure (restored at the last start), and the events sent since in order.
type crashModel struct {
	held         [][]crashEvent // per key
	sent         []crashEvent   // since the last start, every key, in order
	lastAccepted int            // events accepted before the last completed write of the last run began
	staleRemoved int
}

func newCrashModel() *crashModel {
	return &crashModel{held: make([][]crashEvent, len(crashKeys))}
}

// gen returns n valid events. Customers come from a pool of 300, so that
// unique counts stay exact (up to 2^12/4).
func (m *crashModel) gen(rng *rand.Rand, n int) []crashEvent {
	evs := make([]crashEvent, n)
	for i := range evs {
		metric := []string{"csat", "ces", "nps"}[rng.IntN(3)]
		scale := e2eScales[metric]
		evs[i] = crashEvent{key: rng.IntN(len(crashKeys)), metric: metric, score: scale[0] + rng.IntN(scale[1]-scale[0]+1)}
		if rng.IntN(4) > 0 {
			evs[i].customer = fmt.Sprint("c-", rng.IntN(300))
		}
	}
	return evs
}

// post sends a batch as NDJSON. It counts the batch as sent before
// sending, since a failed request may still have been recorded in part,
// and reports whether the batch was acknowledged.
func (m *crashModel) post(t *testing.T, client *http.Client, base string, batch []crashEvent) bool {
	t.Helper()
	m.sent = append(m.sent, batch...)
	var body bytes.Buffer
	at := time.Now().Add(-time.Minute).UTC()
	for i, ev := range batch {
		k := crashKeys[ev.key]
		// Within the last hour: in the 24h window, whatever its edges.
		body.WriteString(event(k[0], k[1], ev.metric, ev.score, ev.customer, at.Add(-time.Duration(i%50)*time.Minute)))
		body.WriteByte('\n')
	}
	res, err := client.Post(base+"/v1/events", ndjson, &body)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var resp httpapi.IngestResponse
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil {
		return false // cut off by the kill
	}
	if res.StatusCode != 200 || resp.Accepted != len(batch) {
		t.Fatalf("POST of %d events: got %d, %d accepted, %v; want 200, all accepted", len(batch), res.StatusCode, resp.Accepted, resp.Rejected)
	}
	return true
}

var (
	writtenLine = regexp.MustCompile(`msg="snapshot written" .*\bchanges=(\d+)`)
	bytesAttr   = regexp.MustCompile(`\bbytes=(\d+)`)
	durAttr     = regexp.MustCompile(`\bduration=(\S+)`)
)

// readLog reads a stopped sidecar's log: the events accepted when its last
// completed snapshot write began, and the temporary files it removed. It
// returns the number of writes.
func (m *crashModel) readLog(t *testing.T, sc *sidecar) int {
	t.Helper()
	sc.mu.Lock()
	log := sc.log.String()
	sc.mu.Unlock()
	m.staleRemoved += strings.Count(log, "removed a temporary snapshot file")
	matches := writtenLine.FindAllStringSubmatch(log, -1)
	m.lastAccepted = 0
	if len(matches) > 0 {
		m.lastAccepted, _ = strconv.Atoi(matches[len(matches)-1][1])
	}
	if m.lastAccepted > len(m.sent) {
		t.Fatalf("the last snapshot began after %d events, but only %d were sent", m.lastAccepted, len(m.sent))
	}
	return len(matches)
}

// writeStats summarises the sizes and durations of the snapshot writes in
// the log.
func (sc *sidecar) writeStats() string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var size string
	var longest time.Duration
	for _, line := range strings.Split(sc.log.String(), "\n") {
		if !strings.Contains(line, `msg="snapshot written"`) {
			continue
		}
		if b := bytesAttr.FindStringSubmatch(line); b != nil {
			size = b[1]
		}
		if d := durAttr.FindStringSubmatch(line); d != nil {
			if v, err := time.ParseDuration(d[1]); err == nil {
				longest = max(longest, v)
			}
		}
	}
	return fmt.Sprintf("last file %s bytes, longest write %v", size, longest)
}

// checkRestart compares a freshly started sidecar's state with the model.
// Per key, the state must be the events held for sure plus a prefix of
// the events sent since, no shorter than those among the first
// lastAccepted sent (a snapshot holds at least what was accepted before it
// began) and no longer than all of them. The prefix found becomes what
// is held for sure.
func (m *crashModel) checkRestart(t *testing.T, sc *sidecar, what string) {
	t.Helper()
	restored, required := 0, 0
	for k, key := range crashKeys {
		var sent []crashEvent
		lower := 0
		for i, ev := range m.sent {
			if ev.key == k {
				sent = append(sent, ev)
				if i < m.lastAccepted {
					lower++
				}
			}
		}
		var got wireResult
		sc.get(t, "/v1/scores?"+url.Values{"segment": {key[0]}, "touchpoint": {key[1]}, "window": {"24h"}}.Encode(), &got)
		n := int(got.CSAT.Responses + got.CES.Responses + got.NPS.Responses)
		held := len(m.held[k])
		if n < held+lower || n > held+len(sent) {
			t.Fatalf("%s: %s × %s holds %d responses, want %d to %d: %d restored before, then at least %d of the %d sent since",
				what, key[0], key[1], n, held+lower, held+len(sent), held, lower, len(sent))
		}
		want := append(m.held[k], sent[:n-held]...)
		counts := map[string][]uint64{"csat": make([]uint64, 5), "ces": make([]uint64, 7), "nps": make([]uint64, 11)}
		customers := map[string]bool{}
		for _, ev := range want {
			counts[ev.metric][ev.score-e2eScales[ev.metric][0]]++
			if ev.customer != "" {
				customers[ev.customer] = true
			}
		}
		for metric, s := range map[string]wireScore{"csat": got.CSAT, "ces": got.CES, "nps": got.NPS} {
			for i, c := range counts[metric] {
				if label := strconv.Itoa(i + e2eScales[metric][0]); s.Distribution[label] != c {
					t.Fatalf("%s: %s × %s: %s %s: got %d responses, want %d: not the first %d events sent",
						what, key[0], key[1], metric, label, s.Distribution[label], c, n)
				}
			}
		}
		if got.UniqueCustomers != uint64(len(customers)) {
			t.Fatalf("%s: %s × %s: got %d unique customers, want %d", what, key[0], key[1], got.UniqueCustomers, len(customers))
		}
		m.held[k] = want
		restored += n - held
		required += lower
	}
	if len(m.sent) > 0 {
		t.Logf("%s: restored %d of the %d events sent before (at least %d required)", what, restored, len(m.sent), required)
	}
	m.sent, m.lastAccepted = nil, 0
}
