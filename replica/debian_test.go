package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cxscore/cxscore/engine"
)

// syncBuffer is the external server's log: written by exec's copying
// goroutine, read by failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// natsServerBinary finds an external nats-server: $NATS_SERVER, then PATH,
// then /usr/sbin (where Debian's package puts it, not in every user's
// PATH). Without one the test skips, except under CI=true, where it fails:
// .ci/run installs Debian's package.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("NATS_SERVER"); bin != "" {
		return bin
	}
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("nats-server is not installed, and CI=true requires it (apt-get install nats-server)")
	}
	t.Skip("nats-server is not installed (apt-get install nats-server, or set NATS_SERVER); the other tests run the Go module's server in-process")
	return ""
}

// externalServer is a nats-server process started by a test.
type externalServer struct {
	t        *testing.T
	bin, dir string
	port     int
	args     []string
	url      string
	log      *syncBuffer
	cmd      *exec.Cmd  // the running process; nil when stopped
	exited   chan error // its Wait's answer
}

// runExternalServer starts bin as a single-node JetStream server with file
// storage in a temporary directory on a free loopback port, waits until it
// accepts connections, and stops it when the test ends.
func runExternalServer(t *testing.T, bin string) *externalServer {
	t.Helper()
	return startExternalServer(t, bin, freePorts(t, 1)[0])
}

// startExternalServer starts bin on port with args added to the
// single-node ones, and stops it when the test ends.
func startExternalServer(t *testing.T, bin string, port int, args ...string) *externalServer {
	t.Helper()
	s := &externalServer{t: t, bin: bin, dir: t.TempDir(), port: port, args: args,
		url: fmt.Sprintf("nats://127.0.0.1:%d", port), log: &syncBuffer{}}
	t.Cleanup(func() {
		s.stop(os.Interrupt)
		if t.Failed() {
			t.Logf("%s %s's log:\n%s", bin, strings.Join(args, " "), s.log)
		}
	})
	s.start()
	return s
}

// start starts the server on its port and directory and waits until it
// accepts connections.
func (s *externalServer) start() {
	t := s.t
	t.Helper()
	args := append([]string{"-js", "-sd", s.dir, "-a", "127.0.0.1", "-p", strconv.Itoa(s.port)}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(s.url, nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return
		}
		select {
		case werr := <-exited:
			exited <- werr // for stop
			t.Fatalf("%s exited before accepting connections (%v); its log:\n%s", s.bin, werr, s.log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections on %s within 20s: %v", s.bin, s.url, err)
		}
	}
}

// stop sends the server sig (os.Interrupt: a clean shutdown; os.Kill: a
// crash) and waits until it has exited.
func (s *externalServer) stop(sig os.Signal) {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig) // fails only if it already exited
	<-s.exited
	s.cmd = nil
}

// parseVersion parses "2.9.10" (or "2.11.0-RC.1") into its first three
// numbers.
func parseVersion(v string) ([3]int, error) {
	var out [3]int
	core, _, _ := strings.Cut(v, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("version %q is not major.minor.patch", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, fmt.Errorf("version %q is not major.minor.patch", v)
		}
		out[i] = n
	}
	return out, nil
}

func TestParseVersion(t *testing.T) {
	for v, want := range map[string][3]int{"2.9.10": {2, 9, 10}, "2.11.0-RC.1": {2, 11, 0}, "v2.9.0": {}, "2.9": {}} {
		got, err := parseVersion(v)
		if want == ([3]int{}) {
			if err == nil {
				t.Errorf("parseVersion(%q) = %v, want an error", v, got)
			}
		} else if err != nil || got != want {
			t.Errorf("parseVersion(%q) = %v, %v, want %v", v, got, err, want)
		}
	}
}

