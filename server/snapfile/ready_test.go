package snapfile

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cxscore/cxscore/engine"
	"github.com/cxscore/cxscore/server/httpapi"
)

// TestFullDiskNotReady fills the disk in the middle of snapshot writes (an
// injected write error after 100 bytes) under a sidecar's handler: /readyz
// answers 503 with the reason from the first failure until a write
// succeeds, even over periods with nothing new, and the previous file
// stays whole with no temporary file left.
func TestFullDiskNotReady(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cxscore.snap")
	f := newFixture(t, engine.Config{})
	k, err := f.open(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(f.engine, httpapi.Options{Clock: f.clock, Ready: k.Err})
	if err != nil {
		t.Fatal(err)
	}
	ready := func() (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code, w.Body.String()
	}
	f.record(3)
	if err := k.Save(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	if code, text := ready(); code != 200 {
		t.Fatalf("after a good write: got %d %s, want 200", code, text)
	}

	f.record(5)
	k.fs = faultFS{fail: "write"}
	for i := range 3 { // the first period with changes, then two with nothing new
		if err := k.Save(); err == nil {
			t.Fatalf("write %d on a full disk: no error", i)
		}
		code, text := ready()
		if code != 503 || !strings.Contains(text, `"status":"not ready"`) || !strings.Contains(text, "the last snapshot write failed: injected") {
			t.Errorf("after failed write %d: /readyz got %d %s, want 503 saying the write failed", i, code, text)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, good) {
			t.Errorf("after failed write %d the snapshot file changed", i)
		}
		if got := folder(t, dir); !slices.Equal(got, []string{"cxscore.snap"}) {
			t.Errorf("after failed write %d: files %v, want only cxscore.snap", i, got)
		}
	}

	k.fs = osFS{}
	if err := k.Save(); err != nil {
		t.Fatal(err)
	}
	if code, text := ready(); code != 200 {
		t.Errorf("after the disk has room again: /readyz got %d %s, want 200", code, text)
	}
	g := newFixture(t, engine.Config{})
	if _, err := g.open(path); err != nil {
		t.Fatal(err)
	}
	if got := g.total(); got != 8 {
		t.Errorf("a restart holds %d responses, want the 8 recorded", got)
	}
}
