package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cxscore/cxscore/engine"
)

// BenchmarkIngestNDJSON measures events accepted per second through HTTP:
// NDJSON bodies of a fixed number of events posted to a real loopback
// listener (httptest.NewServer) by GOMAXPROCS concurrent clients over
// keep-alive connections. The events are spread over 64 keys, three
// metrics, 10,000 customers and the last hour. An op is one request;
// events/s is the figure to compare.
//
//	go test -run '^$' -bench IngestNDJSON -benchtime 3s ./server/httpapi
func BenchmarkIngestNDJSON(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			f := newFixture(b, engine.Config{}, Options{})
			srv := httptest.NewServer(f.server)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			defer client.CloseIdleConnections()

			rng := rand.New(rand.NewPCG(1, 2))
			var body bytes.Buffer
			for range batch {
				metric := []string{"csat", "ces", "nps"}[rng.IntN(3)]
				score := map[string]int{"csat": 1 + rng.IntN(5), "ces": 1 + rng.IntN(7), "nps": rng.IntN(11)}[metric]
				body.WriteString(event(fmt.Sprint("segment-", rng.IntN(8)), fmt.Sprint("touchpoint-", rng.IntN(8)), metric, score,
					fmt.Sprint("c-", rng.IntN(10_000)), t0.Add(-time.Duration(rng.Int64N(int64(time.Hour))))))
				body.WriteByte('\n')
			}
			payload := body.Bytes()

			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var resp IngestResponse
				for pb.Next() {
					res, err := client.Post(srv.URL+"/v1/events", ndjson, bytes.NewReader(payload))
					if err != nil {
						b.Error(err)
						return
					}
					err = json.NewDecoder(res.Body).Decode(&resp)
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err != nil || res.StatusCode != 200 || resp.Accepted != batch {
						b.Errorf("got %d, %d accepted, %v; want 200 and %d", res.StatusCode, resp.Accepted, err, batch)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