// TestDebianServer runs the package end to end against the nats-server
// binary installed on the machine (Debian bookworm's is 2.9.10) rather
// than the Go module's in-process server: the issue promises 2.9 or newer.
func TestDebianServer(t *testing.T) {
	s := runExternalServer(t, natsServerBinary(t))
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	version := nc.ConnectedServerVersion()
	t.Logf("nats-server %s", version)
	v, err := parseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] < 2 || v[0] == 2 && v[1] < 9 {
		t.Fatalf("nats-server %s is older than 2.9, the oldest the package supports", version)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := testConfig([]string{s.url}, "DEBIAN")
	c.KeepCheckpoints = 1
	aEng := newEngine(t)
	a := openReplica(t, aEng, c)
	b := openReplica(t, newEngine(t), c)

	// Events with response ids through a, without through b (Publish, the
	// public path), and a retried batch dropped by the duplicate window.
	msgs := genMessages(rand.New(rand.NewPCG(41, 42)), "deb", 1000)
	for i := 500; i < 700; i++ {
		msgs[i].Event.ResponseID, msgs[i].Event.Version = "", 0
	}
	first := publish(t, a, msgs[:500])
	if again := publish(t, a, msgs[:500]); again != first {
		t.Fatalf("retried batch acknowledged up to %d, want the original %d", again, first)
	}
	noID := make([]engine.Event, 0, 200)
	for i := 500; i < 700; i++ {
		noID = append(noID, msgs[i].engineEvent())
	}
	seq, err := b.Publish(ctx, noID)
	if err != nil {
		t.Fatalf("Publish without response ids: %v", err)
	}
	if seq != 700 {
		t.Fatalf("events without response ids stored up to %d, want 700", seq)
	}
	waitApplied(t, a, seq)
	waitApplied(t, b, seq)
	ref := reference(t, msgs[:700])
	sameAnswers(t, "a", ref, aEng)
	sameAnswers(t, "b", ref, b.eng)
	if got := responses(t, b.eng); got != 700 {
		t.Fatalf("b holds %d responses, want 700: the retried batch counted once", got)
	}

	// A checkpoint in the Object Store; a replica restarted from it
	// catches up with the rest of the stream.
	if ckpt, err := a.Checkpoint(ctx); err != nil || ckpt != 700 {
		t.Fatalf("Checkpoint: got %d, %v, want 700", ckpt, err)
	}
	last := publish(t, b, msgs[700:])
	b.Close()
	restarted := openReplica(t, newEngine(t), c)
	if st := restarted.Stats(); st.Checkpoint != 700 {
		t.Fatalf("restarted from checkpoint %d, want 700", st.Checkpoint)
	}
	waitApplied(t, restarted, last)
	ref = reference(t, msgs)
	sameAnswers(t, "restarted", ref, restarted.eng)

	// A deletion through the restarted replica reaches a.
	held, err := restarted.DeleteResponse(ctx, "deb-3")
	if err != nil || !held {
		t.Fatalf("DeleteResponse(deb-3): got %v, %v, want true, nil", held, err)
	}
	if refHeld, _ := ref.DeleteResponseAt(t0, "deb-3"); !refHeld {
		t.Fatal("the reference engine did not hold deb-3")
	}
	waitApplied(t, a, restarted.Applied())
	sameAnswers(t, "a after the deletion", ref, aEng)
	sameAnswers(t, "restarted after the deletion", ref, restarted.eng)
	for name, r := range map[string]*Replica{"a": a, "restarted": restarted} {
		if st := r.Stats(); st.Rejected != 0 || st.Malformed != 0 || st.Applied != last+1 {
			t.Fatalf("%s: stats %+v, want applied %d, nothing rejected or malformed", name, st, last+1)
		}
	}

	// A local checkpoint (the sidecar's -snapshot with -nats), newer than
	// the bucket's: a replica that starts from it checks it against the
	// stream's creation time and state as this server reports them.
	var local bytes.Buffer
	if seq, _, err := a.WriteLocal(&local); err != nil || seq != last+1 {
		t.Fatalf("WriteLocal: got %d, %v, want %d", seq, err, last+1)
	}
	more := genMessages(rand.New(rand.NewPCG(43, 44)), "more", 50)
	end := publish(t, a, more)
	withLocal := c
	withLocal.Local = &local
	fromLocal := openReplica(t, newEngine(t), withLocal)
	if st := fromLocal.Stats(); st.Checkpoint != 700 {
		t.Fatalf("from the local checkpoint: stats %+v at start, want the bucket's newest, 700", st)
	}
	waitApplied(t, fromLocal, end)
	if st := fromLocal.Stats(); st.Recorded != uint64(len(more)) {
		t.Fatalf("from the local checkpoint: recorded %d events, want only the %d after it", st.Recorded, len(more))
	}
	for i := range more {
		if _, err := ref.RecordResponseAt(t0, more[i].engineEvent()); err != nil {
			t.Fatal(err)
		}
	}
	sameAnswers(t, "from the local checkpoint", ref, fromLocal.eng)

	// The server crashes (SIGKILL) and comes back on its files: the
	// replicas reconnect, their ordered consumers resume after what they
	// applied, and nothing acknowledged before or after is lost or doubled.
	s.stop(os.Kill)
	s.start()
	after := genMessages(rand.New(rand.NewPCG(45, 46)), "after", 100)
	end = publish(t, fromLocal, after)
	if want := last + 1 + uint64(len(more)+len(after)); end != want {
		t.Fatalf("after the crash, stored up to %d, want %d", end, want)
	}
	for i := range after {
		if _, err := ref.RecordResponseAt(t0, after[i].engineEvent()); err != nil {
			t.Fatal(err)
		}
	}
	for name, r := range map[string]*Replica{"a": a, "restarted": restarted, "from the local checkpoint": fromLocal} {
		waitApplied(t, r, end)
		sameAnswers(t, name+" after the crash", ref, r.eng)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("ran out of time")
	}
}

