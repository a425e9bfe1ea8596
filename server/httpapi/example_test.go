package httpapi_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/httpapi"
)

// The API mounted in a service's own mux, under a prefix, next to a route
// of the service.
func ExampleNew() {
	e, err := engine.New(engine.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	api, err := httpapi.New(e, httpapi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })
	mux.Handle("/cx/", http.StripPrefix("/cx", api))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	show := func(res *http.Response, err error) {
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		fmt.Print(res.StatusCode, " ", string(body))
	}
	show(http.Get(srv.URL + "/hello"))
	show(http.Post(srv.URL+"/cx/v1/events", "application/json", strings.NewReader(
		`[{"customer_id":"c-42","segment":"enterprise","touchpoint":"checkout","metric":"nps","score":9},
		  {"segment":"enterprise","touchpoint":"checkout","metric":"nps","score":11}]`)))
	show(http.Get(srv.URL + "/cx/v1/keys"))
	// Output:
	// 200 hello
	// 200 {"accepted":1,"duplicates":0,"updated":0,"rejected":[{"index":1,"error":"score out of range: nps score 11, want 0-10"}],"rejected_count":1}
	// 200 {"segments":["enterprise"],"touchpoints":["checkout"],"keys":[{"segment":"enterprise","touchpoint":"checkout"}]}
}
