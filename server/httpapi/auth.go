package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// requireToken returns middleware that lets a request through only if it
// carries "Authorization: Bearer <token>", and answers 401 otherwise. With
// an empty token it lets everything through.
//
// The comparison takes the same time whatever the header holds: both sides
// are hashed to 32 bytes first, so neither the token's length nor the
// position of the first wrong byte shows in the timing.
func requireToken(token string) func(http.Handler) http.Handler {
	if token == "" {
		return func(h http.Handler) http.Handler { return h }
	}
	want := sha256.Sum256([]byte(token))
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
			ok := subtle.ConstantTimeCompare(sum[:], want[:]) == 1
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="cxscore"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong token: send the header Authorization: Bearer <token>")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}
