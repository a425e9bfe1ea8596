package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
)

// TestOverflowFlag runs the sidecar with one key and -overflow: the events
// of a second key are recorded into _other × _other, not rejected, and
// /metrics counts them.
func TestOverflowFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sidecar")
	}
	sc := startSidecar(t, buildSidecar(t), "-addr", "127.0.0.1:0", "-max-keys", "1", "-overflow", "_other")
	body := strings.Join([]string{
		event("enterprise", "checkout", "nps", 9, "c-1", time.Time{}),
		event("smb", "web", "nps", 3, "c-2", time.Time{}),
		event("consumer", "app", "csat", 5, "c-3", time.Time{}),
	}, "\n")
	res, err := http.Post(sc.url+"/v1/events", ndjson, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/events: got %d, want 200", res.StatusCode)
	}
	var keys httpapi.KeyList
	sc.get(t, "/v1/keys", &keys)
	if len(keys.Keys) != 2 || keys.Keys[0] != (httpapi.Key{Segment: "_other", Touchpoint: "_other"}) || keys.Keys[1].Segment != "enterprise" {
		t.Errorf("keys: got %v, want _other × _other and enterprise × checkout", keys.Keys)
	}
	var r wireResult
	sc.get(t, "/v1/scores?segment=_other&touchpoint=_other", &r)
	if r.NPS.Responses != 1 || r.CSAT.Responses != 1 || r.UniqueCustomers != 2 {
		t.Errorf("_other × _other: got %+v, want the two overflowed answers of two customers", r)
	}
	if m := sc.scrape(t); !strings.Contains(m, "\ncxscore_overflowed 2\n") {
		t.Errorf("/metrics lacks cxscore_overflowed 2")
	}
}
