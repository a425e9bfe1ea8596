package replica

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/cxscore/cxscore/replica/embedded"
)

// cluster is a 3-node JetStream cluster on loopback, in-process, as
// nats-server's own createJetStreamClusterExplicit builds one.
type cluster struct {
	t     testing.TB
	cfgs  []embedded.Config
	nodes []*embedded.Server
	urls  []string
}

// freePorts returns n ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a 3-node JetStream cluster")
	}
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i]))
	}
	c := &cluster{t: t}
	for i := range 3 {
		cfg := embedded.Config{Dir: t.TempDir(), Port: ports[i], Name: fmt.Sprintf("n%d", i+1),
			Cluster: "cxscore-test", ClusterPort: ports[3+i], Routes: routes}
		s, err := embedded.Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, s)
		c.urls = append(c.urls, s.ClientURL())
	}
	t.Cleanup(func() {
		for _, s := range c.nodes {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return c
}

// streamLeader returns the index of the node leading stream.
func (c *cluster) streamLeader(stream string) int {
	for i, s := range c.nodes {
		if s != nil && s.NATS().JetStreamIsStreamLeader("$G", stream) {
			return i
		}
	}
	return -1
}

func (c *cluster) kill(i int) {
	c.nodes[i].Shutdown()
	c.nodes[i] = nil
}

func (c *cluster) config(stream, name string) Config {
	cfg := testConfig(c.urls, stream)
	cfg.Name = name
	cfg.Replicas = 3
	cfg.Subject = "ev." + stream // streams of one cluster take distinct subjects
	return cfg
}

// TestCluster runs the replica's promises on a real 3-node cluster: one
// view everywhere, a killed stream leader, a replica stopped mid-ingest,
// retried publishes.
func TestCluster(t *testing.T) {
	c := newCluster(t)

	t.Run("same view", func(t *testing.T) {
		a := openReplica(t, newEngine(t), c.config("VIEW", "a"))
		b := openReplica(t, newEngine(t), c.config("VIEW", "b"))
		third := openReplica(t, newEngine(t), c.config("VIEW", "c"))
		rng := rand.New(rand.NewPCG(11, 12))
		ma, mb := genMessages(rng, "a", 2000), genMessages(rng, "b", 2000)
		var wg sync.WaitGroup
		seqs := make([]uint64, 2)
		for i, job := range []struct {
			r    *Replica
			msgs []message
		}{{a, ma}, {b, mb}} {
			wg.Go(func() {
				for j := 0; j < len(job.msgs); j += 250 {
					seqs[i] = max(seqs[i], publish(t, job.r, job.msgs[j:j+250]))
				}
			})
		}
		wg.Wait()
		last := max(seqs[0], seqs[1])
		ref := reference(t, append(ma, mb...))
		for name, r := range map[string]*Replica{"a": a, "b": b, "c": third} {
			waitApplied(t, r, last)
			sameAnswers(t, name, ref, r.eng)
		}

		// Deletions through any replica reach every one.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := 0; i < 200; i += 7 {
			for _, m := range []message{ma[i], mb[i]} {
				held, err := third.DeleteResponse(ctx, m.Event.ResponseID)
				if want, _ := ref.DeleteResponseAt(t0, m.Event.ResponseID); err != nil || held != want {
					t.Fatalf("DeleteResponse(%s): got %v, %v, want %v, nil", m.Event.ResponseID, held, err, want)
				}
			}
		}
		n, err := a.DeleteKeys(ctx, "smb", "web")
		if want, _ := ref.DeleteKeys("smb", "web"); err != nil || n != want {
			t.Fatalf("DeleteKeys: got %d, %v, want %d, nil", n, err, want)
		}
		last = max(a.Applied(), third.Applied())
		for name, r := range map[string]*Replica{"a": a, "b": b, "c": third} {
			waitApplied(t, r, last)
			sameAnswers(t, name+" after deletions", ref, r.eng)
		}
	})

	t.Run("retried publish counted once", func(t *testing.T) {
		a := openReplica(t, newEngine(t), c.config("RETRY", "a"))
		b := openReplica(t, newEngine(t), c.config("RETRY", "b"))
		msgs := genMessages(rand.New(rand.NewPCG(13, 14)), "r", 100)
		first := publish(t, a, msgs)
		if again := publish(t, b, msgs); again != first {
			t.Fatalf("retry through another replica acknowledged up to %d, want %d", again, first)
		}
		waitApplied(t, a, first)
		waitApplied(t, b, first)
		ref := reference(t, msgs)
		sameAnswers(t, "a", ref, a.eng)
		sameAnswers(t, "b", ref, b.eng)
	})

	t.Run("replica stopped mid-ingest restarts from its checkpoint", func(t *testing.T) {
		cfg := c.config("RESTART", "victim")
		cfg.CheckpointEvery = 700
		pub := openReplica(t, newEngine(t), c.config("RESTART", "publisher"))
		victim := openReplica(t, newEngine(t), cfg)
		msgs := genMessages(rand.New(rand.NewPCG(15, 16)), "s", 6000)
		var last uint64
		for i := 0; i < 3000; i += 300 {
			last = publish(t, pub, msgs[i:i+300])
		}
		waitApplied(t, victim, last)
		// Wait for a checkpoint beyond the first, then stop abruptly: the
		// connection goes first, as when the process is killed, and the
		// engine is dropped.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for victim.Stats().Checkpoint < 1400 {
			if err := victim.WaitApplied(ctx, victim.Applied()+1); err != nil && ctx.Err() != nil {
				t.Fatalf("no checkpoint after 1,400 events: %+v", victim.Stats())
			}
		}
		victim.nc.Close()
		victim.Close()
		for i := 3000; i < len(msgs); i += 300 {
			last = publish(t, pub, msgs[i:i+300])
		}
		eng := newEngine(t)
		back := openReplica(t, eng, cfg)
		if st := back.Stats(); st.Checkpoint < 1400 || st.Checkpoint > 3000 {
			t.Fatalf("restarted from checkpoint %d, want 1400-3000", st.Checkpoint)
		}
		waitApplied(t, back, last)
		sameAnswers(t, "restarted", reference(t, msgs), eng)
	})

	// Last: it leaves the cluster a node short.
	t.Run("stream leader killed mid-ingest", func(t *testing.T) {
		began := time.Now()
		a := openReplica(t, newEngine(t), c.config("KILL", "a"))
		b := openReplica(t, newEngine(t), c.config("KILL", "b"))
		t.Logf("replicas open at %v", time.Since(began))
		msgs := genMessages(rand.New(rand.NewPCG(17, 18)), "k", 8000)
		const batch = 200
		progress := make(chan int, len(msgs)/batch)
		var last uint64
		var failures int
		var stall time.Duration
		go func() {
			defer close(progress)
			for i := 0; i < len(msgs); i += batch {
				start := time.Now()
				for {
					// A client that is told an error retries the same
					// events: their response ids make that safe.
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					seq, err := a.publish(ctx, msgs[i:i+batch], nil)
					cancel()
					if err == nil {
						last = max(last, seq)
						break
					}
					failures++
					t.Logf("batch %d failed after %v: %v", i/batch, time.Since(start), err)
				}
				stall = max(stall, time.Since(start))
				progress <- i
			}
		}()
		for i := range progress {
			if i == 10*batch {
				leader := c.streamLeader("KILL")
				if leader < 0 {
					t.Fatal("no stream leader")
				}
				c.kill(leader)
				t.Logf("killed the stream leader, node %d", leader+1)
			}
		}
		t.Logf("publish failures seen by the client: %d; slowest batch: %v; ingest done at %v", failures, stall, time.Since(began))
		ref := reference(t, msgs)
		for name, r := range map[string]*Replica{"a": a, "b": b} {
			waitApplied(t, r, last)
			t.Logf("%s applied everything at %v", name, time.Since(began))
			sameAnswers(t, name, ref, r.eng)
		}
		// And a replica that starts now, on the two nodes left, agrees.
		late := openReplica(t, newEngine(t), c.config("KILL", "late"))
		waitApplied(t, late, last)
		sameAnswers(t, "late", ref, late.eng)
	})
}
