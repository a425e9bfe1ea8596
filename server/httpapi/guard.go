package httpapi

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
)

// guard refuses requests that a web page in a browser, rather than a
// client of the API, may have sent. A page of any origin can make a
// browser send a "simple" request (a form or text/plain POST) to
// 127.0.0.1, and through DNS rebinding (a name of the page's that
// resolves to 127.0.0.1) even read the answers; without a token, nothing
// else stops it.
type guard struct {
	checkHost bool
	allowed   map[string]bool // host names, lower case, no trailing dot
	cross     *http.CrossOriginProtection
}

func newGuard(checkHost bool, allowedHosts []string) (*guard, error) {
	g := &guard{checkHost: checkHost || len(allowedHosts) > 0, allowed: map[string]bool{}, cross: http.NewCrossOriginProtection()}
	for _, h := range allowedHosts {
		name := normalHost(h)
		if name == "" || strings.ContainsAny(name, "/ \t@") || (strings.Contains(name, ":") && net.ParseIP(name) == nil) {
			return nil, fmt.Errorf("allowed host %q: want a host name or address without scheme, port or path", h)
		}
		g.allowed[name] = true
	}
	return g, nil
}

// check returns the status and message of a refusal, or 0 to serve r.
func (g *guard) check(r *http.Request) (int, string) {
	if g.checkHost && !g.hostAllowed(r.Host) {
		return http.StatusForbidden, fmt.Sprintf("Host %q is not served here: this server answers loopback names and addresses "+
			"(localhost, 127.0.0.1, [::1]) and the hosts it was told to allow (-allowed-hosts); nothing was done", short([]byte(r.Host)))
	}
	// Only state-changing methods are checked: a page cannot read the
	// answer of a cross-origin GET (no CORS headers are ever sent), and
	// the Host check covers rebinding.
	if err := g.cross.Check(r); err != nil {
		return http.StatusForbidden, "cross-origin request refused: a page of another origin may not change anything here " +
			"(the browser sent Sec-Fetch-Site or Origin); send the request from a program, not a web page; nothing was done"
	}
	return 0, ""
}

// hostAllowed reports whether a Host header names this machine's loopback
// interface or an allowed host. An empty Host (HTTP/1.0) cannot come from
// a browser, so it is allowed.
func (g *guard) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalHost(host)
	if host == "" || g.allowed[host] {
		return true
	}
	// RFC 6761: localhost and its subdomains are the loopback interface,
	// and browsers resolve them so without asking DNS.
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// normalHost lower-cases a host and drops a trailing dot and IPv6 brackets.
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return h
}

// Media types of the bodies of POST /v1/events. None is one a page may
// send cross-origin without the browser asking first (text/plain, a
// form), so a page cannot post events even where Sec-Fetch-Site and
// Origin are missing.
const (
	mediaJSON   = "application/json"
	mediaNDJSON = "application/x-ndjson"
)

// eventsMedia returns the media type of an events body, or an error
// message for a type POST /v1/events does not take. application/ndjson
// and application/jsonl are accepted as NDJSON too: neither is simple.
func eventsMedia(contentType string) (ndjson bool, msg string) {
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case contentType == "":
		return false, "no Content-Type: send Content-Type: application/json (an event or an array of them) or application/x-ndjson; nothing was recorded"
	case err != nil:
		return false, fmt.Sprintf("malformed Content-Type %q: want application/json or application/x-ndjson; nothing was recorded", short([]byte(contentType)))
	case mt == mediaJSON:
		return false, ""
	case mt == mediaNDJSON || mt == "application/ndjson" || mt == "application/jsonl":
		return true, ""
	}
	return false, fmt.Sprintf("Content-Type %s is not taken: want application/json or application/x-ndjson; nothing was recorded", short([]byte(mt)))
}
