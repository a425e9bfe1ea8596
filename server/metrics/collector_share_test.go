package metrics

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gateClock's Now waits for release, counting its calls: a scrape held in
// the middle.
type gateClock struct {
	release chan struct{}
	calls   atomic.Int32
}

func (g *gateClock) Now() time.Time {
	g.calls.Add(1)
	<-g.release
	return t0
}

// TestConcurrentScrapesShare holds a scrape in the middle while two more
// arrive: they wait for it and send the same metrics, and the engine is
// queried once. A scrape after they end computes afresh.
func TestConcurrentScrapesShare(t *testing.T) {
	e, _ := fixtureEngine(t)
	c, err := New(e, Options{Rollups: true})
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		g := &gateClock{release: make(chan struct{})}
		c.clock = g
		counts := make(chan int, 3)
		collect := func() {
			ch := make(chan prometheus.Metric)
			n := make(chan int)
			go func() {
				k := 0
				for range ch {
					k++
				}
				n <- k
			}()
			c.Collect(ch)
			close(ch)
			counts <- <-n
		}
		go collect()
		synctest.Wait() // the first scrape waits in the clock
		go collect()
		go collect()
		synctest.Wait() // the others wait for it
		if got := g.calls.Load(); got != 1 {
			t.Fatalf("three concurrent scrapes read the clock %d times, want once: one computation", got)
		}
		close(g.release)
		a, b, d := <-counts, <-counts, <-counts
		if a == 0 || a != b || b != d {
			t.Errorf("the scrapes sent %d, %d and %d metrics, want the same, more than 0", a, b, d)
		}
		collect()
		if got := g.calls.Load(); got != 2 {
			t.Errorf("a later scrape: clock read %d times in all, want 2 (a fresh computation)", got)
		}
	})
}

// gateGatherer's Gather waits for release, counting its calls.
type gateGatherer struct {
	release chan struct{}
	calls   atomic.Int32
}

func (g *gateGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.calls.Add(1)
	<-g.release
	return []*dto.MetricFamily{{}}, nil
}

func TestSharedGatherer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gateGatherer{release: make(chan struct{})}
		s := Shared(g)
		got := make(chan *dto.MetricFamily, 3)
		gather := func() {
			mfs, err := s.Gather()
			if err != nil || len(mfs) != 1 {
				t.Errorf("Gather: got %v, %v", mfs, err)
			}
			got <- mfs[0]
		}
		go gather()
		synctest.Wait()
		go gather()
		go gather()
		synctest.Wait()
		if n := g.calls.Load(); n != 1 {
			t.Fatalf("three concurrent Gathers gathered %d times, want once", n)
		}
		close(g.release)
		if a, b, c := <-got, <-got, <-got; a != b || b != c {
			t.Error("concurrent Gathers got different families, want the same")
		}
		gather()
		if n := g.calls.Load(); n != 2 {
			t.Errorf("a later Gather: %d gatherings in all, want 2", n)
		}
	})
}
