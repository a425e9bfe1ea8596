package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/replica"
	"github.com/cxscore/cxscore/replica/embedded"
	"github.com/cxscore/cxscore/server/httpapi"
)

// A replica serves the deletions of the handler through the stream.
var _ httpapi.Deleter = (*replica.Replica)(nil)

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
func openNATS(ctx context.Context, n natsConfig, e *engine.Engine, logger *slog.Logger) (*replica.Replica, func(), error) {
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
		URLs: urls, Name: n.name, Stream: n.stream, Replicas: n.replicas, Logger: logger,
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
