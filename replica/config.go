package replica

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// Config configures a Replica. The zero value connects to a NATS server at
// nats://127.0.0.1:4222 and uses the stream CXSCORE; each field says what
// its zero value means. Open never writes to the Config it is given.
type Config struct {
	// URLs of the NATS servers (nats://host:port), any of the cluster's.
	// Zero: nats://127.0.0.1:4222.
	URLs []string
	// Name names this replica in logs, in the NATS connection and in the
	// checkpoints it writes. Zero: the host name.
	Name string
	// Stream is the JetStream stream of events, created by Open if it does
	// not exist. Zero: "CXSCORE".
	Stream string
	// Subject is the prefix of the stream's subjects: an event of segment S
	// at touchpoint T is published to Subject.S.T (escaped, see the package
	// documentation), deletions to Subject._delete.responses and
	// Subject._delete.keys, and the stream takes Subject.>. Zero:
	// "cxscore.events".
	Subject string
	// Replicas is the number of copies JetStream keeps of the stream and of
	// the checkpoint bucket, when Open creates them: 1 for a single server,
	// 3 to survive the loss of any one node of a cluster. Zero: 1.
	Replicas int
	// MaxAge is how long the stream keeps events, when Open creates it. It
	// must cover the engine's retention, so that a replica that starts with
	// no checkpoint can still rebuild every window. Zero: the engine's
	// retention plus one day. An existing stream whose MaxAge is shorter than
	// the engine's retention is refused.
	MaxAge time.Duration
	// Duplicates is the stream's duplicate window, when Open creates it: a
	// publish of an event whose response id and version were published less
	// than this long ago is dropped. JetStream keeps about 150 bytes per id
	// for that long. Zero: 2 minutes.
	Duplicates time.Duration
	// CheckpointBucket is the JetStream Object Store bucket for checkpoints,
	// created by Open if it does not exist. Zero: Stream + "_CHECKPOINTS".
	CheckpointBucket string
	// CheckpointEvery is how many applied events trigger a checkpoint.
	// Zero: 100,000. Negative: none by count.
	CheckpointEvery int
	// CheckpointInterval is how often a checkpoint is written while events
	// are being applied. Zero: one minute. Negative: none by time.
	CheckpointInterval time.Duration
	// KeepCheckpoints is how many checkpoints the bucket keeps; a replica
	// that writes one deletes the older ones beyond it. Zero: 2.
	KeepCheckpoints int
	// Local, if set, is a local checkpoint (WriteLocal) that Open loads in
	// place of the bucket's newest checkpoint when it is newer (holds a
	// higher stream sequence) and the stream still holds the message after
	// it: a faster start than a download, never a second source of truth.
	// An older one, or one whose next message the stream no longer holds,
	// is left unread after its header, and the bucket's checkpoint loads.
	// One of another stream, or damaged, fails Open (ErrLocalStream,
	// ErrLocalCorrupt). Open reads it only during the call. Zero: none.
	Local io.Reader
	// Logger receives the replica's warnings (rejected events, failed
	// checkpoints, lost connections). Zero: slog.Default().
	Logger *slog.Logger
}

// settings is a validated Config with defaults filled in.
type settings struct {
	Config
}

// Names JetStream accepts for streams and buckets, kept to the portable set.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (c Config) settings(retention time.Duration) (settings, error) {
	s := settings{c}
	s.URLs = append([]string(nil), c.URLs...)
	if len(s.URLs) == 0 {
		s.URLs = []string{"nats://127.0.0.1:4222"}
	}
	if s.Name == "" {
		s.Name = hostname()
	}
	if s.Stream == "" {
		s.Stream = "CXSCORE"
	}
	if !nameRE.MatchString(s.Stream) {
		return s, fmt.Errorf("%w: stream name %q, want 1-64 letters, digits, _ or -", ErrConfig, s.Stream)
	}
	if s.Subject == "" {
		s.Subject = "cxscore.events"
	}
	for _, tok := range strings.Split(s.Subject, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return s, fmt.Errorf("%w: subject prefix %q, want dot-separated tokens without wildcards or spaces", ErrConfig, s.Subject)
		}
	}
	switch {
	case s.Replicas == 0:
		s.Replicas = 1
	case s.Replicas < 0 || s.Replicas > 5:
		return s, fmt.Errorf("%w: Replicas %d, want 1-5", ErrConfig, s.Replicas)
	}
	switch {
	case s.MaxAge == 0:
		s.MaxAge = retention + 24*time.Hour
	case s.MaxAge < retention:
		return s, fmt.Errorf("%w: MaxAge %v is shorter than the engine's retention %v", ErrConfig, s.MaxAge, retention)
	}
	switch {
	case s.Duplicates == 0:
		s.Duplicates = 2 * time.Minute
	case s.Duplicates < 0:
		return s, fmt.Errorf("%w: Duplicates %v, want > 0", ErrConfig, s.Duplicates)
	}
	if s.CheckpointBucket == "" {
		s.CheckpointBucket = s.Stream + "_CHECKPOINTS"
	}
	if !nameRE.MatchString(s.CheckpointBucket) {
		return s, fmt.Errorf("%w: checkpoint bucket name %q, want 1-64 letters, digits, _ or -", ErrConfig, s.CheckpointBucket)
	}
	if s.CheckpointEvery == 0 {
		s.CheckpointEvery = 100_000
	}
	if s.CheckpointInterval == 0 {
		s.CheckpointInterval = time.Minute
	}
	switch {
	case s.KeepCheckpoints == 0:
		s.KeepCheckpoints = 2
	case s.KeepCheckpoints < 0:
		return s, fmt.Errorf("%w: KeepCheckpoints %d, want > 0", ErrConfig, s.KeepCheckpoints)
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	return s, nil
}
