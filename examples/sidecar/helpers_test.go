package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxscore/cxscore/server/httpapi"
)

// t0 is the tests' "now": mid-morning, so that a minute of clock skew never
// crosses a day.
var t0 = time.Date(2026, 11, 24, 10, 15, 30, 0, time.UTC)

// wireResult is a /v1/scores answer as a client decodes it.
type wireResult struct {
	Segment         string    `json:"segment"`
	Touchpoint      string    `json:"touchpoint"`
	Window          string    `json:"window"`
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	UniqueCustomers uint64    `json:"unique_customers"`
	CSAT            wireScore `json:"csat"`
	CES             wireScore `json:"ces"`
	NPS             wireScore `json:"nps"`
}

type wireScore struct {
	Responses     uint64            `json:"responses"`
	Score         *float64          `json:"score"`
	MarginOfError *float64          `json:"margin_of_error"`
	EasyShare     *float64          `json:"easy_share"`
	Promoters     uint64            `json:"promoters"`
	Passives      uint64            `json:"passives"`
	Detractors    uint64            `json:"detractors"`
	Interval      *httpapi.Interval `json:"interval"`
	Distribution  map[string]uint64 `json:"distribution"`
}

type wireTrend struct {
	Segment    string       `json:"segment"`
	Touchpoint string       `json:"touchpoint"`
	Window     string       `json:"window"`
	Step       string       `json:"step"`
	Points     []wireResult `json:"points"`
}

// event returns the JSON of an event at the given time.
func event(segment, touchpoint, metric string, score int, customer string, at time.Time) string {
	m := map[string]any{"segment": segment, "touchpoint": touchpoint, "metric": metric, "score": score}
	if customer != "" {
		m["customer_id"] = customer
	}
	if !at.IsZero() {
		m["time"] = at.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// buildSidecar builds the sidecar binary into a temporary folder.
func buildSidecar(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the sidecar with")
	}
	bin := filepath.Join(t.TempDir(), "sidecar")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

const ndjson = "application/x-ndjson"
