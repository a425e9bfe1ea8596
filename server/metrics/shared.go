package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Shared returns a Gatherer over g whose concurrent Gather calls share one
// gathering: a call that arrives while another gathers waits for it and
// gets the same families, which callers must not modify (promhttp's
// handlers only read them). At many keys a gathering is the cost of a
// scrape, in time and in memory, so N concurrent scrapers then cost what
// one does. A call after the gathering ended gathers afresh.
func Shared(g prometheus.Gatherer) prometheus.Gatherer { return &shared{g: g} }

type shared struct {
	g      prometheus.Gatherer
	mu     sync.Mutex
	flight *gathering
}

// gathering is one Gather of the underlying Gatherer; its result is set
// before done is closed.
type gathering struct {
	done chan struct{}
	mfs  []*dto.MetricFamily
	err  error
}

func (s *shared) Gather() ([]*dto.MetricFamily, error) {
	s.mu.Lock()
	f := s.flight
	if f == nil {
		f = &gathering{done: make(chan struct{})}
		s.flight = f
		s.mu.Unlock()
		f.mfs, f.err = s.g.Gather()
		s.mu.Lock()
		s.flight = nil
		close(f.done)
	}
	s.mu.Unlock()
	<-f.done
	return f.mfs, f.err
}
