package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/replica"
	"github.com/cxscore/cxscore/replica/embedded"
	"github.com/cxscore/cxscore/server/httpapi"
)

// A replica serves the deletions of the handler through the stream, and
// tells it what each event did.
var (
	_ httpapi.Deleter         = (*replica.Replica)(nil)
	_ httpapi.OutcomeRecorder = (*replica.Replica)(nil)
)

// natsConfig is what the -nats flags say.
type natsConfig struct {
	urls          []string // empty: no NATS
	embedded      bool     // -nats embedded
	stream        string
	replicas      int
	name          string
	dir           string // embedded: JetStream's files
	listen        string // embedded: client host:port
	cluster       string // embedded: cluster name, empty for a single server
	clusterListen string // embedded: route host:port
	routes        []string
}

// openTimeout bounds connecting to NATS and creating the stream at start:
// a new cluster takes a few seconds to elect its leaders.
const openTimeout = time.Minute

// check checks the -nats flags; set says which flags were given.
func (n *natsConfig) check(set map[string]bool) error {
	if len(n.urls) == 0 {
		for _, name := range []string{"nats-stream", "nats-replicas", "nats-name", "nats-dir", "nats-listen", "nats-cluster", "nats-cluster-listen", "nats-routes"} {
			if set[name] {
				return fmt.Errorf("-%s needs -nats", name)
			}
		}
		return nil
	}
	if len(n.urls) == 1 && n.urls[0] == "embedded" {
		n.embedded, n.urls = true, nil
	} else {
		for _, u := range n.urls {
			if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
				return fmt.Errorf("-nats %q: want embedded, or comma-separated nats:// URLs", u)
			}
		}
		for _, name := range []string{"nats-dir", "nats-listen", "nats-cluster", "nats-cluster-listen", "nats-routes"} {
			if set[name] {
				return fmt.Errorf("-%s is for -nats embedded", name)
			}
		}
	}
	if n.replicas < 1 || n.replicas > 5 {
		return fmt.Errorf("-nats-replicas %d, want 1-5", n.replicas)
	}
	if n.embedded {
		if _, _, err := hostPort(n.listen); err != nil {
			return fmt.Errorf("-nats-listen %q: %v", n.listen, err)
		}
		if n.cluster == "" && (set["nats-cluster-listen"] || set["nats-routes"]) {
			return errors.New("-nats-cluster-listen and -nats-routes need -nats-cluster")
		}
		if n.cluster != "" && n.name == "" {
			return errors.New("-nats-cluster needs -nats-name: each node of a cluster needs a name of its own, the same at every restart")
		}
		if n.cluster != "" {
			if _, _, err := hostPort(n.clusterListen); err != nil {
				return fmt.Errorf("-nats-cluster-listen %q: %v", n.clusterListen, err)
			}
		}
	}
	return nil
}

func hostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("port %q, want 0-65535", port)
	}
	return host, p, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// openNATS starts the embedded server if asked, and connects e to the
