package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestScraperThatDoesNotRead opens /metrics over a connection it never
// reads, at 3,000 keys (megabytes of exposition, more than the socket
// buffers hold): the sidecar's handler gives up at -write-timeout, and
// scrapes by other clients are answered meanwhile and after.
func TestScraperThatDoesNotRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops the sidecar with SIGTERM")
	}
	const keys = 3000
	sc := startSidecar(t, buildSidecar(t), "-addr", "127.0.0.1:0", "-max-keys", fmt.Sprint(keys), "-write-timeout", "3s", "-read-timeout", "1s")
	// engine.DefaultMinResponses (10) per key: below it /metrics leaves the
	// scores and margins out, and the exposition would be much smaller.
	var body strings.Builder
	for range 10 {
		for k := range keys {
			fmt.Fprintf(&body, `{"segment":"seg-%d","touchpoint":"tp-%d","metric":"nps","score":9}`+"\n", k%100, k/100)
		}
	}
	res, err := http.Post(sc.url+"/v1/events", ndjson, strings.NewReader(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	conn, err := net.Dial("tcp", strings.TrimPrefix(sc.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096) // a small window: the server's writes block
	fmt.Fprintf(conn, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\n\r\n")

	full := sc.scrape(t) // another client meanwhile
	if len(full) < 4<<20 {
		t.Fatalf("the exposition is %d bytes, want megabytes: more than the socket buffers hold", len(full))
	}
	// The handler's write fails at the deadline and it returns, letting go
	// of what it held (what is left is the kernel's socket buffers).
	start := time.Now()
	line := sc.waitFor(t, "error encoding and sending metric family")
	if !strings.Contains(line, "i/o timeout") {
		t.Errorf("got %q, want the write to end in a timeout", line)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the stalled scrape was cut %v after the other one ended, want within the 3 s timeout", d)
	}
	if _, err := fmt.Fprint(io.Discard, sc.scrape(t)); err != nil {
		t.Fatal(err)
	}
}
