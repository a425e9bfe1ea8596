// Package snapfile keeps a cxscore engine in a file across restarts: Open
// loads the file into an empty engine (a missing file is an empty start, a
// damaged one an error that leaves it untouched), Start replaces it
// periodically when something changed, and Close replaces it a last time.
//
//	k, err := snapfile.Open(e, snapfile.Config{Path: "/var/lib/cxscore/cxscore.snap", Changes: h.Changes})
//	if err != nil { ... }    // damaged, incompatible, or not a regular file
//	k.Start()
//	defer k.Close()          // after the HTTP server's Shutdown: the last write holds every request
//
// Every write is atomic: a temporary file in the same folder, fsynced,
// renamed over the old one, then the folder fsynced. A crash at any moment
// leaves the previous snapshot or the new one, whole, and loses at most the
// events of one period plus one write's duration, since a period is counted
// from the end of the previous write. A failed write keeps the previous
// file, is logged at level ERROR and counted, and Err reports it (for a
// readiness probe) until a write succeeds. WriteFile writes any other file
// the same way, for state kept beside the snapshot.
//
// A Keeper is safe for concurrent use. A write costs what
// engine.WriteSnapshot costs, plus two fsyncs; recording goes on meanwhile.
package snapfile