// stream. The returned stop closes both, the replica first.
// local, if not nil, is a local checkpoint (-snapshot) for replica.Open.
func openNATS(ctx context.Context, n natsConfig, e *engine.Engine, local io.Reader, logger *slog.Logger) (*replica.Replica, func(), error) {
	urls := n.urls
	var srv *embedded.Server
	if n.embedded {
		host, port, _ := hostPort(n.listen)
		c := embedded.Config{Dir: n.dir, Host: host, Port: port, Name: n.name, Cluster: n.cluster, Routes: n.routes}
		if port == 0 {
			c.Port = -1
		}
		if n.cluster != "" {
			_, c.ClusterPort, _ = hostPort(n.clusterListen)
		}
		var err error
		if srv, err = embedded.Run(c); err != nil {
			return nil, nil, fmt.Errorf("embedded NATS server: %w", err)
		}
		urls = []string{srv.ClientURL()}
		logger.Info("embedded NATS server", "url", srv.ClientURL(), "dir", n.dir, "cluster", n.cluster)
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	r, err := replica.Open(ctx, e, replica.Config{
		URLs: urls, Name: n.name, Stream: n.stream, Replicas: n.replicas, Logger: logger, Local: local,
	})
	if err != nil {
		if srv != nil {
			srv.Shutdown()
		}
		return nil, nil, fmt.Errorf("connecting to the stream: %w", err)
	}
	logger.Info("replica", "stream", n.stream, "urls", strings.Join(urls, ","), "applied", r.Applied())
	stop := func() {
		if err := r.Close(); err != nil {
			logger.Warn("closing the replica", "err", err)
		}
		if srv != nil {
			srv.Shutdown()
		}
	}
	return r, stop, nil
}

// natsReady is the replica's part of /readyz: not ready until it has
// applied the stream as of its start.
func natsReady(r *replica.Replica) error {
	if !r.CaughtUp() {
		return fmt.Errorf("catching up with the stream: applied up to %d so far", r.Applied())
	}
	return nil
}

// replicaCollector exposes a replica's Stats as cxscore_replica_* metrics.
type replicaCollector struct {
	r   *replica.Replica
	now func() time.Time
}

var (
	replicaAppliedDesc = prometheus.NewDesc("cxscore_replica_applied_sequence",
		"Stream sequence of the last message this replica applied to its engine.", nil, nil)
	replicaStreamLastDesc = prometheus.NewDesc("cxscore_replica_stream_last_sequence",
		"The stream's last sequence, as this replica last saw it (every message applied, and every 5 s from the server).", nil, nil)
	replicaLagDesc = prometheus.NewDesc("cxscore_replica_lag_messages",
		"Messages of the stream, as last seen, that this replica has not applied yet.", nil, nil)
	replicaCaughtUpDesc = prometheus.NewDesc("cxscore_replica_caught_up",
		"1 once the replica has applied every message that was in the stream when it started (what /readyz waits for), else 0.", nil, nil)
	replicaCheckpointDesc = prometheus.NewDesc("cxscore_replica_checkpoint_sequence",
		"Stream sequence of the newest checkpoint this replica wrote or started from; 0 for none.", nil, nil)
	replicaCheckpointAgeDesc = prometheus.NewDesc("cxscore_replica_checkpoint_age_seconds",
		"Seconds since that checkpoint was written; absent without one.", nil, nil)
	replicaEventsDesc = prometheus.NewDesc("cxscore_replica_applied_events_total",
		"Events applied from the stream since start, by outcome (recorded, duplicate, updated).", []string{"outcome"}, nil)
	replicaDeletedResponsesDesc = prometheus.NewDesc("cxscore_replica_deleted_responses_total",
		"Response deletions applied from the stream since start that deleted a held response.", nil, nil)
	replicaDeletedKeysDesc = prometheus.NewDesc("cxscore_replica_deleted_keys_total",
		"Keys deleted by key deletions applied from the stream since start.", nil, nil)
	replicaSkippedDesc = prometheus.NewDesc("cxscore_replica_skipped_messages_total",
		"Messages skipped since start: rejected by the engine (too old, too new) or malformed.", []string{"reason"}, nil)
)

// Describe implements prometheus.Collector.
func (c replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{replicaAppliedDesc, replicaStreamLastDesc, replicaLagDesc, replicaCaughtUpDesc,
		replicaCheckpointDesc, replicaCheckpointAgeDesc, replicaEventsDesc, replicaDeletedResponsesDesc, replicaDeletedKeysDesc, replicaSkippedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(replicaAppliedDesc, float64(st.Applied))
	gauge(replicaStreamLastDesc, float64(max(st.StreamLast, st.Applied)))
	gauge(replicaLagDesc, float64(st.Lag()))
	caughtUp := 0.0
	if st.CaughtUp {
		caughtUp = 1
	}
	gauge(replicaCaughtUpDesc, caughtUp)
	gauge(replicaCheckpointDesc, float64(st.Checkpoint))
	if !st.CheckpointTime.IsZero() {
		gauge(replicaCheckpointAgeDesc, max(0, c.now().Sub(st.CheckpointTime).Seconds()))
	}
	counter(replicaEventsDesc, st.Recorded, "recorded")
	counter(replicaEventsDesc, st.Duplicates, "duplicate")
	counter(replicaEventsDesc, st.Updated, "updated")
	counter(replicaDeletedResponsesDesc, st.DeletedResponses)
	counter(replicaDeletedKeysDesc, st.DeletedKeys)
	counter(replicaSkippedDesc, st.Rejected, "rejected")
	counter(replicaSkippedDesc, st.Malformed, "malformed")
}
