package snapfile_test

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/snapfile"
)

// A keeper across two runs of a program: the first starts empty (no file
// yet) and writes its final snapshot at Close; the second starts where the
// first left off.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "snapfile-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cxscore.snap")
	quiet := slog.New(slog.DiscardHandler)

	run := func(record bool) {
		e, err := engine.New(engine.Config{})
		if err != nil {
			log.Fatal(err)
		}
		defer e.Close()
		k, err := snapfile.Open(e, snapfile.Config{Path: path, Logger: quiet})
		if err != nil {
			log.Fatal(err) // damaged or incompatible: the file is left as it is
		}
		k.Start()       // a write every DefaultEvery
		defer k.Close() // the final write; in a server, after Shutdown
		if record {
			err := e.Record(engine.Event{Segment: "smb", Touchpoint: "app", Metric: engine.CES, Score: 6, Time: time.Now()})
			if err != nil {
				log.Fatal(err)
			}
		}
		var r engine.Result
		if err := e.Query(engine.Query{Window: time.Hour}, &r); err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.CES.Responses(), "CES responses")
	}
	run(true)
	run(false)
	// Output:
	// 1 CES responses
	// 1 CES responses
}
