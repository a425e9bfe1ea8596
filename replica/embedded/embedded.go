// Package embedded runs a NATS server with JetStream inside the process,
// storing streams as files in a directory, so that a single service gets
// "acknowledged means on disk" without running anything else. With a
// cluster name and routes it is one node of a JetStream cluster, which is
// how a single node later joins others.
//
// It is a thin layer over github.com/nats-io/nats-server/v2, kept out of
// package replica so that services that connect to an external server do
// not link the server in. A Server is safe for concurrent use.
package embedded

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrConfig: Run was given an invalid Config.
var ErrConfig = errors.New("invalid embedded server config")

// Config configures an embedded server. Only Dir is required.
type Config struct {
	// Dir is where JetStream stores its files. Required.
	Dir string
	// Host is the address the server listens on, for clients and routes.
	// Zero: 127.0.0.1 (this machine only).
	Host string
	// Port is the client port. Zero: 4222. -1: a free port (see ClientURL).
	Port int
	// Name is the server's name, unique in its cluster and stable across
	// restarts (JetStream's peers are named by it). Zero: "cxscore".
	Name string
	// Cluster is the cluster's name; zero runs a single server. The other
	// cluster fields are used only with a name.
	Cluster string
	// ClusterPort is the port for routes from the cluster's other servers.
	// Zero: 6222.
	ClusterPort int
	// Routes are the other servers' route URLs, nats-route://host:port;
	// listing this server's own is harmless, so every node can be given the
	// same list.
	Routes []string
}

// Server is a running embedded NATS server.
type Server struct {
	s *server.Server
}

// Run starts a server and returns once it accepts clients. Errors wrap
// ErrConfig or are the server's. A cluster node accepts clients before
// its cluster has elected a JetStream leader, which takes a few seconds.
func Run(c Config) (*Server, error) {
	if c.Dir == "" {
		return nil, fmt.Errorf("%w: no directory for JetStream's files", ErrConfig)
	}
	o := &server.Options{
		ServerName: c.Name,
		Host:       c.Host,
		Port:       c.Port,
		JetStream:  true,
		StoreDir:   c.Dir,
		NoLog:      true,
		NoSigs:     true,
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 4222
	}
	if o.ServerName == "" {
		o.ServerName = "cxscore"
	}
	if c.Cluster != "" {
		o.Cluster = server.ClusterOpts{Name: c.Cluster, Host: o.Host, Port: c.ClusterPort}
		if o.Cluster.Port == 0 {
			o.Cluster.Port = 6222
		}
		for _, r := range c.Routes {
			u := server.RoutesFromStr(r)
			if len(u) != 1 {
				return nil, fmt.Errorf("%w: route %q, want nats-route://host:port", ErrConfig, r)
			}
			o.Routes = append(o.Routes, u...)
		}
	}
	s, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server %s not ready for connections after 10 s", o.ServerName)
	}
	return &Server{s: s}, nil
}

// ClientURL returns the URL clients connect to, nats://host:port.
func (s *Server) ClientURL() string { return s.s.ClientURL() }

// NATS returns the server itself, for monitoring and tests.
func (s *Server) NATS() *server.Server { return s.s }

// Shutdown stops the server and waits until it has. It is idempotent.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