// TestDebianCluster runs a 3-node cluster of the nats-server binary on the
// machine (Debian's 2.9.10) and two replicas on an R3 stream: one view, and
// the stream leader killed with SIGKILL mid-ingest loses nothing
// acknowledged and counts nothing twice.
func TestDebianCluster(t *testing.T) {
	bin := natsServerBinary(t)
	if testing.Short() {
		t.Skip("starts a 3-node JetStream cluster")
	}
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	var nodes []*externalServer
	var urls []string
	for i := range 3 {
		n := startExternalServer(t, bin, ports[i], "-n", fmt.Sprintf("n%d", i+1), "--cluster_name", "cxscore-deb",
			"--cluster", routes[i], "--routes", strings.Join(routes, ","))
		nodes = append(nodes, n)
		urls = append(urls, n.url)
	}
	c := testConfig(urls, "DEBR3")
	c.Replicas = 3
	if os.Getenv("DEBUG_REPLICA") != "" {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a := openReplica(t, newEngine(t), c)
	bConfig := c
	bConfig.URLs = []string{urls[2], urls[1], urls[0]}
	b := openReplica(t, newEngine(t), bConfig)
	msgs := genMessages(rand.New(rand.NewPCG(47, 48)), "r3", 2000)
	first := publish(t, a, msgs[:1000])
	waitApplied(t, b, first)
	sameAnswers(t, "b", reference(t, msgs[:1000]), b.eng)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := a.strm.Info(ctx)
	if err != nil || info.Cluster == nil {
		t.Fatalf("stream info: %+v, %v", info, err)
	}
	leader := -1
	for i := range nodes {
		if info.Cluster.Leader == fmt.Sprintf("n%d", i+1) {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatalf("stream leader %q is none of n1-n3", info.Cluster.Leader)
	}
	t.Logf("killing the stream leader n%d", leader+1)
	var wg sync.WaitGroup
	var last uint64
	wg.Go(func() {
		for i := 1000; i < len(msgs); i += 100 {
			last = max(last, publish(t, a, msgs[i:i+100]))
		}
	})
	time.Sleep(20 * time.Millisecond)
	nodes[leader].stop(os.Kill)
	wg.Wait()
	if last != uint64(len(msgs)) {
		t.Fatalf("stored up to %d, want %d: each event once", last, len(msgs))
	}
	ref := reference(t, msgs)
	for name, r := range map[string]*Replica{"a": a, "b": b} {
		// Against 2.9.10 a replica whose consumer lived on the killed
		// node may deliver nothing until its stall watchdog restarts it
		// (stallTimeout after its last progress, see restartConsuming).
		wctx, wcancel := context.WithTimeout(context.Background(), 90*time.Second)
		began := time.Now()
		err := r.WaitApplied(wctx, last)
		wcancel()
		if err != nil {
			t.Fatalf("%s: WaitApplied(%d): %v; stats %+v", name, last, err, r.Stats())
		}
		t.Logf("%s applied everything %v after ingest ended", name, time.Since(began).Round(time.Millisecond))
		sameAnswers(t, name+" after the leader's death", ref, r.eng)
		if st := r.Stats(); st.Recorded != last || st.Rejected != 0 || st.Malformed != 0 {
			t.Fatalf("%s: stats %+v, want %d recorded, nothing rejected or malformed", name, st, last)
		}
	}
}
